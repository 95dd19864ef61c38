"""Manifest pipeline, step 3: structurally sound raw entries → model objects (defaults resolved).

Runs only on entries :mod:`connector.manifests.schema` accepted, so it may trust shapes and types.
"""

from __future__ import annotations

from typing import Any

from connector.manifests.model import (
    CHANGE_FIELDS,
    FEED_PATH,
    Choice,
    Entry,
    Event,
    Field,
    Output,
    OutputField,
    Request,
    path_variables,
)

# Words written in upper case in derived labels (`project_id` → "Project ID").
_UPPER = {"id", "url", "ip", "ips", "mrr", "usd", "api"}


def label_for(key: str) -> str:
    """A display label derived from a key: ``billing_cycle_count`` → "Billing Cycle Count"."""
    words = key.replace("__", " ").replace("_", " ").split()
    return " ".join(w.upper() if w in _UPPER else w.capitalize() for w in words)


def pairs(value: list[str] | dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """`[a, b]` → ((a, a), (b, b)); `{upstream: input}` → ((upstream, input), …)."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple((name, name) for name in value)
    return tuple(value.items())


def abilities(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def build_choices(value: list[Any] | dict[str, str] | None) -> tuple[Choice, ...]:
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(Choice(str(k), v) for k, v in value.items())
    return tuple(Choice(str(v), str(v)) for v in value)


def build_input(raw: dict[str, Any]) -> Field:
    return Field(
        key=raw["key"],
        label=raw.get("label") or label_for(raw["key"]),
        type=raw["type"],
        required=bool(raw.get("required", False)),
        list=bool(raw.get("list", False)),
        choices=build_choices(raw.get("choices")),
        dynamic=raw.get("dynamic"),
        default=raw.get("default"),
        help=raw.get("help", ""),
        placeholder=raw.get("placeholder", ""),
    )


def build_output_field(raw: dict[str, Any]) -> OutputField:
    children = tuple(build_output_field(c) for c in raw.get("children") or [])
    return OutputField(
        key=raw["key"],
        label=raw.get("label") or label_for(raw["key"]),
        type=raw.get("type"),
        list=bool(raw.get("list", False)) or bool(children),
        children=children,
    )


def build_output(raw: dict[str, Any]) -> Output:
    fields = tuple(build_output_field(f) for f in raw["fields"])
    return Output(raw.get("root"), fields, tuple(raw.get("include") or ()))


def build_request(raw: dict[str, Any], inputs: tuple[Field, ...]) -> Request:
    """Inputs not sent in the path go to the query of a GET and to the body of other methods, unless
    `query` / `body` say otherwise; `constants` join the query of a GET and the body of others."""
    method = raw["method"]
    query, body = pairs(raw.get("query")), pairs(raw.get("body"))
    if "query" not in raw and "body" not in raw:
        rest = tuple((f.key, f.key) for f in inputs if f.key not in path_variables(raw["path"]))
        query, body = (rest, ()) if method == "GET" else ((), rest)
    return Request(
        method=method,
        path=raw["path"],
        query=query,
        body=body,
        constants=tuple((raw.get("constants") or {}).items()),
    )


def feed_request(inputs: tuple[Field, ...], events: tuple[str, ...]) -> Request:
    """`source: events`: ``GET /webhook-events?type=<events, comma-separated>&project_id=…``; only a
    `project_id` input goes to the feed (the others are `fetch` path variables)."""
    query = (("project_id", "project_id"),) if any(f.key == "project_id" for f in inputs) else ()
    return Request(method="GET", path=FEED_PATH, query=query, constants=(("type", ",".join(events)),))


def change_output(output: Output) -> Output:
    """A `source: events` trigger's items: the record's declared fields, then the change fields (unless the
    manifest declared them itself)."""
    declared = {f.key for f in output.fields}
    added = tuple(f for f in CHANGE_FIELDS if f.key not in declared)
    return Output(output.root, output.fields + added, output.include)


def build_entry(raw: dict[str, Any], resource: str, noun: str, file: str, position: int) -> Entry:
    inputs = tuple(build_input(f) for f in raw.get("inputs") or [])
    output = None if raw.get("output") is None else build_output(raw["output"])
    events = tuple(raw.get("events") or ())
    reads = raw.get("source", "list")
    if reads == "events":
        request = feed_request(inputs, events)
        output = None if output is None else change_output(output)
    else:
        request = build_request(raw["request"], inputs)
    fetch = raw.get("fetch")
    return Entry(
        key=raw["key"],
        kind=raw["kind"],
        resource=resource,
        noun=raw.get("noun") or noun,
        label=raw["label"],
        description=raw["description"],
        abilities=abilities(raw["ability"]),
        request=request,
        inputs=inputs,
        output=output,
        sample=raw.get("sample"),
        sample_input=dict(raw.get("sample_input") or {}),
        events=events,
        match=pairs(raw.get("match")),
        require_one_of=tuple(raw.get("require_one_of") or ()),
        or_create=raw.get("or_create"),
        value=raw.get("value"),
        label_field=raw.get("label_field"),
        dedupe=tuple(raw.get("dedupe") or ()),
        order_by=raw.get("order_by"),
        reads=reads,
        fetch=None if fetch is None else Request(method=fetch["method"], path=fetch["path"]),
        source=file,
        position=position,
    )


def build_event(raw: dict[str, Any]) -> Event:
    return Event(
        name=raw["name"],
        abilities=tuple(raw["abilities"]),
        label=raw["label"],
        description=raw["description"],
        scope=raw["scope"],
        sample=raw["sample"],
    )
