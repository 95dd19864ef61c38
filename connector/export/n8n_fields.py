"""Manifest input fields → n8n node properties (``INodeProperties``), shared by the action and trigger nodes.

| Manifest input | n8n property |
|---|---|
| ``string`` / ``text`` | ``string`` (``text``: 4 rows) |
| ``integer`` / ``number`` | ``number`` (``integer``: ``numberPrecision: 0``) |
| ``boolean`` | ``boolean`` |
| ``datetime`` | ``dateTime`` |
| ``choices`` | ``options`` (``multiOptions`` for a list) |
| ``dynamic: <source>`` | ``options`` / ``multiOptions`` filled from ``GET /api/choices/<source>`` |
| ``list`` without choices | ``string``, comma-separated, sent as an array |

Required inputs are top-level properties; the others sit in one ``additionalFields`` collection per
operation, so that only what the user adds is sent (the connector treats an absent input, ``""`` and
``null`` alike, but a ``false`` or ``0`` n8n would send by default is a real value).
"""

from __future__ import annotations

from typing import Any

from connector.manifests.model import Catalog, Entry, Field

ADDITIONAL = "additionalFields"
Property = dict[str, Any]

_DEFAULTS: dict[str, Any] = {"boolean": False, "integer": 0, "number": 0}


def is_required(field: Field) -> bool:
    """Required inputs become top-level n8n properties (a required input with a default is too)."""
    return field.required


def _default(field: Field) -> Any:
    if field.default is not None:
        return field.default
    if field.list:
        return []
    if field.choices:
        return _choice_value(field, field.choices[0].value)
    return _DEFAULTS.get(field.type, "")


def _choice_value(field: Field, value: str) -> Any:
    return int(value) if field.type == "integer" else value


def _base(field: Field) -> Property:
    prop: Property = {"displayName": field.label, "name": field.key, "type": "string", "default": ""}
    if field.type == "text":
        prop["typeOptions"] = {"rows": 4}
    elif field.type in ("integer", "number"):
        prop["type"] = "number"
        if field.type == "integer":
            prop["typeOptions"] = {"numberPrecision": 0}
    elif field.type == "boolean":
        prop["type"] = "boolean"
    elif field.type == "datetime":
        prop["type"] = "dateTime"
    return prop


def choices_expression(name: str) -> str:
    """The value of input ``name`` wherever the user set it: top level or in the additional fields."""
    return f'={{{{ $parameter["{name}"] || ($parameter["{ADDITIONAL}"] || {{}})["{name}"] || "" }}}}'


def dynamic_source(field: Field, entry_keys: set[str], catalog: Catalog) -> Entry | None:
    """The choices entry behind ``field``'s dropdown, when the operation holds every input it needs."""
    source = catalog.get("choices", field.dynamic) if field.dynamic else None
    if source is None:
        return None
    needed = {i.key for i in source.inputs if i.required and i.default is None}
    return source if needed <= entry_keys else None


def load_options(source: Entry, entry_keys: set[str]) -> dict[str, Any]:
    """Declarative ``loadOptions``: ``GET /api/choices/<source>`` → ``{name: label, value: id}``, sorted."""
    inputs = [i.key for i in source.inputs if i.key in entry_keys]
    request: dict[str, Any] = {"method": "GET", "url": f"/api/choices/{source.key}"}
    if inputs:
        request["qs"] = {name: choices_expression(name) for name in inputs}
    options: dict[str, Any] = {
        "loadOptions": {
            "routing": {
                "request": request,
                "output": {
                    "postReceive": [
                        {
                            "type": "setKeyValue",
                            "properties": {
                                "name": "={{ $responseItem.label }}",
                                "value": "={{ $responseItem.id }}",
                            },
                        },
                        {"type": "sort", "properties": {"key": "name"}},
                    ]
                },
            }
        }
    }
    if inputs:
        options["loadOptionsDependsOn"] = inputs
    return options


def property_for(
    field: Field, source: Entry | None = None, entry_keys: frozenset[str] = frozenset()
) -> Property:
    """The n8n property of one input (no routing, no displayOptions)."""
    prop = _base(field)
    if field.choices:
        prop["type"] = "multiOptions" if field.list else "options"
        prop["options"] = [{"name": c.label, "value": _choice_value(field, c.value)} for c in field.choices]
    elif source is not None:
        prop["type"] = "multiOptions" if field.list else "options"
        prop["typeOptions"] = load_options(source, set(entry_keys))
    elif field.list:
        prop["placeholder"] = "first, second"
        prop["hint"] = "Several values, separated by commas."
    prop["default"] = _default(field)
    description = field.help or ("Choose from the list, or give an ID with an expression." if source else "")
    if description:
        prop["description"] = description
    if field.placeholder:
        prop["placeholder"] = field.placeholder
    if is_required(field):
        prop["required"] = True
    return prop


def send_value(field: Field, prop: Property) -> str | None:
    """A list input typed as comma-separated text is split into an array before sending."""
    if not field.list or prop["type"] != "string":
        return None
    convert = ".map(Number)" if field.type in ("integer", "number") else ""
    return f'={{{{ String($value).split(",").map(s => s.trim()).filter(s => s){convert} }}}}'


def additional_fields(optional: list[Property], show: dict[str, Any]) -> Property:
    """The "Additional Fields" collection that holds an operation's optional inputs, sorted by label."""
    return {
        "displayName": "Additional Fields",
        "name": ADDITIONAL,
        "type": "collection",
        "placeholder": "Add Field",
        "default": {},
        "displayOptions": show,
        "options": sorted(optional, key=lambda p: p["displayName"]),
    }
