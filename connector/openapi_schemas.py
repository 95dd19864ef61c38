"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of manifest fields, shaped records and error responses.

Inputs follow what the connector accepts (``actions.schemas``): optional inputs may be ``null``, which counts
as "not given"; lists are arrays; ``choices`` are enums; datetimes are ISO 8601 strings. Outputs follow the
shaping rules (``actions.shape``): every declared field is present and may be ``null``, each record carries
``request_id``, and fields MemberPass adds beyond the declared ones are allowed.
"""

from __future__ import annotations

from typing import Any

from connector.manifests.model import REQUEST_ID_FIELD, Field, OutputField

Schema = dict[str, Any]

_INPUT_TYPES = {
    "string": "string",
    "text": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "datetime": "string",
}
_OUTPUT_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "datetime": "string",
}

ERROR_STATUSES = {
    400: "The request is malformed (not JSON, not UTF-8, a bad header).",
    401: "No valid connection key (or, for a pasted token, MemberPass does not accept it).",
    403: "The MemberPass token lacks an ability this needs (`context.required_ability`), or the CSRF check "
    "failed.",
    404: "Unknown key, id or route, or a record outside the connection's team and projects.",
    405: "The route exists but not with this method.",
    409: "Conflict: the same Idempotency-Key is still running, or the record is already in that state.",
    413: "The body is larger than CONNECTOR_MAX_BODY_BYTES.",
    415: "The body is not declared as JSON: send Content-Type: application/json.",
    422: "Validation failed: `fields` names each invalid input and what it expects.",
    429: "MemberPass rate limit: retry after `Retry-After` seconds.",
    500: "Internal error (MemberPass or the connector).",
    502: "MemberPass could not be reached, or answered something unusable.",
    503: "MemberPass is unavailable: retry after `Retry-After` seconds.",
    504: "MemberPass did not answer within the time budget.",
}
RETRY_AFTER_STATUSES = (409, 429, 502, 503)


def input_schema(field: Field, *, nullable: bool = True) -> Schema:
    """The schema of one input value; an optional one may be ``null`` in a JSON body ("not given")."""
    scalar: Schema = {"type": _INPUT_TYPES[field.type]}
    if field.type == "datetime":
        scalar["format"] = "date-time"
    if field.choices:
        scalar["enum"] = [int(c.value) if field.type == "integer" else c.value for c in field.choices]
    schema: Schema = {"type": "array", "items": scalar} if field.list else dict(scalar)
    if nullable and not field.required:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if field.default is not None:
        schema["default"] = field.default
    if field.help or field.label:
        schema["description"] = field.help or field.label
    return schema


def body_schema(fields: tuple[Field, ...]) -> Schema:
    """A JSON object of these inputs; unknown keys are refused."""
    required = [f.key for f in fields if f.required and f.default is None]
    schema: Schema = {
        "type": "object",
        "properties": {f.key: input_schema(f) for f in fields},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def query_parameters(fields: tuple[Field, ...]) -> list[Schema]:
    """Inputs as query arguments; a list repeats its name (``plan_ids=a&plan_ids=b``)."""
    params = []
    for field in fields:
        param: Schema = {
            "name": field.key,
            "in": "query",
            "required": field.required and field.default is None,
            "schema": input_schema(field, nullable=False),
        }
        if field.list:
            param.update(style="form", explode=True)
        params.append(param)
    return params


def output_schema(field: OutputField) -> Schema:
    """A shaped value: nullable, a list of scalars, or a list of flattened objects (``children``)."""
    if field.children:
        return {"type": ["array", "null"], "items": record_schema(field.children, with_request_id=False)}
    json_type = _OUTPUT_TYPES[field.type or "string"]
    if field.list:
        return {"type": ["array", "null"], "items": {"type": json_type}}
    return {"type": [json_type, "null"], "description": field.label}


def record_schema(fields: tuple[OutputField, ...], *, with_request_id: bool = True) -> Schema:
    """One shaped record: every declared field present (perhaps null), undeclared ones allowed."""
    declared = (*fields, REQUEST_ID_FIELD) if with_request_id else fields
    return {
        "type": "object",
        "properties": {f.key: output_schema(f) for f in declared},
        "required": [f.key for f in declared],
        "additionalProperties": True,
    }


def ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def ok(description: str, schema: Schema, *, headers: Schema | None = None) -> Schema:
    response: Schema = {"description": description, "content": json_content(schema)}
    if headers:
        response["headers"] = headers
    return response


def errors(*statuses: int) -> dict[str, Schema]:
    """References to the shared error responses (the envelope) for these statuses."""
    return {str(s): ref(f"Error{s}", "responses") for s in statuses}


def error_components() -> tuple[dict[str, Schema], dict[str, Schema]]:
    """``(schemas, responses)``: the error envelope and one response per status that uses it."""
    envelope = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "remediation", "docs_url", "request_id"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, machine-readable code."},
                    "message": {"type": "string"},
                    "remediation": {"type": "string", "description": "What to do next."},
                    "docs_url": {"type": "string"},
                    "request_id": {"type": ["string", "null"]},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                    "context": {"type": "object"},
                },
            }
        },
    }
    responses = {}
    for status, text in ERROR_STATUSES.items():
        response: Schema = {"description": text, "content": json_content(ref("Error"))}
        if status in RETRY_AFTER_STATUSES:
            response["headers"] = {"Retry-After": ref("RetryAfter", "headers")}
        responses[f"Error{status}"] = response
    return {"Error": envelope}, responses
