"""The OAuth-like sign-in that lets Zapier and n8n use their OAuth connection screens.

``GET /oauth/authorize`` checks the request (see ``oauth_request``) and shows the token-paste form as the
consent step; ``POST /oauth/authorize`` verifies the token, creates the connection (or, when this client
already holds one for the same MemberPass team, replaces that connection's token so its subscriptions carry
on) and redirects back with a single-use code valid 60 s. ``POST /oauth/token`` exchanges codes and refresh
tokens (``oauth_tokens``); its access tokens are connection keys. Clients authenticate with HTTP Basic or
``client_id``/``client_secret`` in the body (form-encoded or JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, g, redirect, request
from werkzeug.wrappers import Response as AnyResponse

from connector.connections import csrf
from connector.connections.connect_page import form_error
from connector.connections.oauth_request import (
    AuthorizePageError,
    AuthorizeRedirectError,
    AuthorizeRequest,
    parse_authorize,
    with_query,
)
from connector.connections.oauth_tokens import CODE_TTL, OAuthError, exchange_code, refresh
from connector.connections.pages import render
from connector.connections.services import connections, current_settings, oauth_store
from connector.connections.verify import check_format, verify_token
from connector.errors import ConnectorError
from connector.storage.connections import Connection
from connector.storage.oauth import OAuthClient

log = logging.getLogger("connector.connections")
oauth = Blueprint("oauth", __name__, url_prefix="/oauth")


@oauth.get("/authorize")
def authorize_form() -> AnyResponse:
    try:
        target = parse_authorize(request.args, oauth_store())
    except AuthorizePageError as err:
        return render("oauth_error.html", 400, message=err.message, remediation=err.remediation)
    except AuthorizeRedirectError as err:
        return redirect(err.location(), 302)
    return _consent(target)


@oauth.post("/authorize")
def authorize_submit() -> AnyResponse:
    try:
        target = parse_authorize(request.form, oauth_store())
    except AuthorizePageError as err:
        return render("oauth_error.html", 400, message=err.message, remediation=err.remediation)
    except AuthorizeRedirectError as err:
        return redirect(err.location(), 303)
    try:
        csrf.check()
        if request.form.get("action") == "deny":
            refused = AuthorizeRedirectError(
                target.redirect_uri, target.state, "access_denied", "The person refused the sign-in."
            )
            return redirect(refused.location(), 303)
        connection = _connection_for(target.client)
    except ConnectorError as err:
        return _consent(target, err)
    code = oauth_store().create_code(
        target.client.id, connection.id, target.redirect_uri, target.code_challenge, CODE_TTL
    )
    log.info("oauth: client %s signed in to connection %s", target.client.id, connection.id)
    return redirect(with_query(target.redirect_uri, {"code": code, "state": target.state}), 303)


def _consent(target: AuthorizeRequest, err: ConnectorError | None = None) -> Response:
    return render(
        "oauth_authorize.html",
        err.status if err else 200,
        form_action=f"'self' {target.redirect_origin()}",
        client=target.client,
        redirect_host=urlsplit(target.redirect_uri).netloc,
        hidden=target.hidden_fields(),
        values={},
        error=form_error(err) if err else None,
    )


def _connection_for(client: OAuthClient) -> Connection:
    """Verify the pasted token; reuse this client's connection to the same team, else create one."""
    token = check_format(request.form.get("token", ""))
    verified = verify_token(token, current_settings().api_base)
    repo = connections()
    existing = oauth_store().client_connection(client.id, verified.team_id)
    if existing is not None:
        return repo.replace_token(existing, verified, token)
    connection, _ = repo.create(
        verified, token, label=None, created_via="oauth", oauth_client_id=client.id, issue_key=False
    )
    return connection


@oauth.post("/token")
def token() -> Response:
    params = _token_params()
    try:
        client = _authenticate_client(params)
        grant_type = params.get("grant_type", "")
        if grant_type == "authorization_code":
            body = exchange_code(client, params)
        elif grant_type == "refresh_token":
            body = refresh(client, params)
        else:
            raise OAuthError(
                "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
            )
    except OAuthError as err:
        log.info("oauth token request refused: %s", err.error)
        return _token_response({"error": err.error, "error_description": err.description}, err.status)
    return _token_response(body, 200)


def _token_params() -> Mapping[str, str]:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {}
        return {k: v for k, v in body.items() if isinstance(v, str)}
    return request.form


def _authenticate_client(params: Mapping[str, str]) -> OAuthClient:
    client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "The Basic credentials are not valid base64.", 401) from None
        raw_id, _, raw_secret = decoded.partition(":")
        client_id, secret = unquote(raw_id), unquote(raw_secret)
    store = oauth_store()
    client = store.client(client_id) if client_id else None
    if client is None or not secret or not store.client_secret_matches(client.id, secret):
        raise OAuthError("invalid_client", "Unknown client or wrong client secret.", 401)
    return client


def _token_response(body: dict[str, object], status: int) -> Response:
    if status >= 400:
        body = {**body, "request_id": g.get("request_id")}
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="memberpass-connector"'
    return response
