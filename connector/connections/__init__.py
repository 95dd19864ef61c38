"""Connections: token paste (page and API), connection keys, the OAuth-like sign-in, and token health.

:func:`init_app` opens the database (running every registered migration), builds the encryption key ring,
installs the clock and registers the blueprints; ``create_app`` calls it.
"""

from __future__ import annotations

import sys

from flask import Flask, Response, request

from connector.clock import SystemClock
from connector.config import Settings
from connector.connections import services
from connector.connections.auth import current_connection, require_connection
from connector.keyfile import ring_for
from connector.storage.db import open_db

__all__ = ["current_connection", "init_app", "require_connection"]


def _announce(message: str) -> None:
    print(message, file=sys.stderr)


def init_app(app: Flask, settings: Settings) -> None:
    from connector.connections.api import api
    from connector.connections.connect_page import page
    from connector.connections.oauth import oauth

    app.extensions[services.RING] = ring_for(settings, _announce)
    app.extensions[services.DB] = open_db(settings.db_path)
    app.extensions[services.CLOCK] = SystemClock()
    app.register_blueprint(api)
    app.register_blueprint(page)
    app.register_blueprint(oauth)

    @app.after_request
    def _challenge(response: Response) -> Response:
        if response.status_code == 401 and request.path.startswith("/api/"):
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="memberpass-connector"')
        return response
