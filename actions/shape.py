"""Result shaping: MemberPass records → the flat, predictable objects Zapier and n8n users expect.

Rules (also in manifests/FORMAT.md):
- nested objects are flattened with ``__``: ``{"counts": {"plans": 3}}`` → ``{"counts__plans": 3}``; every
  id stays where it is (``id``, ``bot__id``);
- a nested object that is null stays a null under its own key, unless the manifest declares fields
  under it: then each declared ``key__…`` field is present as null instead;
- an empty object contributes no keys;
- lists of scalars are kept as lists; lists of objects are kept as lists, each object flattened the same
  way (Zapier shows them as line items; index keys such as ``key__0__field`` would change with the data);
- every declared output field is present (null when MemberPass left it out);
- each record gets the upstream ``request_id`` of the call that produced it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connector.manifests.model import Output, OutputField

SEPARATOR = "__"


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + SEPARATOR))
        elif isinstance(value, list):
            flat[name] = [flatten(v) if isinstance(v, dict) else v for v in value]
        else:
            flat[name] = value
    return flat


def fill_declared(flat: dict[str, Any], fields: Iterable[OutputField]) -> dict[str, Any]:
    """Every declared field present; a null parent replaced by nulls for its declared children."""
    for field in fields:
        if field.key in flat:
            continue
        parent = _null_parent(flat, field.key)
        if parent is not None:
            del flat[parent]
        flat[field.key] = None
    return flat


def _null_parent(flat: dict[str, Any], key: str) -> str | None:
    parts = key.split(SEPARATOR)
    for end in range(len(parts) - 1, 0, -1):
        parent = SEPARATOR.join(parts[:end])
        if parent in flat and flat[parent] is None:
            return parent
    return None


def dig(body: Any, root: str | None) -> Any:
    """The value at a dotted ``root`` (``data``, ``data.items``); the whole body when root is None."""
    value = body
    for part in (root or "").split("."):
        if not part:
            continue
        value = value.get(part) if isinstance(value, dict) else None
    return value


def records(body: Any, output: Output | None) -> list[dict[str, Any]]:
    """The raw records an answer holds: the list at ``root``, or the single object there, each with the
    ``include`` values of the answer added."""
    value = dig(body, output.root if output else None)
    found = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else [value]
    found = [v for v in found if isinstance(v, dict)]
    extra = {path.rsplit(".", 1)[-1]: dig(body, path) for path in (output.include if output else ())}
    return [{**record, **extra} for record in found] if extra else found


def shape(record: dict[str, Any], output: Output | None, request_id: str | None) -> dict[str, Any]:
    flat = flatten(record)
    if output is not None:
        fill_declared(flat, output.fields)
    flat["request_id"] = request_id
    return flat


def shape_all(body: Any, output: Output | None, request_id: str | None) -> list[dict[str, Any]]:
    return [shape(r, output, request_id) for r in records(body, output)]
