"""Rendering of the HTML pages (Jinja templates in ``connector/templates``, autoescaped) with the headers
every page of this kind needs: no caching (a page may show a key once), no framing, no referrer, a strict
content security policy (no script at all: the pages work without JavaScript)."""

from __future__ import annotations

import functools
from typing import Any

from flask import Response
from jinja2 import Environment, PackageLoader, select_autoescape

from connector.connections import csrf


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("connector", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, status: int = 200, *, form_action: str = "'self'", **context: Any) -> Response:
    """Render a page with a fresh (or the still valid) CSRF token in ``csrf_token`` and its cookie set."""
    token = csrf.token_for_form()
    html = _environment().get_template(template).render(csrf_field=csrf.FIELD, csrf_token=token, **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    csrf.set_cookie(response, token)
    return response
