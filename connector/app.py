"""The connector's Flask app factory."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, settings.max_body_bytes)  # type: ignore[method-assign]
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
    500: "INTERNAL_ERROR",
}
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TOO_LARGE = "connector.body_too_large"


def _read_up_to(stream: Any, most: int) -> bytes:
    """Read until the end of the stream or ``most`` bytes (a dechunking stream answers a chunk a read)."""
    parts, size = [], 0
    while size < most:
        part = stream.read(most - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class ChunkedBodyLimit:
    """WSGI middleware: a body without Content-Length (chunked) is read here up to the limit + 1 byte. Over
    the limit, the request is marked and answered 413 (werkzeug's limited stream would cut it silently and
    let the app parse the prefix); within it, the app gets the bytes with their Content-Length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("CONTENT_LENGTH") in (None, "") and "wsgi.input_terminated" in environ:
            body = _read_up_to(environ["wsgi.input"], self.limit + 1)
            if len(body) > self.limit:
                environ[TOO_LARGE] = True
                body = b""
            environ.pop("wsgi.input_terminated")
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # else werkzeug ignores the Content-Length set here
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return self.app(environ, start_response)


def _install_errors(app: Flask) -> None:
    from connector.ids import request_id

    @app.before_request
    def _start() -> None:
        """The caller's X-Request-Id when it is a plain short id; anything else (CR/LF, 8 KB) is replaced,
        since it is echoed in a header, error bodies and logs."""
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else request_id()
        if request.environ.get(TOO_LARGE):
            raise RequestEntityTooLarge()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        """Werkzeug's own refusals (404, 405, 413 over MAX_CONTENT_LENGTH, …) in the same envelope."""
        status = err.code or 500
        code = _HTTP_CODES.get(status, f"HTTP_{status}")
        remediation = None
        if status == 413:
            limit = current_app.config["MAX_CONTENT_LENGTH"]
            remediation = (
                f"Send a body of at most {limit} bytes (CONNECTOR_MAX_BODY_BYTES on this connector)."
            )
        return _error(
            ConnectorError(err.description or err.name, code=code, status=status, remediation=remediation)
        )

    @app.errorhandler(ConnectorError)
    def _error(err: ConnectorError) -> Response:
        response = Response(
            json.dumps(err.envelope(g.get("request_id"))), status=err.status, mimetype="application/json"
        )
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        return response
