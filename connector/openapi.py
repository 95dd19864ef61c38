"""The OpenAPI 3.1 document of the connector's HTTP API, built from the manifests and the route table.

- Manifest operations (:mod:`connector.openapi_entries`): one per action, search, search-or-create pair,
  choices source and trigger (polling endpoint and subscription), each on its concrete path with its input
  schema (a JSON body for actions, query parameters for searches) and its record schema from the output
  fields.
- Fixed routes (:mod:`connector.openapi_routes`): connections and the connect page, OAuth, subscriptions,
  deliveries, inbound hooks, catalog, health and this document.
- Shared components: the error envelope (one response per status), the records, and bearer security with
  a connection key (``Authorization: Bearer mpc_…``), the default for every operation that does not say
  ``security: []``.

``GET /openapi.json`` and ``memberpass-connector export openapi`` serve the same document. It has no
``servers`` entry unless asked for one, so its paths resolve against wherever it was fetched from.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Blueprint, Response

from connector.manifests import Catalog, load_catalog
from connector.openapi_components import component_schemas
from connector.openapi_entries import entry_paths, entry_schemas
from connector.openapi_routes import route_paths
from connector.openapi_schemas import error_components

OPENAPI_VERSION = "3.1.0"
DESCRIPTION = (
    "Triggers, actions and searches of MemberPass for Zapier, n8n and any HTTP client. Authenticate with "
    "the connection key shown when you connected (`Authorization: Bearer mpc_…`). Errors use the MemberPass "
    'envelope `{"error": {code, message, remediation, docs_url, request_id, fields?, context?}}`.'
)
_cache: dict[int, tuple[Catalog, dict[str, Any]]] = {}


def _version() -> str:
    try:
        return version("memberpass-connector")
    except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        return "0.0.0"


def _components() -> dict[str, Any]:
    error_schemas, error_responses = error_components()
    return {
        "securitySchemes": {
            "connectionKey": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "mpc_…",
                "description": "A connection key from POST /api/connections, /connect or the OAuth flow.",
            },
            "oauthClient": {"type": "http", "scheme": "basic", "description": "OAuth client id and secret."},
        },
        "headers": {
            "RetryAfter": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
        },
        "responses": error_responses,
        "schemas": {**error_schemas, **component_schemas()},
    }


def build_document(catalog: Catalog | None = None, *, server_url: str | None = None) -> dict[str, Any]:
    """The whole document (a new dict each call; see :func:`document` for the cached one)."""
    catalog = catalog or load_catalog()
    components = _components()
    components["schemas"].update(entry_schemas(catalog))
    doc: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "MemberPass Connector", "version": _version(), "description": DESCRIPTION},
        "security": [{"connectionKey": []}],
        "paths": {**route_paths(), **entry_paths(catalog)},
        "components": components,
    }
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/")}]
    return doc


def document(catalog: Catalog | None = None) -> dict[str, Any]:
    """The document of ``catalog`` (default: the project's manifests), built once."""
    catalog = catalog or load_catalog()
    cached = _cache.get(id(catalog))
    if cached is None or cached[0] is not catalog:
        cached = _cache[id(catalog)] = (catalog, build_document(catalog))
    return cached[1]


def document_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


openapi_bp = Blueprint("openapi", __name__)


@openapi_bp.get("/openapi.json")
def openapi_json() -> Response:
    response = Response(document_text(document()), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
