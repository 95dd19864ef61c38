"""OpenAPI operations generated from the manifests: one per action, search, search-or-create pair, choices
source and trigger (its polling endpoint and its subscription), each on its concrete path
(``/api/actions/create_plan``), so every operation carries its own input and output schemas.

Record schemas live in ``components.schemas`` as ``Record.<key>`` (one per entry with output fields;
``EventItem`` for the 72 event triggers), input bodies as ``Input.<key>``.
"""

from __future__ import annotations

from typing import Any

from connector.manifests.model import Catalog, Entry
from connector.openapi_schemas import (
    Schema,
    body_schema,
    errors,
    ok,
    query_parameters,
    record_schema,
    ref,
)
from triggers.source import event_entry, is_event_trigger

UPSTREAM_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504)
READ_ERRORS = (400, 401, 403, 404, 422, 429, 500, 502, 503, 504)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Runs the action once per key (per connection); repeats get the stored answer with "
    "`Idempotent-Replayed: true`. Without it, identical input within the idempotency window runs once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is a stored answer.",
        "schema": {"type": "string"},
    }
}


def record_name(entry: Entry) -> str:
    return "EventItem" if is_event_trigger(entry) else f"Record.{entry.key}"


def _item_schema(entry: Entry) -> Schema:
    """A trigger item: the record plus its unique ``id`` (and ``record_id`` for per-version triggers)."""
    base = ref(record_name(entry))
    extra: Schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": ["string", "integer"]}},
    }
    if tuple(entry.dedupe) not in ((), ("id",)):
        extra["properties"]["record_id"] = {"type": ["string", "null"]}
        extra["required"].append("record_id")
    return {"allOf": [base, extra]}


def _operation(entry: Entry, kind: str, **fields: Any) -> Schema:
    return {
        "operationId": f"{kind}.{entry.key}",
        "tags": [entry.resource],
        "summary": entry.label,
        "description": entry.description,
        **fields,
    }


def action_operation(entry: Entry) -> Schema:
    record = ok(entry.label, ref(record_name(entry)), headers=REPLAYED)
    statuses = {"200": record, "201": record} if entry.request.method == "POST" else {"200": record}
    return _operation(
        entry,
        "action",
        parameters=[IDEMPOTENCY_KEY],
        requestBody={
            "required": False,
            "content": {"application/json": {"schema": ref(f"Input.{entry.key}")}},
        },
        responses={**statuses, **errors(*UPSTREAM_ERRORS)},
    )


def search_operation(entry: Entry) -> Schema:
    matches = ok(
        "Matching records, best first; empty when nothing matches.",
        {"type": "array", "items": ref(record_name(entry))},
    )
    return _operation(
        entry,
        "search",
        parameters=query_parameters(entry.inputs),
        responses={"200": matches, **errors(*READ_ERRORS)},
    )


def search_or_create_operation(search: Entry, create: Entry) -> Schema:
    seen = {f.key for f in search.inputs}
    body = body_schema(search.inputs + tuple(f for f in create.inputs if f.key not in seen))
    body.pop("required", None)  # the create's required inputs are needed only when nothing is found
    item = {"anyOf": [ref(record_name(search)), ref(record_name(create))]}
    found = ok(
        "The record found: `[record]`.", {"type": "array", "items": item, "minItems": 1, "maxItems": 1}
    )
    created = ok(
        "Nothing was found; the record created: `[record]`.",
        {"type": "array", "items": item, "minItems": 1, "maxItems": 1},
        headers=REPLAYED,
    )
    operation = _operation(
        search,
        "search_or_create",
        parameters=[IDEMPOTENCY_KEY],
        requestBody={"required": True, "content": {"application/json": {"schema": body}}},
        responses={"200": found, "201": created, **errors(*UPSTREAM_ERRORS)},
    )
    operation["summary"] = f"{search.label} or {create.label}"
    return operation


def choices_operation(entry: Entry) -> Schema:
    options = ok("Dropdown options.", {"type": "array", "items": ref("Choice")})
    return _operation(
        entry,
        "choices",
        parameters=query_parameters(entry.inputs),
        responses={"200": options, **errors(*READ_ERRORS)},
    )


def poll_operation(entry: Entry) -> Schema:
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "1-100 (default 50); -1 means 100.",
        "schema": {"type": "integer", "minimum": -1, "maximum": 100},
    }
    sample = {
        "name": "sample",
        "in": "query",
        "required": False,
        "description": "`1`: the 3 newest only.",
        "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
    }
    items = ok(
        "The newest items, newest first, each with a unique `id`.",
        {"type": "array", "items": _item_schema(entry)},
    )
    return _operation(
        entry,
        "poll",
        parameters=[*query_parameters(entry.inputs), limit, sample],
        responses={"200": items, **errors(*READ_ERRORS)},
    )


def subscribe_operation(entry: Entry) -> Schema:
    body = {
        "allOf": [
            ref("SubscribeRequest"),
            {"type": "object", "properties": {"inputs": body_schema(entry.inputs)}},
        ]
    }
    created = ok("Subscribed; `secret` is shown only here.", ref("SubscriptionCreated"))
    return _operation(
        entry,
        "subscribe",
        requestBody={"required": True, "content": {"application/json": {"schema": body}}},
        responses={"201": created, **errors(*UPSTREAM_ERRORS)},
    )


def all_triggers(catalog: Catalog) -> list[Entry]:
    return [event_entry(e) for e in catalog.events.values()] + catalog.of_kind("trigger")


def entry_paths(catalog: Catalog) -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for entry in catalog.of_kind("action"):
        paths[f"/api/actions/{entry.key}"] = {"post": action_operation(entry)}
    for entry in catalog.of_kind("search"):
        paths[f"/api/searches/{entry.key}"] = {"get": search_operation(entry)}
    for search, create in catalog.search_or_create_pairs():
        paths[f"/api/search-or-create/{search.key}"] = {"post": search_or_create_operation(search, create)}
    for entry in catalog.of_kind("choices"):
        paths[f"/api/choices/{entry.key}"] = {"get": choices_operation(entry)}
    for entry in all_triggers(catalog):
        paths[f"/api/triggers/{entry.key}"] = {"get": poll_operation(entry)}
        paths[f"/api/triggers/{entry.key}/subscriptions"] = {"post": subscribe_operation(entry)}
    return paths


def entry_schemas(catalog: Catalog) -> dict[str, Schema]:
    schemas: dict[str, Schema] = {"EventItem": record_schema(())}
    for entry in catalog.entries.values():
        if entry.output is not None:
            schemas[f"Record.{entry.key}"] = record_schema(entry.output.fields)
        if entry.kind == "action":
            schemas[f"Input.{entry.key}"] = body_schema(entry.inputs)
    return schemas
