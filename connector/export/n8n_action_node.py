"""The description of the declarative n8n node for actions, searches and search-or-create pairs.

Layout, as n8n users expect it: a ``resource`` option per manifest resource, an ``operation`` option per
resource (one per action, search and search-or-create pair of that resource), then each operation's fields
shown only for it. Each operation routes to the connector (``requestDefaults.baseURL`` is the credential's
connector URL):

| Manifest | Routing | Inputs sent as |
|---|---|---|
| action ``key`` | ``POST /api/actions/<key>`` | JSON body |
| search ``key`` | ``GET /api/searches/<key>`` | query (lists repeat the name) |
| search ``key`` with ``or_create`` | ``POST /api/search-or-create/<key>`` | JSON body |

A search answers an array, which n8n turns into one item per record; an action answers one record.
Repeated runs (n8n's Retry On Fail) are safe: without an ``Idempotency-Key`` the connector runs identical
input once within its idempotency window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.export.n8n_fields import (
    Property,
    additional_fields,
    dynamic_source,
    property_for,
    send_value,
)
from connector.manifests.model import Catalog, Entry, Field

CREDENTIAL = "memberPassConnectorApi"
SEARCH_OR_CREATE = "search_or_create:"


@dataclass(frozen=True)
class Operation:
    value: str
    label: str
    description: str
    method: str
    url: str
    send: str  # "body" or "query"
    fields: tuple[Field, ...]


def resource_label(resource: str) -> str:
    return resource.replace("_", " ").title()


def _merged_fields(search: Entry, create: Entry) -> tuple[Field, ...]:
    """The inputs of a search-or-create pair: the search's, then the create's it does not share."""
    seen = {f.key for f in search.inputs}
    return search.inputs + tuple(f for f in create.inputs if f.key not in seen)


def operations(catalog: Catalog) -> dict[str, list[Operation]]:
    """Every operation of the node, by resource (resources and operations sorted by label)."""
    by_resource: dict[str, list[Operation]] = {}
    for entry in catalog.of_kind("action"):
        op = Operation(
            entry.key,
            entry.label,
            entry.description,
            "POST",
            f"/api/actions/{entry.key}",
            "body",
            entry.inputs,
        )
        by_resource.setdefault(entry.resource, []).append(op)
    for entry in catalog.of_kind("search"):
        op = Operation(
            entry.key,
            entry.label,
            entry.description,
            "GET",
            f"/api/searches/{entry.key}",
            "query",
            entry.inputs,
        )
        by_resource.setdefault(entry.resource, []).append(op)
    for search, create in catalog.search_or_create_pairs():
        op = Operation(
            SEARCH_OR_CREATE + search.key,
            f"{search.label} or {create.label}",
            f"{search.description} When nothing is found: {create.description}",
            "POST",
            f"/api/search-or-create/{search.key}",
            "body",
            _merged_fields(search, create),
        )
        by_resource.setdefault(search.resource, []).append(op)
    return {r: sorted(ops, key=lambda o: o.label) for r, ops in sorted(by_resource.items())}


def resource_property(resources: list[str]) -> Property:
    return {
        "displayName": "Resource",
        "name": "resource",
        "type": "options",
        "noDataExpression": True,
        "options": [{"name": resource_label(r), "value": r} for r in resources],
        "default": resources[0],
    }


def operation_property(resource: str, ops: list[Operation]) -> Property:
    return {
        "displayName": "Operation",
        "name": "operation",
        "type": "options",
        "noDataExpression": True,
        "displayOptions": {"show": {"resource": [resource]}},
        "options": [
            {
                "name": op.label,
                "value": op.value,
                "action": op.label,
                "description": op.description,
                "routing": {"request": {"method": op.method, "url": op.url}},
            }
            for op in ops
        ],
        "default": ops[0].value,
    }


def field_properties(resource: str, op: Operation, catalog: Catalog) -> list[Property]:
    """The operation's required fields at the top level and its optional ones in ``additionalFields``."""
    keys = frozenset(f.key for f in op.fields)
    show = {"show": {"resource": [resource], "operation": [op.value]}}
    top: list[Property] = []
    optional: list[Property] = []
    for field in op.fields:
        prop = property_for(field, dynamic_source(field, set(keys), catalog), keys)
        send: dict[str, Any] = {"type": op.send, "property": field.key}
        value = send_value(field, prop)
        if value is not None:
            send["value"] = value
        prop["routing"] = {"send": send}
        if prop.get("required"):
            top.append({**prop, "displayOptions": show})
        else:
            optional.append(prop)
    if optional:
        top.append(additional_fields(optional, show))
    return top


def action_node(catalog: Catalog, *, version: int = 1) -> dict[str, Any]:
    """``INodeTypeDescription`` of the MemberPass Connector node."""
    ops = operations(catalog)
    properties: list[Property] = [resource_property(list(ops))]
    for resource, items in ops.items():
        properties.append(operation_property(resource, items))
        for op in items:
            properties += field_properties(resource, op, catalog)
    return {
        "displayName": "MemberPass Connector",
        "name": "memberPassConnector",
        "icon": "file:memberpass.svg",
        "group": ["transform"],
        "version": version,
        "subtitle": '={{ $parameter["operation"] + ": " + $parameter["resource"] }}',
        "description": "Run MemberPass actions and searches through the MemberPass Connector",
        "defaults": {"name": "MemberPass Connector"},
        "inputs": ["main"],
        "outputs": ["main"],
        "credentials": [{"name": CREDENTIAL, "required": True}],
        "requestDefaults": {
            "baseURL": "={{ $credentials.baseUrl.replace(/\\/+$/, '') }}",
            "headers": {"Accept": "application/json", "Content-Type": "application/json"},
            "arrayFormat": "repeat",
        },
        "properties": properties,
    }
