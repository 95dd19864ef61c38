"""Serve a sandbox over real HTTP on a background thread (tests, demo, benchmarks) or in the foreground."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.sandbox.app import Sandbox
from connector.sandbox.settings import SandboxSettings


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxServer:
    """``with SandboxServer() as sb: requests.get(sb.base_url + "/teams/current", ...)``."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
    ) -> None:
        self.sandbox = Sandbox(settings)
        logging.getLogger("werkzeug").setLevel(logging.ERROR if quiet else logging.INFO)
        self._server: BaseWSGIServer = make_server(
            host, port, self.sandbox.app, threaded=True, request_handler=_QuietHandler if quiet else None
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The v1 API base, as `MEMBERPASS_API_BASE` would hold it."""
        return self.url + "/v1"

    def start(self) -> SandboxServer:
        self.sandbox.start_workers()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.sandbox.start_workers()
        try:
            self._server.serve_forever()
        finally:
            self.sandbox.stop_workers()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.sandbox.stop_workers()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
