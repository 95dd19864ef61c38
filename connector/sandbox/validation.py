"""Field validation as documented, reported as VALIDATION_FAILED with one entry per bad field.

A spec maps field name → :class:`Field`. Unknown body keys are ignored, as MemberPass (Laravel) does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.sandbox.errors import invalid

_MISSING = object()


@dataclass(frozen=True)
class Field:
    kind: str = "string"  # string, int, decimal, bool, list, url, object
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False


def _check(name: str, spec: Field, value: Any) -> tuple[Any, str | None]:
    if value is None:
        return (
            (None, None) if spec.nullable or not spec.required else (None, f"The {name} field is required.")
        )
    kind = spec.kind
    if kind in ("string", "url"):
        if not isinstance(value, str):
            return None, f"The {name} field must be a string."
        if spec.min_len is not None and len(value) < spec.min_len:
            return None, f"The {name} field must be at least {spec.min_len} characters."
        if spec.max_len is not None and len(value) > spec.max_len:
            return None, f"The {name} field must not be greater than {spec.max_len} characters."
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            return None, f"The {name} field format is invalid."
        if kind == "url" and not re.match(r"^https?://[^\s/]+", value):
            return None, f"The {name} field must be a valid URL."
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"The {name} field must be an integer."
    elif kind == "decimal":
        if isinstance(value, bool):
            return None, f"The {name} field must be a number."
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            return None, f"The {name} field must be a number."
        if not value.is_finite():
            return None, f"The {name} field must be a number."
    elif kind == "bool":
        if not isinstance(value, bool):
            return None, f"The {name} field must be true or false."
    elif kind == "list":
        if not isinstance(value, list):
            return None, f"The {name} field must be an array."
        if spec.min_len is not None and len(value) < spec.min_len:
            return None, f"The {name} field must have at least {spec.min_len} items."
    elif kind == "object" and not isinstance(value, dict):
        return None, f"The {name} field must be an object."
    if spec.choices is not None and value not in spec.choices:
        return None, f"The selected {name} is invalid; expected one of: {', '.join(spec.choices)}."
    if spec.minimum is not None and isinstance(value, int | float | Decimal) and value < spec.minimum:
        return None, f"The {name} field must be at least {spec.minimum:g}."
    if spec.maximum is not None and isinstance(value, int | float | Decimal) and value > spec.maximum:
        return None, f"The {name} field must not be greater than {spec.maximum:g}."
    return value, None


def validate(body: dict[str, Any], spec: dict[str, Field], *, partial: bool = False) -> dict[str, Any]:
    """Return the known fields of ``body``, checked; raise VALIDATION_FAILED naming every bad field.

    With ``partial`` (PATCH), absent fields are not required.
    """
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, rule in spec.items():
        value = body.get(name, _MISSING)
        if value is _MISSING:
            if rule.required and not partial:
                errors[name] = [f"The {name} field is required."]
            continue
        checked, problem = _check(name, rule, value)
        if problem:
            errors[name] = [problem]
        else:
            clean[name] = checked
    if errors:
        raise invalid(errors)
    return clean


def money(value: Decimal | float | int | str) -> str:
    """Decimal string in major units with two places (C17)."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"
