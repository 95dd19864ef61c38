"""Input validation: a marshmallow 4 schema built from an entry's inputs with ``Schema.from_dict``.

Decisions:
- unknown keys are refused (``RAISE``), each named with the inputs the entry does take;
- like Zapier's ``cleanInputData``, ``null`` and ``""`` count as "not given" (so a required input sent
  empty is reported as missing, and an optional one is simply left out);
- types are lenient where workflow tools send text: ``"5"`` is a valid integer, ``"true"`` a boolean;
  ``5.5`` is not an integer and ``"abc"`` not a number. A ``list`` input also takes a single value;
- ``choices`` are enforced; ``default`` fills an input that was not given;
- ``require_one_of`` needs at least one of the inputs it names.
Every problem lands in one 422 ``VALIDATION_FAILED`` whose ``fields`` name each input and what it expects.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from connector.errors import ValidationError
from connector.manifests.model import Entry, Field
from connector.manifests.types import is_datetime

EXPECTED = {
    "string": "a string",
    "text": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "datetime": "an ISO 8601 date-time such as 2026-05-18T10:05:00Z",
}


class SingleOrList(fields.List):
    """A list that also accepts one bare value (Zapier sends a single item for a one-element list)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        return super()._deserialize(value if isinstance(value, list) else [value], attr, data, **kwargs)


class WholeNumber(fields.Integer):
    """An integer, or text or a float holding one exactly (``"5"``, ``5.0``); never ``5.5``."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        if isinstance(value, str) and not re.fullmatch(r"\s*-?\d+\s*", value):
            raise self.make_error("invalid", input=value)
        return int(super()._validated(value))


def _datetime(value: str) -> None:
    if not is_datetime(value):
        raise MarshmallowError(f"Expected {EXPECTED['datetime']}.")


def _scalar(field: Field, **kwargs: Any) -> fields.Field:
    kwargs["error_messages"] = {"invalid": f"Expected {EXPECTED[field.type]}.", "required": "Required."}
    choices = [c.value for c in field.choices]
    if field.type == "integer":
        values: list[Any] = [int(c) for c in choices if c.lstrip("-").isdigit()]
        return WholeNumber(validate=_one_of(values), **kwargs)
    if field.type == "number":
        return fields.Float(allow_nan=False, **kwargs)
    if field.type == "boolean":
        return fields.Boolean(**kwargs)
    validators = [_datetime] if field.type == "datetime" else []
    if choices:
        validators.append(_one_of(choices))
    return fields.String(validate=validators, **kwargs)


def _one_of(values: list[Any]) -> Any:
    if not values:
        return None
    shown = ", ".join(str(v) for v in values)
    return validate.OneOf(values, error=f"Expected one of: {shown}.")


def build_field(field: Field) -> fields.Field:
    """The marshmallow field of one input (required, default and choices included)."""
    kwargs: dict[str, Any] = {"required": field.required and field.default is None}
    if field.default is not None:  # a required input with a default is never missing
        kwargs["load_default"] = field.default
    if not field.list:
        return _scalar(field, **kwargs)
    invalid = f"Expected a list of {EXPECTED[field.type]}."
    kwargs["error_messages"] = {"invalid": invalid, "required": "Required."}
    return SingleOrList(_scalar(field), **kwargs)


_schemas: dict[int, tuple[Entry, Schema]] = {}


def schema_for(entry: Entry) -> Schema:
    """The entry's input schema, built once: a marshmallow schema holds no per-load state, so one instance
    serves every call (building one costs more than loading a body with it)."""
    cached = _schemas.get(id(entry))
    if cached is None or cached[0] is not entry:
        cls = Schema.from_dict({f.key: build_field(f) for f in entry.inputs}, name=f"{entry.key}_input")
        cached = _schemas[id(entry)] = (entry, cls(unknown=RAISE))
    return cached[1]


def clean(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if v is not None and v != ""}


def load_input(entry: Entry, raw: Any) -> dict[str, Any]:
    """Validated input of ``entry`` from a JSON object or query arguments; raises a 422 naming each field."""
    if not isinstance(raw, dict):
        raise ValidationError(
            "The input must be a JSON object.", fields={"body": ["Expected a JSON object."]}
        )
    try:
        values: dict[str, Any] = schema_for(entry).load(clean(raw))
    except MarshmallowError as err:
        raise _error(entry, err.normalized_messages()) from None
    missing = [k for k in entry.require_one_of if values.get(k) in (None, "", [])]
    if entry.require_one_of and len(missing) == len(entry.require_one_of):
        need = " or ".join(entry.require_one_of)
        raise _error(entry, {k: [f"Give {need}."] for k in entry.require_one_of})
    return values


def unknown_input_error(what: str, unknown: list[str], known: list[str]) -> ValidationError:
    takes = ", ".join(known) or "none"
    return ValidationError(
        f"{len(unknown)} input(s) of {what} are invalid: {', '.join(sorted(unknown))}.",
        fields={k: [f"Unknown input; {what} takes: {takes}."] for k in unknown},
        remediation="Fix the inputs named in `fields` and send the request again.",
    )


def _error(entry: Entry, messages: dict[str, Any]) -> ValidationError:
    known = ", ".join(f.key for f in entry.inputs) or "none"
    problems: dict[str, list[str]] = {}
    for key, found in messages.items():
        texts = _flatten_messages(found)
        if texts == ["Unknown field."]:
            texts = [f"Unknown input; {entry.key} takes: {known}."]
        problems[key] = texts
    named = ", ".join(sorted(problems))
    return ValidationError(
        f"{len(problems)} input(s) of {entry.key} are invalid: {named}.",
        fields=problems,
        remediation="Fix the inputs named in `fields` and send the request again.",
    )


def _flatten_messages(found: Any) -> list[str]:
    """marshmallow nests list-item errors as {index: [msg]}; flatten to "item 2: msg"."""
    if isinstance(found, list):
        return [str(m) for m in found]
    if isinstance(found, dict):
        return [f"item {i}: {m}" for i, msgs in found.items() for m in _flatten_messages(msgs)]
    return [str(found)]
