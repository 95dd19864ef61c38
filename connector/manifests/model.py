"""The built catalog: frozen dataclasses, made once from validated manifests and shared read-only.

Nothing here parses YAML or checks anything; :mod:`connector.manifests.build` fills these from documents
that :mod:`connector.manifests.schema` and :mod:`connector.manifests.checks` have already accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("action", "search", "trigger", "choices")
INPUT_TYPES = ("string", "text", "integer", "number", "boolean", "datetime")
OUTPUT_TYPES = ("string", "number", "integer", "boolean", "datetime")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PATH_VARIABLE = re.compile(r"\{([^{}]*)\}")


def path_variables(path: str) -> tuple[str, ...]:
    """The ``{name}`` variables of a path template, in order."""
    return tuple(PATH_VARIABLE.findall(path))


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """An input field, in Zapier's vocabulary (`PlainInputFieldSchema`)."""

    key: str
    label: str
    type: str = "string"
    required: bool = False
    list: bool = False
    choices: tuple[Choice, ...] = ()
    dynamic: str | None = None
    default: Any = None
    help: str = ""
    placeholder: str = ""

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        out["required"] = self.required
        if self.list:
            out["list"] = True
        if self.choices:
            out["choices"] = [{"value": c.value, "label": c.label} for c in self.choices]
        for name in ("dynamic", "default"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        for name in ("help", "placeholder"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class OutputField:
    """An output field (`PlainOutputFieldSchema`); ``children`` describe the items of a list of objects."""

    key: str
    label: str
    type: str | None = "string"
    list: bool = False
    children: tuple[OutputField, ...] = ()

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label}
        if self.type is not None:
            out["type"] = self.type
        if self.list:
            out["list"] = True
        if self.children:
            out["children"] = [child.public() for child in self.children]
        return out


REQUEST_ID_FIELD = OutputField("request_id", "MemberPass Request ID")  # added to every shaped record

# What a trigger reads: its own list (`request`), or the event feed (`source: events`).
SOURCES = ("list", "events")
FEED_PATH = "/webhook-events"
FEED_ABILITY = "webhook-endpoint:manage"
# Every item of a `source: events` trigger carries these, after the record's own fields (build appends
# them to `output.fields`); the item id is `<record id>:<event id>` with `dedupe: [id, event_id]`.
CHANGE_FIELDS = (
    OutputField("event_type", "Event Type", "string"),
    OutputField("event_id", "Event ID", "string"),
    OutputField("changed_at", "Changed At", "datetime"),
)
CHANGE_ORDER_BY = "changed_at"
CHANGE_KEY = "event_id"


@dataclass(frozen=True)
class Request:
    """Where an entry's inputs go: ``path`` variables by name, ``query`` and ``body`` as
    (upstream name, input key) pairs."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, str], ...] = ()
    constants: tuple[tuple[str, Any], ...] = ()

    @property
    def path_vars(self) -> tuple[str, ...]:
        return path_variables(self.path)


@dataclass(frozen=True)
class Output:
    """``root``: dotted path to the record (or list of records) in the answer; ``include``: dotted paths
    outside it whose values join each record under their last segment (`secret` beside `data`)."""

    root: str | None
    fields: tuple[OutputField, ...]
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str
    resource: str
    noun: str
    label: str
    description: str
    abilities: tuple[str, ...]
    request: Request
    inputs: tuple[Field, ...] = ()
    output: Output | None = None
    sample: dict[str, Any] | None = None
    sample_input: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    match: tuple[tuple[str, str], ...] = ()
    require_one_of: tuple[str, ...] = ()
    or_create: str | None = None
    value: str | None = None
    label_field: str | None = None
    dedupe: tuple[str, ...] = ()
    order_by: str | None = None
    reads: str = "list"  # the manifest's `source`: "list" (``request``) or "events" (the event feed)
    fetch: Request | None = None  # `source: events`: the current record, per event
    source: str = ""  # the manifest file
    position: int = 0

    @property
    def where(self) -> str:
        """Path of this entry inside its file, for problem reports."""
        return f"entries[{self.position}]"

    def input(self, key: str) -> Field | None:
        return next((f for f in self.inputs if f.key == key), None)

    @property
    def reads_events(self) -> bool:
        """A trigger whose changes come from the event feed (`source: events`)."""
        return self.reads == "events"

    def public(self) -> dict[str, Any]:
        """The entry as ``GET /api/catalog`` shows it."""
        out: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "noun": self.noun,
            "label": self.label,
            "description": self.description,
            "ability": list(self.abilities),
            "fields": [f.public() for f in self.inputs],
        }
        if self.output is not None:
            out["output_fields"] = [f.public() for f in (*self.output.fields, REQUEST_ID_FIELD)]
        if self.sample is not None:
            out["sample"] = self.sample
        if self.or_create:
            out["or_create"] = self.or_create
        if self.events:
            out["events"] = list(self.events)
        if self.kind == "trigger":
            out["dedupe"] = list(self.dedupe)
            out["order_by"] = self.order_by
            out["source"] = self.reads
        return out


@dataclass(frozen=True)
class Event:
    """One MemberPass webhook event: an instant trigger whose key is the event name."""

    name: str
    abilities: tuple[str, ...]
    label: str
    description: str
    scope: str
    sample: dict[str, Any]

    def public(self) -> dict[str, Any]:
        return {
            "key": self.name,
            "kind": "trigger",
            "event": self.name,
            "noun": "Event",
            "label": self.label,
            "description": self.description,
            "ability": [FEED_ABILITY, *self.abilities],
            "scope": self.scope,
            "fields": [] if self.scope == "team" else [_EVENT_PROJECT_INPUT.public()],
            "sample": self.sample,
        }


_EVENT_PROJECT_INPUT = Field(
    key="project_id",
    label="Project",
    dynamic="projects",
    help="Only events of this project; leave empty for every project of the team.",
)


@dataclass(frozen=True)
class Catalog:
    entries: dict[str, Entry]
    events: dict[str, Event]

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == kind]

    def get(self, kind: str, key: str) -> Entry | None:
        entry = self.entries.get(key)
        return entry if entry is not None and entry.kind == kind else None

    def search_or_create_pairs(self) -> list[tuple[Entry, Entry]]:
        return [(s, self.entries[s.or_create]) for s in self.of_kind("search") if s.or_create]

    def counts(self) -> dict[str, int]:
        list_triggers = len(self.of_kind("trigger"))
        return {
            "actions": len(self.of_kind("action")),
            "searches": len(self.of_kind("search")),
            "search_or_create": len(self.search_or_create_pairs()),
            "choices": len(self.of_kind("choices")),
            "list_triggers": list_triggers,
            "event_triggers": len(self.events),
            "triggers": list_triggers + len(self.events),
        }

    def public(self) -> dict[str, list[dict[str, Any]]]:
        """``GET /api/catalog``: every trigger (event triggers first), action, search and choices source."""
        return {
            "triggers": [e.public() for e in self.events.values()]
            + [e.public() for e in self.of_kind("trigger")],
            "actions": [e.public() for e in self.of_kind("action")],
            "searches": [e.public() for e in self.of_kind("search")],
            "choices": [e.public() for e in self.of_kind("choices")],
        }
