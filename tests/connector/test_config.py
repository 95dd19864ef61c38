"""Settings come from the environment; a bad value fails at start naming the variable."""

from __future__ import annotations

import base64
import os

import pytest

from connector.app import create_app
from connector.config import DEFAULT_API_BASE, Settings, parse_key_ring
from connector.errors import ConfigError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.api_base == DEFAULT_API_BASE
    assert settings.public_url is None
    assert settings.allow_private_targets is False
    assert settings.encryption_keys == ()
    assert settings.poll_interval == 60.0


def test_values_are_read_and_normalised(tmp_path: os.PathLike[str]) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = Settings.from_env(
        {
            "MEMBERPASS_API_BASE": "http://127.0.0.1:8765/v1/",
            "CONNECTOR_DB": os.path.join(tmp_path, "c.db"),
            "CONNECTOR_ENCRYPTION_KEYS": f"{key}, {key.rstrip('=')}",
            "CONNECTOR_PUBLIC_URL": "https://connector.example.com",
            "CONNECTOR_ALLOW_PRIVATE_TARGETS": "yes",
            "CONNECTOR_POLL_INTERVAL": "15",
        }
    )
    assert settings.api_base == "http://127.0.0.1:8765/v1"
    assert len(settings.encryption_keys) == 2 and all(len(k) == 32 for k in settings.encryption_keys)
    assert settings.allow_private_targets is True
    assert settings.poll_interval == 15.0
    assert "encryption_keys" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("MEMBERPASS_API_BASE", "ftp://nowhere", "not an http(s) URL"),
        ("CONNECTOR_PUBLIC_URL", "connector.example.com", "not an http(s) URL"),
        ("CONNECTOR_ALLOW_PRIVATE_TARGETS", "maybe", "not a boolean"),
        ("CONNECTOR_POLL_INTERVAL", "-5", "not positive"),
        ("CONNECTOR_POLL_INTERVAL", "often", "not a number"),
        ("CONNECTOR_ENCRYPTION_KEYS", "c2hvcnQ=", "key #1 is not 32 bytes"),
        ("CONNECTOR_DB", "/no/such/folder/c.db", "does not exist"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.message.startswith(variable + ":")
    assert fragment in caught.value.message
    assert caught.value.remediation
    assert caught.value.context == {"variable": variable}


def test_key_ring_keeps_order() -> None:
    first, second = os.urandom(32), os.urandom(32)
    raw = ",".join(base64.urlsafe_b64encode(k).decode() for k in (first, second))
    assert parse_key_ring(raw) == (first, second)


def test_create_app_fails_on_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_ALLOW_PRIVATE_TARGETS", "perhaps")
    with pytest.raises(ConfigError, match="CONNECTOR_ALLOW_PRIVATE_TARGETS"):
        create_app()
