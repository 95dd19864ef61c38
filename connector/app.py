"""The connector's Flask app factory."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, g, request

from connector.config import Settings
from connector.errors import ConnectorError


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build the connector app from a :class:`Settings`, a dict of overrides, or the environment (None)."""
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env()
        if config:
            settings = Settings(**{**settings.__dict__, **config})
    app = Flask("memberpass-connector")
    app.config["CONNECTOR_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    _install_errors(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(json.dumps({"status": "ok"}), mimetype="application/json")

    return app


def _install_errors(app: Flask) -> None:
    from connector.ids import request_id

    @app.before_request
    def _start() -> None:
        g.request_id = request.headers.get("X-Request-Id") or request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.errorhandler(ConnectorError)
    def _error(err: ConnectorError) -> Response:
        response = Response(
            json.dumps(err.envelope(g.get("request_id"))), status=err.status, mimetype="application/json"
        )
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return response
