"""Assemble the sandbox: settings, clock, store, pipeline services, route modules, background workers."""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask

from connector.sandbox.clock import SandboxClock
from connector.sandbox.control import control
from connector.sandbox.faults import Faults
from connector.sandbox.framework import Services, api, install
from connector.sandbox.idempotency import IdempotencyStore
from connector.sandbox.ratelimit import RateLimiter
from connector.sandbox.routes import load_all
from connector.sandbox.settings import SandboxSettings
from connector.sandbox.store import Store


class Worker(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Sandbox:
    """One emulated MemberPass: its Flask app plus the state and workers behind it."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.clock = SandboxClock(self.settings.clock_speed)
        self.store = Store(self.settings, self.clock)
        self.services = Services(
            settings=self.settings,
            store=self.store,
            limiter=RateLimiter(),
            idempotency=IdempotencyStore(self.settings.idempotency_ttl),
            faults=Faults(),
            request_log=[],
        )
        self.scheduler = self.store.scheduler
        self.workers: list[Worker] = [self.scheduler]
        self.extensions: dict[str, Any] = {}
        modules = load_all()
        self.app = Flask("memberpass-sandbox")
        self.app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
        install(self.app, self.services)
        self.app.register_blueprint(api.blueprint)
        self.app.register_blueprint(control)
        self.app.extensions["sandbox_root"] = self
        for module in modules:
            init = getattr(module, "init_sandbox", None)
            if init is not None:
                init(self)

    def start_workers(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()


def create_sandbox_app(settings: SandboxSettings | None = None) -> Flask:
    return Sandbox(settings).app
