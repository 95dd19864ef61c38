"""Settings from environment variables, checked once at start.

A bad value stops the process with a message that names the variable, what is wrong and what to do.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from connector.errors import ConfigError

DEFAULT_API_BASE = "https://api.memberpass.net/v1"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    api_base: str = DEFAULT_API_BASE
    db_path: str = "memberpass-connector.db"
    encryption_keys: tuple[bytes, ...] = field(default=(), repr=False)
    public_url: str | None = None
    allow_private_targets: bool = False
    poll_interval: float = 60.0
    max_body_bytes: int = 1_048_576
    idempotency_window: float = 86_400.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            api_base=_url(env, "MEMBERPASS_API_BASE", DEFAULT_API_BASE, required=True) or DEFAULT_API_BASE,
            db_path=_db_path(env),
            encryption_keys=parse_key_ring(env.get("CONNECTOR_ENCRYPTION_KEYS", "")),
            public_url=_url(env, "CONNECTOR_PUBLIC_URL", None, required=False),
            allow_private_targets=_bool(env, "CONNECTOR_ALLOW_PRIVATE_TARGETS"),
            poll_interval=_positive_number(env, "CONNECTOR_POLL_INTERVAL", 60.0),
            max_body_bytes=int(_positive_number(env, "CONNECTOR_MAX_BODY_BYTES", 1_048_576)),
            idempotency_window=_positive_number(env, "CONNECTOR_IDEMPOTENCY_WINDOW", 86_400.0),
        )


def _fail(name: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{name}: {problem}", remediation=fix, context={"variable": name})


def _url(env: Mapping[str, str], name: str, default: str | None, *, required: bool) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _fail(name, f"{raw!r} is not an http(s) URL", f"Set {name} to a URL such as https://host/path.")
    return raw.rstrip("/")


def _db_path(env: Mapping[str, str]) -> str:
    raw = env.get("CONNECTOR_DB", "").strip()
    if not raw:
        return "memberpass-connector.db"
    if raw == ":memory:":
        return raw
    parent = os.path.dirname(os.path.abspath(raw))
    if not os.path.isdir(parent):
        raise _fail(
            "CONNECTOR_DB", f"the folder {parent!r} does not exist", "Create the folder or point at another."
        )
    return raw


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise _fail(name, f"{raw!r} is not a boolean", f"Set {name} to 1/true/yes or 0/false/no.")


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, f"{raw!r} is not a number", f"Set {name} to a positive number.") from None
    if value <= 0:
        raise _fail(name, f"{raw!r} is not positive", f"Set {name} to a positive number.")
    return value


def parse_key_ring(raw: str) -> tuple[bytes, ...]:
    """Parse ``CONNECTOR_ENCRYPTION_KEYS``: comma-separated urlsafe-base64 keys of 32 bytes, newest first."""
    keys: list[bytes] = []
    for index, part in enumerate(p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            key = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise _fail(
                "CONNECTOR_ENCRYPTION_KEYS",
                f"key #{index + 1} is not 32 bytes of urlsafe base64",
                "Generate one with `memberpass-connector keys generate` and list keys newest first, "
                "separated by commas.",
            )
        keys.append(key)
    return tuple(keys)
