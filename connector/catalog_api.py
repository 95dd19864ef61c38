"""``GET /api/catalog``: every trigger, action, search and choices source, with its fields.

Answer: ``{"triggers": [...], "actions": [...], "searches": [...], "choices": [...], "counts": {...}}``;
each entry carries ``key``, ``label``, ``noun``, ``description``, ``ability`` (a list), ``fields`` (inputs)
and, where it has them, ``output_fields`` and ``sample``. The 72 event triggers come first, keyed by event
name. The catalog holds no secret and is the same for every caller, so it needs no connection key.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response

from connector.manifests import load_catalog

catalog = Blueprint("catalog", __name__, url_prefix="/api")


@catalog.get("/catalog")
def get_catalog() -> Response:
    loaded = load_catalog()
    body = {**loaded.public(), "counts": loaded.counts()}
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
