"""Manifest fields → Zapier input and output fields (``PlainInputFieldSchema``, ``PlainOutputFieldSchema``).

The manifest vocabulary was chosen after Zapier's, so most of this is renaming: ``help`` → ``helpText``,
a ``dynamic`` source → ``dynamic: 'choices__<source>.id.label'`` (the hidden trigger that calls
``GET /api/choices/<source>``), static ``choices`` → ``[{value, label, sample}]``. Zapier wants every
``default`` as a string (``true``, ``25``). Event triggers declare no output fields, so theirs are derived
from the sample item: one per key, typed from the value (``…_at`` strings are datetimes).
"""

from __future__ import annotations

import json
from typing import Any

from connector.export.zapier_keys import choices_key
from connector.manifests.build import label_for
from connector.manifests.model import Field, OutputField

CHOICE_LABEL = "label"  # `GET /api/choices/<source>` answers [{id, label}]


def zapier_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def input_field(field: Field, depends_on: tuple[str, ...] = ()) -> dict[str, Any]:
    """``depends_on``: the form's other inputs the field's dropdown source needs (``project_id`` for
    plans); Zapier refreshes the dropdown when they change."""
    out: dict[str, Any] = {"key": field.key, "label": field.label, "type": field.type}
    out["required"] = field.required
    if field.help:
        out["helpText"] = field.help
    if field.placeholder:
        out["placeholder"] = field.placeholder
    if field.list:
        out["list"] = True
    if field.choices:
        out["choices"] = [{"value": c.value, "label": c.label, "sample": c.value} for c in field.choices]
    if field.dynamic:
        out["dynamic"] = f"{choices_key(field.dynamic)}.id.{CHOICE_LABEL}"
        if depends_on:
            out["dependsOn"] = list(depends_on)
    if field.default is not None:
        out["default"] = zapier_default(field.default)
    return out


def output_field(field: OutputField) -> dict[str, Any]:
    """A list of objects becomes ``children`` (line items; Zapier refuses ``list`` or ``type`` with them)."""
    out: dict[str, Any] = {"key": field.key, "label": field.label}
    if field.children:
        out["children"] = [output_field(child) for child in field.children]
        return out
    if field.type is not None:
        out["type"] = field.type
    if field.list:
        out["list"] = True
    return out


def _type_of(key: str, value: Any) -> str | None:
    if key.endswith("_at") and (value is None or isinstance(value, str)):
        return "datetime"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def fields_from_sample(sample: dict[str, Any], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Output fields for an item known only by its sample (event triggers); ``labels`` overrides the
    derived label of a key. A null sample value leaves the type open."""
    fields = []
    for key, value in sample.items():
        out: dict[str, Any] = {"key": key, "label": (labels or {}).get(key) or label_for(key)}
        scalar = value[0] if isinstance(value, list) and value else value
        kind = _type_of(key, scalar)
        if kind is not None:
            out["type"] = kind
        if isinstance(value, list):
            out["list"] = True
        fields.append(out)
    return fields
