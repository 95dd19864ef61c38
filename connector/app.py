"""The connector's Flask app factory."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

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
    from connector.connections import init_app as init_connections

    init_connections(app, settings)
    from actions.api import init_app as init_actions
    from connector.catalog_api import catalog

    init_actions(app, settings.idempotency_window)
    app.register_blueprint(catalog)
    from connector.openapi import openapi_bp

    app.register_blueprint(openapi_bp)
    from triggers.api import init_app as init_triggers

    init_triggers(app)
    from webhooks.api import init_app as init_webhooks

    init_webhooks(app)
    from connector.dashboard import init_app as init_dashboard

    init_dashboard(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(json.dumps({"status": "ok"}), mimetype="application/json")

    return app


_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _install_errors(app: Flask) -> None:
    from connector.ids import request_id

    @app.before_request
    def _start() -> None:
        g.request_id = request.headers.get("X-Request-Id") or request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        """Werkzeug's own refusals (404, 405, 413 over MAX_CONTENT_LENGTH, …) in the same envelope."""
        status = err.code or 500
        code = _HTTP_CODES.get(status, f"HTTP_{status}")
        return _error(ConnectorError(err.description or err.name, code=code, status=status))

    @app.errorhandler(ConnectorError)
    def _error(err: ConnectorError) -> Response:
        response = Response(
            json.dumps(err.envelope(g.get("request_id"))), status=err.status, mimetype="application/json"
        )
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return response
