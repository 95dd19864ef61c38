"""Helpers for connection tests: build an app, mint and revoke sandbox tokens, paste, read the CSRF field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from connector.app import create_app
from connector.config import parse_key_ring
from connector.crypto import generate_key
from connector.sandbox import SandboxServer

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_keys(count: int = 1) -> tuple[bytes, ...]:
    return parse_key_ring(",".join(generate_key() for _ in range(count)))


def build_app(server: SandboxServer | str, db_path: Path, keys: tuple[bytes, ...] | None = None) -> Flask:
    api_base = server if isinstance(server, str) else server.base_url
    app = create_app(
        {
            "api_base": api_base,
            "db_path": str(db_path),
            "encryption_keys": new_keys() if keys is None else keys,
        }
    )
    app.testing = True
    return app


def mint(
    server: SandboxServer, team_id: str, abilities: Any = "all", environment: str = "test"
) -> dict[str, Any]:
    """A token through the sandbox's control surface: {"token", "data": {"id", ...}}."""
    body = {"team_id": team_id, "abilities": abilities, "environment": environment}
    response = requests.post(server.url + "/_sandbox/tokens", json=body, timeout=10)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def revoke(server: SandboxServer, token_id: str) -> None:
    response = requests.post(f"{server.url}/_sandbox/tokens/{token_id}/revoke", timeout=10)
    assert response.status_code == 200, response.text


def paste(client: FlaskClient, token: str, **extra: Any) -> Any:
    return client.post("/api/connections", json={"token": token, **extra})


def connect(client: FlaskClient, token: str) -> tuple[str, dict[str, Any]]:
    """Paste a token; returns (connection key, connection)."""
    response = paste(client, token)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["connection_key"], response.json["data"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)
