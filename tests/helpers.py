"""Helpers shared by tests: make a team and a token on a running sandbox."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

from connector.sandbox import SandboxServer
from connector.sandbox.abilities import ALL_ABILITIES, READ_ONLY_ABILITIES
from connector.sandbox.routes.teams import create_team
from connector.sandbox.tokens import mint_token


@dataclass
class Tenant:
    server: SandboxServer
    team: dict[str, Any]
    token: str
    token_record: dict[str, Any]
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path), headers=self.headers, timeout=10, **kw)

    def send(
        self, method: str, path: str, json: Any = None, key: str | None = None, **kw: Any
    ) -> requests.Response:
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.session.request(method, self.url(path), json=json, headers=headers, timeout=10, **kw)

    def post(self, path: str, json: Any = None, key: str | None = None, **kw: Any) -> requests.Response:
        return self.send("POST", path, json, key, **kw)


def make_tenant(
    server: SandboxServer,
    *,
    abilities: list[str] | str = "all",
    project_ids: list[str] | None = None,
    tier: str = "growth",
    name: str = "Acme Creators",
) -> Tenant:
    store = server.sandbox.store
    team = create_team(store, name, tier=tier)
    if abilities == "all":
        abilities = list(ALL_ABILITIES)
    elif abilities == "read_only":
        abilities = list(READ_ONLY_ABILITIES)
    assert isinstance(abilities, list)
    token, record = mint_token(
        store, team["id"], abilities, project_ids=project_ids, owner_user_id=team["owner_user_id"]
    )
    return Tenant(server, team, token, record)


def token_for(
    tenant: Tenant, abilities: list[str] | str = "all", project_ids: list[str] | None = None
) -> Tenant:
    """Another token on the same team."""
    store = tenant.server.sandbox.store
    if abilities == "all":
        abilities = list(ALL_ABILITIES)
    elif abilities == "read_only":
        abilities = list(READ_ONLY_ABILITIES)
    assert isinstance(abilities, list)
    token, record = mint_token(
        store,
        tenant.team["id"],
        abilities,
        project_ids=project_ids,
        owner_user_id=tenant.team["owner_user_id"],
    )
    return Tenant(tenant.server, tenant.team, token, record)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served over HTTP on a free port of 127.0.0.1 (a thread per request); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
