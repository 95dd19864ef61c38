"""OpenAPI operations of the connector's fixed routes (connections, OAuth, subscriptions, deliveries, inbound
hooks, catalog, operations) and the schemas they answer with.

Written by hand from the route modules (``connector/connections``, ``triggers/api.py``, ``webhooks/api.py``,
``connector/catalog_api.py``, ``connector/app.py``); ``tests/test_openapi.py`` fails when a Flask route of
``create_app()`` is missing here.
"""

from __future__ import annotations

from typing import Any

from connector.openapi_components import TOKEN, obj
from connector.openapi_schemas import Schema, errors, json_content, ok, ref

PUBLIC: list[dict[str, list[str]]] = []  # `security: []`: no connection key
HTML = {"text/html": {"schema": {"type": "string"}}}


def _op(op_id: str, tag: str, summary: str, responses: Schema, **fields: Any) -> Schema:
    return {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses, **fields}


def _body(schema: Schema, *, media: str = "application/json", required: bool = True) -> Schema:
    return {"required": required, "content": {media: {"schema": schema}}}


def _path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    return {**param, "description": description} if description else param


def _html(description: str) -> Schema:
    return {"description": description, "content": HTML}


def connection_paths() -> dict[str, Schema]:
    answer = ok("The caller's connection.", ref("ConnectionAnswer"))
    paste = obj(
        ["token"],
        {"token": TOKEN, "label": {"type": "string", "minLength": 1, "maxLength": 100}},
        extra=False,
    )
    verify_errors = errors(400, 401, 403, 409, 413, 415, 422, 429, 502, 503, 504)
    return {
        "/api/connections": {
            "post": _op(
                "connections.create",
                "connections",
                "Paste a MemberPass token",
                {"201": ok("Connected; the key is shown once.", ref("ConnectionCreated")), **verify_errors},
                requestBody=_body(paste),
                security=PUBLIC,
            )
        },
        "/api/me": {
            "get": _op(
                "me.get", "connections", "Auth test and connection label", {"200": answer, **errors(401)}
            ),
            "delete": _op(
                "me.revoke", "connections", "Revoke the connection", {"200": answer, **errors(401)}
            ),
        },
        "/api/me/token": {
            "put": _op(
                "me.replace_token",
                "connections",
                "Replace the MemberPass token",
                {"200": answer, **errors(400, 401, 403, 409, 413, 415, 422, 429, 502, 503, 504)},
                requestBody=_body(obj(["token"], {"token": TOKEN}, extra=False)),
            )
        },
    }


def page_paths() -> dict[str, Schema]:
    form = obj(
        [],
        {
            "token": TOKEN,
            "label": {"type": "string"},
            "connection_key": {"type": "string"},
            "csrf_token": {"type": "string"},
        },
    )
    refused = {
        str(s): _html("The form again, with the error.")
        for s in (400, 401, 403, 409, 413, 422, 429, 502, 503, 504)
    }
    return {
        "/connect": {
            "get": _op(
                "connect.form", "pages", "The token-paste page", {"200": _html("The form.")}, security=PUBLIC
            ),
            "post": _op(
                "connect.submit",
                "pages",
                "Submit the token-paste page",
                {"200": _html("Token replaced."), "201": _html("Connected: the key, once."), **refused},
                requestBody=_body(form, media="application/x-www-form-urlencoded"),
                security=PUBLIC,
            ),
        },
    }


def dashboard_paths() -> dict[str, Schema]:
    """The dashboard's HTML routes (a browser session cookie, ``connector_dashboard``, not a bearer key)."""
    form = obj([], {"csrf_token": {"type": "string"}})
    sign_in = obj([], {"connection_key": {"type": "string"}, "csrf_token": {"type": "string"}})
    moved = {"303": {"description": "Back to the dashboard, with a notice saying what happened."}}

    def button(op_id: str, summary: str) -> Schema:
        return _op(
            op_id,
            "pages",
            summary,
            {**moved, **errors(403)},
            requestBody=_body(form, media="application/x-www-form-urlencoded"),
            security=PUBLIC,
        )

    return {
        "/": {
            "get": _op(
                "dashboard.view",
                "pages",
                "The dashboard (or its sign-in form)",
                {"200": _html("Connections, subscriptions, recent deliveries; or the sign-in form.")},
                parameters=[_query("live", {"type": "string"}), _query("notice", {"type": "string"})],
                security=PUBLIC,
            )
        },
        "/dashboard/sign-in": {
            "post": _op(
                "dashboard.sign_in",
                "pages",
                "Sign this browser in with a connection key",
                {**moved, **{str(s): _html("The form again, with the error.") for s in (401, 403)}},
                requestBody=_body(sign_in, media="application/x-www-form-urlencoded"),
                security=PUBLIC,
            )
        },
        "/dashboard/open/{ticket}": {
            "parameters": [_path_param("ticket")],
            "get": _op(
                "dashboard.open",
                "pages",
                "Redeem a one-time sign-in link",
                {**moved, "410": _html("Used already or expired.")},
                security=PUBLIC,
            ),
        },
        "/dashboard/sign-out": {"post": button("dashboard.sign_out", "Sign this browser out")},
        "/dashboard/deliveries/{delivery_id}/retry": {
            "parameters": [_path_param("delivery_id")],
            "post": button("dashboard.retry", "Retry a failed or dead delivery"),
        },
        "/dashboard/subscriptions/{subscription_id}/enable": {
            "parameters": [_path_param("subscription_id")],
            "post": button("dashboard.enable", "Re-enable a disabled subscription"),
        },
    }


def oauth_paths() -> dict[str, Schema]:
    names = (
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "scope",
    )
    params = [_query(n, {"type": "string"}) for n in names]
    redirect = {
        "description": "Back to the client's redirect_uri (code and state, or an OAuth error).",
        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
    }
    consent = obj([], {n: {"type": "string"} for n in (*names, "token", "action", "csrf_token")})
    token_body = obj(
        [],
        {
            n: {"type": "string"}
            for n in (
                "grant_type",
                "code",
                "redirect_uri",
                "code_verifier",
                "refresh_token",
                "client_id",
                "client_secret",
            )
        },
    )
    token_errors = {str(s): ok("RFC 6749 §5.2 error.", ref("OAuthError")) for s in (400, 401)}
    return {
        "/oauth/authorize": {
            "get": _op(
                "oauth.authorize",
                "oauth",
                "Consent page (the token paste)",
                {
                    "200": _html("The consent form."),
                    "302": redirect,
                    "400": _html("The request cannot be trusted."),
                },
                parameters=params,
                security=PUBLIC,
            ),
            "post": _op(
                "oauth.authorize_submit",
                "oauth",
                "Submit the consent page",
                {
                    "303": redirect,
                    "400": _html("The request cannot be trusted."),
                    **{
                        str(s): _html("The form again, with the error.")
                        for s in (401, 403, 409, 413, 422, 429, 502, 503, 504)
                    },
                },
                requestBody=_body(consent, media="application/x-www-form-urlencoded"),
                security=PUBLIC,
            ),
        },
        "/oauth/token": {
            "post": _op(
                "oauth.token",
                "oauth",
                "Exchange a code or a refresh token",
                {"200": ok("Tokens.", ref("OAuthToken")), **token_errors},
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": token_body},
                        "application/json": {"schema": token_body},
                    },
                },
                security=[{"oauthClient": []}, {}],
            )
        },
    }


def subscription_paths() -> dict[str, Schema]:
    sub_id = _path_param("subscription_id")
    one = ok("The subscription.", obj(["data"], {"data": ref("Subscription")}))
    return {
        "/api/subscriptions": {
            "get": _op(
                "subscriptions.list",
                "subscriptions",
                "The caller's subscriptions",
                {
                    "200": ok(
                        "Newest first.",
                        obj(["data"], {"data": {"type": "array", "items": ref("Subscription")}}),
                    ),
                    **errors(401),
                },
            )
        },
        "/api/subscriptions/{subscription_id}": {
            "parameters": [sub_id],
            "get": _op(
                "subscriptions.get", "subscriptions", "One subscription", {"200": one, **errors(401, 404)}
            ),
            "delete": _op(
                "subscriptions.delete",
                "subscriptions",
                "Unsubscribe",
                {
                    "204": {"description": "Deleted, with its state and pending deliveries."},
                    **errors(401, 404),
                },
            ),
        },
        "/api/subscriptions/{subscription_id}/enable": {
            "parameters": [sub_id],
            "post": _op(
                "subscriptions.enable",
                "subscriptions",
                "Re-enable a subscription the delivery worker disabled",
                {"200": one, **errors(401, 404, 409)},
            ),
        },
        "/api/subscriptions/{subscription_id}/log": {
            "parameters": [sub_id],
            "get": _op(
                "subscriptions.log",
                "subscriptions",
                "The poll log, newest first",
                {
                    "200": ok(
                        "Poll decisions.",
                        obj(["data"], {"data": {"type": "array", "items": ref("PollLogEntry")}}),
                    ),
                    **errors(401, 404, 422),
                },
                parameters=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 200})],
            ),
        },
    }


def delivery_paths() -> dict[str, Schema]:
    meta = obj(
        ["page", "limit", "total", "has_more"],
        {k: {"type": "integer"} for k in ("page", "limit", "total")} | {"has_more": {"type": "boolean"}},
    )
    listed = obj(["data", "meta"], {"data": {"type": "array", "items": ref("Delivery")}, "meta": meta})
    params = [
        _query("status", {"type": "string", "enum": ["pending", "delivered", "failed", "dead"]}),
        _query("subscription_id", {"type": "string"}),
        _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
    ]
    return {
        "/api/deliveries": {
            "get": _op(
                "deliveries.list",
                "deliveries",
                "The delivery log, newest first",
                {"200": ok("Deliveries.", listed), **errors(401, 422)},
                parameters=params,
            )
        },
        "/api/deliveries/{delivery_id}/retry": {
            "parameters": [_path_param("delivery_id")],
            "post": _op(
                "deliveries.retry",
                "deliveries",
                "Replay a failed or dead delivery",
                {
                    "200": ok("Pending again.", obj(["data"], {"data": ref("Delivery")})),
                    **errors(401, 404, 409),
                },
            ),
        },
    }


def operations_paths() -> dict[str, Schema]:
    event = {"type": "object", "description": "A MemberPass event envelope (`id`, `type`, `data`, …)."}
    received = obj(
        ["received"],
        {"received": {"type": "boolean"}, "duplicate": {"type": "boolean"}, "ignored": {"type": "string"}},
    )
    signature = {
        "name": "MP-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256>` (MemberPass webhooks §4).",
    }
    return {
        "/hooks/memberpass/{subscription_id}": {
            "parameters": [_path_param("subscription_id")],
            "post": _op(
                "hooks.memberpass",
                "hooks",
                "Inbound MemberPass webhook (webhook-mode subscriptions)",
                {"200": ok("Accepted.", received), **errors(400, 401, 404, 413)},
                parameters=[signature],
                requestBody=_body(event),
                security=PUBLIC,
            ),
        },
        "/api/catalog": {
            "get": _op(
                "catalog",
                "operations",
                "Every trigger, action, search and choices source",
                {"200": ok("The catalog.", ref("Catalog"))},
                security=PUBLIC,
            )
        },
        "/healthz": {
            "get": _op(
                "healthz",
                "operations",
                "Liveness",
                {"200": ok("Up.", obj(["status"], {"status": {"type": "string", "enum": ["ok"]}}))},
                security=PUBLIC,
            )
        },
        "/openapi.json": {
            "get": _op(
                "openapi",
                "operations",
                "This document",
                {"200": {"description": "OpenAPI 3.1.", "content": json_content({"type": "object"})}},
                security=PUBLIC,
            )
        },
    }


def route_paths() -> dict[str, Schema]:
    return {
        **connection_paths(),
        **page_paths(),
        **dashboard_paths(),
        **oauth_paths(),
        **subscription_paths(),
        **delivery_paths(),
        **operations_paths(),
    }
