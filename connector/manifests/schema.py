"""Manifest pipeline, step 2: structural checks of each raw document on its own.

Unknown keys (with a "did you mean"), missing keys, wrong types and values outside an enumeration, each
reported at its path (``entries[3].inputs[1].type``). Cross-document rules live in
:mod:`connector.manifests.checks`. Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.manifests.model import INPUT_TYPES, KINDS, METHODS, OUTPUT_TYPES, SOURCES
from connector.manifests.problems import Problem
from connector.manifests.types import input_value_fits

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
EVENT_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
SCALAR = (str, int, float, bool)
Check = Callable[[Any], str | None]  # returns what was expected when the value is wrong


@dataclass(frozen=True)
class Key:
    check: Check
    required: bool = False
    nested: Callable[[Any, str, list[Problem], str], None] | None = None  # (value, path, out, file)


# --- value checks: each returns what it expected, or None ---------------------------------------------
def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def snake(value: Any) -> str | None:
    return None if isinstance(value, str) and SNAKE.match(value) else "a snake_case name ([a-z][a-z0-9_]*)"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a mapping"


def listing(value: Any) -> str | None:
    return None if isinstance(value, list) else "a list"


def one_of(*values: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in values else "one of " + ", ".join(values)

    return check


def names(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return None if ok else "a list of strings"


def name_or_names(value: Any) -> str | None:
    ok = (isinstance(value, str) and bool(value)) or names(value) is None
    return None if ok else "a string or a list of strings"


def names_or_map(value: Any) -> str | None:
    """`body` / `query`: a list of input keys, or a map upstream_name: input_key."""
    if names(value) is None:
        return None
    ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return None if ok else "a list of input keys or a map upstream_name: input_key"


def scalar_map(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, SCALAR) for v in value.values())
    return None if ok else "a map of names to scalar values"


def choices(value: Any) -> str | None:
    if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
        return None
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        return None
    return "a non-empty list of values or a map value: label"


def anything(value: Any) -> str | None:
    return None


def path_template(value: Any) -> str | None:
    ok = isinstance(value, str) and value.startswith("/")
    return None if ok else "a path starting with / (e.g. /projects)"


# --- object walking ------------------------------------------------------------------------------------
def check_object(value: Any, spec: dict[str, Key], path: str, out: list[Problem], file: str) -> bool:
    """Check one mapping against ``spec``; False when it is not a mapping at all."""
    if not isinstance(value, dict):
        out.append(Problem(file, path, "must be a mapping.", "Write it as `key: value` pairs."))
        return False
    for key in value:
        if key not in spec:
            out.append(_unknown(file, join(path, str(key)), str(key), spec))
    for key, rule in spec.items():
        at = join(path, key)
        if key not in value:
            if rule.required:
                out.append(Problem(file, at, "is missing.", f"Add `{key}`."))
            continue
        expected = rule.check(value[key])
        if expected is not None:
            out.append(
                Problem(file, at, f"is {value[key]!r}; expected {expected}.", f"Make `{key}` {expected}.")
            )
        elif rule.nested is not None:
            rule.nested(value[key], at, out, file)
    return True


def check_list(spec: dict[str, Key]) -> Callable[[Any, str, list[Problem], str], None]:
    def walk(items: Any, path: str, out: list[Problem], file: str) -> None:
        for index, item in enumerate(items):
            check_object(item, spec, f"{path}[{index}]", out, file)

    return walk


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown(file: str, at: str, key: str, spec: dict[str, Key]) -> Problem:
    close = difflib.get_close_matches(key, list(spec), n=1)
    fix = f"Did you mean `{close[0]}`?" if close else "Remove it; allowed keys: " + ", ".join(spec) + "."
    return Problem(file, at, f"unknown key `{key}`.", fix)


# --- the specs -----------------------------------------------------------------------------------------
INPUT = {
    "key": Key(snake, required=True),
    "label": Key(text),
    "type": Key(one_of(*INPUT_TYPES), required=True),
    "required": Key(boolean),
    "list": Key(boolean),
    "choices": Key(choices),
    "dynamic": Key(snake),
    "default": Key(anything),
    "help": Key(text),
    "placeholder": Key(text),
}


def _output_fields(value: Any, path: str, out: list[Problem], file: str) -> None:
    for index, item in enumerate(value):
        at = f"{path}[{index}]"
        if check_object(item, OUTPUT_FIELD, at, out, file) and "type" not in item and "children" not in item:
            out.append(
                Problem(file, join(at, "type"), "is missing.", "Add `type` (or `children` for a list).")
            )


OUTPUT_FIELD = {
    "key": Key(text, required=True),
    "label": Key(text),
    "type": Key(one_of(*OUTPUT_TYPES)),
    "list": Key(boolean),
    "children": Key(listing, nested=_output_fields),
}
OUTPUT = {
    "root": Key(text),
    "include": Key(names),
    "fields": Key(listing, required=True, nested=_output_fields),
}
REQUEST = {
    "method": Key(one_of(*METHODS), required=True),
    "path": Key(path_template, required=True),
    "query": Key(names_or_map),
    "body": Key(names_or_map),
    "constants": Key(scalar_map),
}
FETCH = {  # `source: events`: read the current record of each event
    "method": Key(one_of("GET"), required=True),
    "path": Key(path_template, required=True),
}


def _nested(spec: dict[str, Key]) -> Callable[[Any, str, list[Problem], str], None]:
    def walk(value: Any, path: str, out: list[Problem], file: str) -> None:
        check_object(value, spec, path, out, file)

    return walk


ENTRY = {
    "key": Key(snake, required=True),
    "kind": Key(one_of(*KINDS), required=True),
    "label": Key(text, required=True),
    "description": Key(text, required=True),
    "noun": Key(text),
    "ability": Key(name_or_names, required=True),
    "source": Key(one_of(*SOURCES)),
    "request": Key(mapping, nested=_nested(REQUEST)),  # required unless `source: events`
    "fetch": Key(mapping, nested=_nested(FETCH)),
    "inputs": Key(listing, nested=check_list(INPUT)),
    "output": Key(mapping, nested=_nested(OUTPUT)),
    "sample": Key(mapping),
    "sample_input": Key(mapping),
    "events": Key(names),
    "match": Key(names_or_map),
    "require_one_of": Key(names),
    "or_create": Key(snake),
    "value": Key(text),
    "label_field": Key(text),
    "dedupe": Key(names),
    "order_by": Key(text),
}

# Which optional keys each kind needs (True) or may not carry (False); absent = optional.
KIND_RULES: dict[str, dict[str, bool]] = {
    "action": {"output": True, "sample": True, "match": False, "or_create": False, "value": False,
               "label_field": False, "dedupe": False, "order_by": False, "source": False, "fetch": False},
    "search": {"output": True, "sample": True, "value": False, "label_field": False, "dedupe": False,
               "order_by": False, "source": False, "fetch": False},
    "trigger": {"output": True, "sample": True, "dedupe": True, "order_by": True, "match": False,
                "or_create": False, "value": False, "label_field": False, "require_one_of": False},
    "choices": {"value": True, "label_field": True, "match": False, "or_create": False, "dedupe": False,
                "order_by": False, "require_one_of": False, "source": False, "fetch": False},
}  # fmt: skip
# A trigger with `source: events` reads the event feed instead of a `request` of its own.
SOURCE_RULES: dict[str, dict[str, bool]] = {
    "list": {"request": True, "fetch": False},
    "events": {"request": False, "events": True},
}

RESOURCE = {
    "resource": Key(snake, required=True),
    "noun": Key(text, required=True),
    "description": Key(text),
    "entries": Key(listing, required=True),
}
EVENT = {
    "name": Key(lambda v: None if isinstance(v, str) and EVENT_NAME.match(v) else "an event name like "
                "`plan.created`", required=True),
    "abilities": Key(names, required=True),
    "label": Key(text, required=True),
    "description": Key(text, required=True),
    "scope": Key(one_of("project", "team"), required=True),
    "sample": Key(mapping, required=True),
}  # fmt: skip
EVENTS = {"events": Key(listing, required=True, nested=check_list(EVENT))}


def check_entry(entry: Any, path: str, out: list[Problem], file: str) -> None:
    if not check_object(entry, ENTRY, path, out, file):
        return
    rules = KIND_RULES.get(entry.get("kind"), {})
    for key, needed in rules.items():
        if needed and key not in entry:
            out.append(
                Problem(file, join(path, key), f"is missing (a {entry['kind']} needs it).", f"Add `{key}`.")
            )
        elif not needed and key in entry:
            fix = f"Remove `{key}`; it belongs to another kind."
            out.append(Problem(file, join(path, key), f"is not allowed on a {entry['kind']}.", fix))
    if entry.get("kind") == "trigger":
        _check_source(entry, path, out, file)
    elif "request" not in entry:
        out.append(Problem(file, join(path, "request"), "is missing.", "Add `request`."))
    for index, field in enumerate(entry.get("inputs") or []):
        if isinstance(field, dict):
            _check_default(field, f"{path}.inputs[{index}]", out, file)


def _check_source(entry: dict[str, Any], path: str, out: list[Problem], file: str) -> None:
    """A trigger reads its own list (`request`) or, with `source: events`, the event feed (`events`, an
    optional `fetch`, no `request`)."""
    source = entry.get("source", "list")
    for key, needed in SOURCE_RULES.get(source, {}).items():
        if needed and key not in entry:
            what = "`source: events` needs it" if source == "events" else "a trigger reading a list needs it"
            out.append(Problem(file, join(path, key), f"is missing ({what}).", _SOURCE_FIX[source, key]))
        elif not needed and key in entry:
            message = (
                "is not allowed with `source: events`." if source == "events" else "needs `source: events`."
            )
            out.append(Problem(file, join(path, key), message, _SOURCE_FIX[source, key]))


_SOURCE_FIX = {
    ("list", "request"): "Add `request` (method and path), or `source: events` on a trigger.",
    ("list", "fetch"): "Add `source: events` (the trigger then reads the event feed), or remove `fetch`.",
    ("events", "request"): "Remove `request`: the event feed (GET /webhook-events) is what it reads.",
    ("events", "events"): "List the events whose changes the trigger reads (`events: [member.banned, …]`).",
}  # fmt: skip


def _check_default(field: dict[str, Any], path: str, out: list[Problem], file: str) -> None:
    if "default" not in field or field.get("type") not in INPUT_TYPES:
        return
    if not input_value_fits(field["default"], field["type"], bool(field.get("list"))):
        fix = f"Give a default of type {field['type']}{' (list)' if field.get('list') else ''}."
        out.append(
            Problem(file, join(path, "default"), f"{field['default']!r} is not a {field['type']}.", fix)
        )


def check_document(data: Any, file: str, stem: str) -> list[Problem]:
    """Structural problems of one document (a resource manifest or ``events.yaml``)."""
    out: list[Problem] = []
    if stem == "events":
        check_object(data, EVENTS, "", out, file)
        return out
    if not check_object(data, RESOURCE, "", out, file):
        return out
    if isinstance(data.get("resource"), str) and data["resource"] != stem:
        fix = f"Rename the file to {data['resource']}.yaml or set `resource: {stem}`."
        out.append(Problem(file, "resource", f"is {data['resource']!r} but the file is {file}.", fix))
    for index, entry in enumerate(data.get("entries") or []):
        check_entry(entry, f"entries[{index}]", out, file)
    return out
