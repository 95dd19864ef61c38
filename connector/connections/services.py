"""What the connection routes share, kept on the Flask app: database, key ring, clock, settings.

Tests swap the clock with ``app.extensions["connector.clock"] = FakeClock()``; repositories are built per
use from these, so the swap takes effect at once.
"""

from __future__ import annotations

from flask import current_app

from connector.clock import Clock
from connector.config import Settings
from connector.crypto import KeyRing
from connector.storage.connections import ConnectionRepository
from connector.storage.db import ConnectorDB
from connector.storage.oauth import OAuthRepository

DB = "connector.db"
RING = "connector.keyring"
CLOCK = "connector.clock"


def current_db() -> ConnectorDB:
    db: ConnectorDB = current_app.extensions[DB]
    return db


def current_ring() -> KeyRing:
    ring: KeyRing = current_app.extensions[RING]
    return ring


def current_clock() -> Clock:
    clock: Clock = current_app.extensions[CLOCK]
    return clock


def current_settings() -> Settings:
    settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
    return settings


def connections() -> ConnectionRepository:
    return ConnectionRepository(current_db(), current_ring(), current_clock())


def oauth_store() -> OAuthRepository:
    return OAuthRepository(current_db(), current_clock())
