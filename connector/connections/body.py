"""Strict JSON request bodies: another declared media type (415), malformed JSON (400), a non-object, wrong
types and unknown keys (422), each error naming the field and the fix. Oversized bodies stop earlier, at
MAX_CONTENT_LENGTH (413). A body without a Content-Type is read as JSON (what a bare HTTP client sends)."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from connector.errors import InputError, UnsupportedMediaTypeError, ValidationError


def json_object() -> dict[str, Any]:
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"The request body is {mimetype}; this route reads JSON.",
            fields={"Content-Type": ["must be application/json"]},
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ValidationError(
            "The request body is empty.", fields={"body": ["is required: send a JSON object"]}
        )
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(
            "The request body is not UTF-8 text.", fields={"body": ["must be UTF-8 JSON"]}
        ) from None
    except json.JSONDecodeError as err:
        raise InputError(
            f"The request body is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}).",
            remediation="Send a JSON object with Content-Type: application/json.",
            fields={"body": ["is not valid JSON"]},
        ) from None
    if not isinstance(body, dict):
        raise ValidationError(
            "The request body must be a JSON object.", fields={"body": ["must be a JSON object"]}
        )
    return body


def load(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    """``schema.load(body)``, its errors turned into VALIDATION_FAILED with one list of messages per field."""
    try:
        data: dict[str, Any] = schema.load(body)
    except SchemaError as err:
        allowed = ", ".join(sorted(schema.fields))
        fields = {
            name: [_reword(m, allowed) for m in (msgs if isinstance(msgs, list) else [str(msgs)])]
            for name, msgs in _as_dict(err.messages).items()
        }
        raise ValidationError(
            "Invalid field(s): " + ", ".join(sorted(fields)) + ".",
            remediation="Fix the fields named in `fields` and send the request again.",
            fields=fields,
        ) from None
    return data


def _as_dict(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {"body": messages}


def _reword(message: Any, allowed: str) -> str:
    text = str(message)
    if text == "Unknown field.":
        return f"is not a known field (allowed: {allowed})"
    if text == "Missing data for required field.":
        return "is required"
    if text == "Not a valid string.":
        return "must be a string"
    return text
