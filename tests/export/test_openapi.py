"""The OpenAPI 3.1 document: valid, served identically by the route and the command, and complete.

Complete means both ways: every Flask route of ``create_app()`` is documented (the routes that take a
manifest key once per key of their kind) unless listed in ``EXCLUDED`` with a reason, and every
documented operation is a route Flask serves. Record schemas are checked against the manifests' samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from flask import Flask
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from connector.cli import main
from connector.connections import services
from connector.manifests import load_catalog
from connector.openapi import build_document, document
from connector.openapi_entries import all_triggers
from tests.connections.support import build_app
from tests.export.n8n_support import route_of

EXCLUDED = {"static": "Flask's own static-file route; the connector has no static files to serve."}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    built = build_app("http://127.0.0.1:9/v1", tmp_path_factory.mktemp("openapi") / "c.db")
    yield built
    built.extensions[services.DB].close()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_document()


def test_the_document_validates(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["connectionKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "mpc_…",
        "description": "A connection key from POST /api/connections, /connect or the OAuth flow.",
    }
    assert doc["security"] == [{"connectionKey": []}]


def test_the_route_and_the_command_serve_the_same_document(app: Flask, tmp_path: Path) -> None:
    served = app.test_client().get("/openapi.json")
    assert served.status_code == 200 and served.mimetype == "application/json"
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(main, ["export", "openapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = CliRunner().invoke(main, ["export", "openapi"])
    assert served.json == json.loads(out.read_text()) == json.loads(printed.output) == build_document()
    with_server = CliRunner().invoke(main, ["export", "openapi", "--server-url", "https://c.example.com/"])
    assert json.loads(with_server.output)["servers"] == [{"url": "https://c.example.com"}]


def _keys_for(rule: str) -> list[str] | None:
    """The manifest keys a ``<key>``/``<source>`` route is documented for, or None for a fixed route."""
    catalog = load_catalog()
    by_prefix = {
        "/api/actions/": [e.key for e in catalog.of_kind("action")],
        "/api/searches/": [e.key for e in catalog.of_kind("search")],
        "/api/search-or-create/": [s.key for s, _ in catalog.search_or_create_pairs()],
        "/api/choices/": [e.key for e in catalog.of_kind("choices")],
        "/api/triggers/": [e.key for e in all_triggers(catalog)],
    }
    for prefix, keys in by_prefix.items():
        if rule.startswith(prefix + "<"):
            return keys
    return None


def _documented_paths(rule: str) -> list[str]:
    """``/api/me`` → ``["/api/me"]``; ``/api/actions/<key>`` → one concrete path per action key."""
    template = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
    keys = _keys_for(rule)
    if keys is None:
        return [template]
    variable = re.search(r"\{[a-z_]+\}", template)
    assert variable is not None
    return [template.replace(variable.group(), key, 1) for key in keys]


def test_every_flask_route_is_documented(app: Flask, doc: dict[str, Any]) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXCLUDED:
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            paths = _documented_paths(rule.rule)
            missing += [f"{method} {p}" for p in paths if method.lower() not in doc["paths"].get(p, {})]
    assert missing == [], f"undocumented routes: {missing[:20]} ({len(missing)})"


def test_every_documented_operation_is_a_route(app: Flask, doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        concrete = path.replace("{subscription_id}", "sub_x").replace("{delivery_id}", "msg_x")
        for method in item:
            if method == "parameters":
                continue
            assert route_of(app, method.upper(), concrete) is not None, f"{method.upper()} {path} is no route"


def test_operations_carry_the_manifest_schemas(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    schemas = doc["components"]["schemas"]
    create_plan = paths["/api/actions/create_plan"]["post"]
    assert create_plan["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Input.create_plan"
    }
    body = schemas["Input.create_plan"]
    assert set(body["required"]) == {"project_id", "name", "price", "currency", "resources"}
    assert body["properties"]["billing_cycle"]["default"] == "months"
    assert body["properties"]["resources"]["type"] == "array" and body["additionalProperties"] is False
    listed = {p["name"]: p for p in paths["/api/searches/list_transactions"]["get"]["parameters"]}
    assert listed["project_id"]["required"] is True
    assert listed["plan_ids"]["explode"] is True and listed["plan_ids"]["schema"]["type"] == "array"
    assert "request_id" in schemas["Record.create_plan"]["required"]
    assert paths["/api/triggers/member.joined/subscriptions"]["post"]["responses"]["201"]
    assert paths["/api/choices/plans"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Choice"},
    }
    for status in ("401", "422", "429"):
        assert create_plan["responses"][status] == {"$ref": f"#/components/responses/Error{status}"}
    public = {(p, m) for p, item in paths.items() for m, op in item.items() if m != "parameters"
              and op.get("security") == []}  # fmt: skip
    assert ("/api/connections", "post") in public and ("/api/me", "get") not in public


def test_record_schemas_accept_the_manifest_samples(doc: dict[str, Any]) -> None:
    registry: Registry[Any] = Registry().with_resource("urn:doc", DRAFT202012.create_resource(doc))
    checked = 0
    for entry in load_catalog().entries.values():
        if entry.output is None or entry.sample is None:
            continue
        schema = {"$ref": f"urn:doc#/components/schemas/Record.{entry.key}"}
        record = {**entry.sample, "request_id": "req_1"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(record)
        if entry.output.fields:  # a declared field is always present (null when MemberPass left it out)
            first = entry.output.fields[0].key
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.Draft202012Validator(schema, registry=registry).validate(
                    {k: v for k, v in record.items() if k != first}
                )
        checked += 1
    assert checked > 70


def test_the_document_is_built_once_per_catalog() -> None:
    assert document() is document()
    assert document() == build_document()
