"""The request pipeline every `/v1` route goes through, and the `@api.route` decorator.

Order: faults (drop before / injected status) → authentication (401) → rate limits (429) → ability (403)
→ idempotency (mutations) → injected latency → handler under the store lock → idempotency record → drop
after. Handlers receive a :class:`Ctx` and return a body (200) or ``(body, status)``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from connector.sandbox.errors import ApiError, invalid, not_found
from connector.sandbox.faults import Faults
from connector.sandbox.idempotency import IdempotencyStore, check_key_format, fingerprint
from connector.sandbox.ratelimit import RateLimiter, Verdict
from connector.sandbox.settings import SandboxSettings
from connector.sandbox.store import Obj, Store
from connector.sandbox.tokens import authenticate, project_scope

MUTATIONS = {"POST", "PATCH", "PUT", "DELETE"}
View = Callable[..., Any]


class DropConnection(Exception):
    """Raised to close the client's connection without an answer."""


@dataclass
class Ctx:
    """What a handler may use: the caller's token, its team and scope, the parsed input, the store."""

    store: Store
    token: Obj
    body: dict[str, Any]
    args: Any
    settings: SandboxSettings
    scope: set[str] | None = field(default=None)

    @property
    def team_id(self) -> str:
        return str(self.token["_team"])

    @property
    def now(self) -> float:
        return self.store.clock.now()

    def in_scope(self, project_id: str | None) -> bool:
        return self.scope is None or project_id is None or project_id in self.scope

    def project(self, project_id: str) -> Obj:
        """The project if this token may see it, else RESOURCE_NOT_FOUND (tenancy and C13)."""
        project = self.store.get("projects", project_id)
        if project is None or project["_team"] != self.team_id or not self.in_scope(project_id):
            raise not_found("project")
        return project

    def owned(self, table: str, obj_id: str, what: str, project_id: str | None = None) -> Obj:
        """An object of the caller's team (and, when given, of that project) or RESOURCE_NOT_FOUND."""
        obj = self.store.get(table, obj_id)
        if obj is None or obj.get("_team") != self.team_id:
            raise not_found(what)
        if project_id is not None and obj.get("project_id") != project_id:
            raise not_found(what)
        if not self.in_scope(obj.get("project_id")):
            raise not_found(what)
        return obj

    def emit(self, event_type: str, data: Obj, project_id: str | None = None) -> Obj:
        return self.store.emit(self.team_id, project_id, event_type, data)

    def activity(self, subject_type: str, subject_id: str, event: str, description: str, **kw: Any) -> Obj:
        return self.store.log_activity(
            self.team_id, subject_type, subject_id, event, description, causer_id=self.token["id"], **kw
        )


@dataclass
class Services:
    settings: SandboxSettings
    store: Store
    limiter: RateLimiter
    idempotency: IdempotencyStore
    faults: Faults
    request_log: list[Obj]


class Api:
    """A blueprint whose routes all run through the pipeline."""

    def __init__(self) -> None:
        self.blueprint = Blueprint("v1", __name__, url_prefix="/v1")
        self.routes: list[tuple[str, str, str | None]] = []

    def route(
        self,
        method: str,
        rule: str,
        ability: str | None,
        *,
        bucket: tuple[str, int | str] | None = None,
    ) -> Callable[[View], View]:
        """Register a handler. ``bucket`` adds an endpoint-specific per-minute limit (name, limit); the
        limit is a number or the name of a :class:`SandboxSettings` field, read per sandbox."""

        def decorator(fn: View) -> View:
            endpoint = f"{method.lower()}_{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__}"

            def view(**kwargs: Any) -> Response:
                return run_pipeline(fn, ability, bucket, kwargs)

            self.blueprint.add_url_rule(rule, endpoint, view, methods=[method])
            self.routes.append((method, "/v1" + rule, ability))
            return fn

        return decorator


api = Api()


def services() -> Services:
    from flask import current_app

    return current_app.extensions["sandbox"]


def template_path() -> str | None:
    rule = request.url_rule
    if rule is None:
        return None
    return rule.rule.replace("<", "{").replace(">", "}")


def parse_json_body(*, allow_list: bool = False) -> Any:
    """The request's JSON body ({} when empty); VALIDATION_FAILED when it is not JSON or not an object
    (or a list, where ``allow_list``)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid({"body": ["is not valid JSON"]}, "The request body is not valid JSON.") from None
    if not isinstance(body, dict) and not (allow_list and isinstance(body, list)):
        raise invalid({"body": ["must be a JSON object or list" if allow_list else "must be a JSON object"]})
    return body


def _json_body() -> dict[str, Any]:
    body: dict[str, Any] = parse_json_body()
    return body


def run_pipeline(
    fn: View, ability: str | None, bucket: tuple[str, int | str] | None, kwargs: dict[str, Any]
) -> Response:
    svc = services()
    plan = svc.faults.take(request.method, request.path, template_path())
    if plan.drop == "before":
        raise DropConnection()
    if plan.status is not None:
        headers = {"Retry-After": str(plan.retry_after)} if plan.retry_after is not None else {}
        code = {429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE", 500: "INTERNAL_ERROR"}.get(plan.status)
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        raise ApiError(code or "INTERNAL_ERROR", "Injected fault.", status=plan.status, headers=headers)

    token, reason = authenticate(svc.store, request.headers.get("Authorization"), svc.settings.environment)
    if token is None:
        raise ApiError("AUTHENTICATION_REQUIRED", reason)
    g.token_id = token["id"]
    token["last_used_at"] = svc.store.iso_now()

    buckets = [("minute", svc.settings.per_minute, svc.settings.minute_window)]
    buckets.append(("hour", svc.settings.per_hour, svc.settings.hour_window))
    if bucket is not None:
        name, limit = bucket
        limit = int(getattr(svc.settings, limit)) if isinstance(limit, str) else limit
        buckets.append((name, limit, svc.settings.minute_window))
    verdict = svc.limiter.hit(token["id"], buckets, reported=2)
    g.rate_headers = _rate_headers(verdict)
    if not verdict.allowed:
        raise ApiError(
            "RATE_LIMITED",
            f"Rate limit of {verdict.limit} requests exceeded.",
            headers={"Retry-After": str(verdict.retry_after)},
        )

    if ability is not None and ability not in token["abilities"]:
        raise ApiError(
            "TOKEN_MISSING_ABILITY",
            f"This token lacks the `{ability}` ability.",
            remediation=f"Mint a token that includes `{ability}` at app.memberpass.net/settings/tokens.",
            context={"required_ability": ability},
        )

    key = None
    if request.method in MUTATIONS:
        key = check_key_format(request.headers.get("Idempotency-Key"))
        g.idempotency_key = key
        fp = fingerprint(request.method, request.full_path.rstrip("?"), request.get_data(cache=True))
        replay = svc.idempotency.begin(token["id"], key, fp, svc.store.clock.now())
        if replay is not None:
            response = _json_response(replay.body, replay.status)
            response.headers["Idempotent-Replayed"] = "true"
            return response
    try:
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        ctx = Ctx(svc.store, token, {}, request.args, svc.settings, project_scope(token))
        with svc.store.lock:
            if request.method in MUTATIONS or request.method == "GET":
                ctx.body = _json_body() if request.method in MUTATIONS else {}
            result = fn(ctx, **kwargs)
        body, status = result if isinstance(result, tuple) else (result, 200)
    except Exception:
        if key is not None:
            svc.idempotency.release(token["id"], key)
        raise
    if key is not None:
        svc.idempotency.complete(token["id"], key, status, body, {})
    if plan.drop == "after":
        raise DropConnection()
    return _json_response(body, status)


def _rate_headers(verdict: Verdict) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(verdict.limit),
        "X-RateLimit-Remaining": str(verdict.remaining),
        "X-RateLimit-Reset": str(verdict.reset),
    }


def _json_response(body: Any, status: int) -> Response:
    if status == 204 or body is None:
        return Response(status=status)
    return Response(json.dumps(body), status=status, mimetype="application/json")


def drop_connection() -> None:
    """Close the client's socket with no answer (the werkzeug server exposes it in the environ)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def install(app: Flask, svc: Services) -> None:
    """Attach the pipeline's shared services, error handlers and headers to the app."""
    app.extensions["sandbox"] = svc
    from connector.sandbox.ids import new_id

    @app.before_request
    def _start() -> None:
        g.request_id = new_id("req")
        g.token_id = None
        g.idempotency_key = None
        g.rate_headers = {}

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        for name, value in g.get("rate_headers", {}).items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/v1"):
            _log(svc, response.status_code)
        return response

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        response = _json_response(err.envelope(g.request_id), err.status)
        for name, value in err.headers.items():
            response.headers[name] = value
        return response

    @app.errorhandler(DropConnection)
    def _drop(_: DropConnection) -> Response:
        _log(svc, None)
        drop_connection()
        g.rate_headers = {}
        return Response(status=500)

    @app.errorhandler(404)
    def _not_found(_: Any) -> Response:
        return _api_error(
            ApiError("RESOURCE_NOT_FOUND", f"No route matches {request.method} {request.path}.")
        )

    @app.errorhandler(405)
    def _method(_: Any) -> Response:
        return _api_error(
            ApiError("METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}.")
        )

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> Response:
        from werkzeug.exceptions import HTTPException

        if isinstance(err, HTTPException):
            return _api_error(ApiError("BAD_REQUEST", err.description, status=err.code))
        app.logger.exception("sandbox handler crashed")
        return _api_error(ApiError("INTERNAL_ERROR"))


def _log(svc: Services, status: int | None) -> None:
    if g.get("logged"):
        return
    g.logged = True
    svc.request_log.append(
        {
            "method": request.method,
            "path": request.path,
            "status": status,
            "idempotency_key": g.get("idempotency_key") or request.headers.get("Idempotency-Key"),
            "token_id": g.get("token_id"),
            "at": time.time(),
            "request_id": g.get("request_id"),
        }
    )
