"""Hypothesis fuzzing of every POST/PUT/DELETE operation of the OpenAPI document with random JSON bodies,
path ids, content types and header values (set straight into the WSGI environ, so control bytes arrive):
never a 5xx; a 4xx is the error envelope on ``/api/`` and ``/hooks/``, the RFC 6749 body on
``/oauth/token``. (``tests/export/test_openapi_schemathesis.py`` covers schema-shaped requests.)

``DELETE /api/me`` is left out: it would revoke the fuzzing connection and turn every later case into the
same 401.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.manifests import load_catalog
from connector.openapi import build_document
from tests.security.conftest import Harness, assert_error, body_of

SKIPPED = {("DELETE", "/api/me")}
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in build_document(load_catalog())["paths"].items()
    for method in item
    if method in ("post", "put", "delete") and (method.upper(), path) not in SKIPPED
)
PARAM = re.compile(r"\{[^}]+\}")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
BODY_KEYS = st.sampled_from(
    ["name", "target_url", "token", "inputs", "first_run", "project_id", "label", "x"]
)
BODIES = JSON | st.dictionaries(BODY_KEYS, JSON, max_size=4)
IDS = st.sampled_from(["sub_x", "whd_x", "0", "%2e%2e", "a" * 300, "sub_01HX\x00", "évt"]) | st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#"), min_size=1, max_size=20
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "*/*"]
)
HEADER_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=300)


def encoded(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


def check(path: str, response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code < 400:
        return
    if path.startswith(("/api/", "/hooks/")):
        assert_error(response, response.status_code)
    elif path == "/oauth/token":
        assert {"error", "error_description"} <= set(body_of(response))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operation=st.sampled_from(OPERATIONS),
    path_id=IDS,
    body=BODIES,
    content_type=CONTENT_TYPES,
    idempotency_key=st.none() | HEADER_TEXT,
    authorized=st.booleans(),
)
def test_random_requests_never_5xx_and_refusals_use_the_envelope(
    h: Harness, operation: tuple[str, str], path_id: str, body: Any, content_type: str,
    idempotency_key: str | None, authorized: bool,
) -> None:  # fmt: skip
    method, template = operation
    path = PARAM.sub(lambda _: path_id.replace("/", "_"), template)
    environ = {"CONTENT_TYPE": content_type}
    if idempotency_key is not None:
        environ["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    headers = h.a.headers if authorized else {}
    response = h.client.open(
        path, method=method, data=encoded(body), headers=headers, environ_overrides=environ
    )
    check(template, response)


@settings(max_examples=80, deadline=None)
@given(
    authorization=HEADER_TEXT, operation=st.sampled_from([o for o in OPERATIONS if o[1].startswith("/api/")])
)
def test_random_authorization_headers_are_401(
    h: Harness, authorization: str, operation: tuple[str, str]
) -> None:
    method, template = operation
    path = PARAM.sub("x", template)
    response = h.client.open(path, method=method, data=b"{}", content_type="application/json",
                             environ_overrides={"HTTP_AUTHORIZATION": authorization})  # fmt: skip
    if template == "/api/connections":  # public: no key needed
        assert response.status_code < 500
        return
    assert_error(response, 401)
