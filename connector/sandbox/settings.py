"""Start-up settings of the sandbox; tests lower the limits and speed up the clock."""

from __future__ import annotations

from dataclasses import dataclass

# C16: waits before attempts 2..8.
DOCUMENTED_RETRY_SCHEDULE: tuple[float, ...] = (10, 30, 120, 600, 3600, 21600, 86400)


@dataclass
class SandboxSettings:
    environment: str = "test"  # tokens of the other environment are rejected ("live" or "test")
    per_minute: int = 300
    per_hour: int = 10_000
    minute_window: float = 60.0  # real seconds; tests shorten the windows
    hour_window: float = 3600.0
    test_fire_per_minute: int = 5
    retry_schedule: tuple[float, ...] = DOCUMENTED_RETRY_SCHEDULE
    clock_speed: float = 1.0  # sandbox seconds per real second
    delivery_timeout: float = 10.0
    auto_disable_after: int = 20
    idempotency_ttl: float = 86_400.0
    event_retention: float = 30 * 86_400.0
    dispatch_interval: float = 0.02  # how often the delivery worker looks for due deliveries (real seconds)
    deliver_webhooks: bool = True
    allow_http_loopback: bool = True  # real MemberPass requires HTTPS; loopback http is allowed here
    job_delay: float = 1.0  # sandbox seconds before an async job (bulk codes, cancel) completes
