"""Does a value fit a manifest field type? Shared by the loader (defaults, samples) and the contract test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.manifests.model import OutputField


def is_datetime(value: Any) -> bool:
    """ISO 8601 date or date-time (``2026-05-18``, ``2026-05-18T10:05:00Z``)."""
    if not isinstance(value, str) or len(value) < 10:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def scalar_fits(value: Any, type_name: str) -> bool:
    if type_name in ("string", "text"):
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "datetime":
        return is_datetime(value)
    return False


def input_value_fits(value: Any, type_name: str, is_list: bool) -> bool:
    if is_list:
        return isinstance(value, list) and all(scalar_fits(v, type_name) for v in value)
    return scalar_fits(value, type_name)


def output_mismatch(value: Any, field: OutputField) -> str | None:
    """None when ``value`` fits ``field`` (null always fits); otherwise what was expected."""
    if value is None:
        return None
    if field.children:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return "a list of objects"
        for item in value:
            for child in field.children:
                problem = output_mismatch(item.get(child.key), child)
                if problem:
                    return f"items whose `{child.key}` is {problem}"
        return None
    assert field.type is not None
    if field.list:
        ok = isinstance(value, list) and all(scalar_fits(v, field.type) for v in value)
        return None if ok else f"a list of {field.type}"
    return None if scalar_fits(value, field.type) else f"a {field.type}"
