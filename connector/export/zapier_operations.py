"""One Zapier operation per catalog entry, as plain data for the JS factories of ``lib/operations.js``.

| Catalog | Zapier | Factory |
|---|---|---|
| list-backed trigger (``new_member``) | polling trigger | ``pollingTrigger`` |
| event (``subscription.created``) | REST-hook trigger ``subscription__created`` | ``hookTrigger`` |
| choices source (``plans``) | hidden trigger ``choices__plans`` (dropdowns) | ``dropdownTrigger`` |
| action | create | ``create`` |
| search (``or_create`` pairs → ``searchOrCreates``) | search | ``search`` |

Each definition carries ``connectorKey``, the key in the connector's URLs, so the mapping of
:mod:`connector.export.zapier_keys` is also written into every module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actions.shape import flatten
from connector.export.zapier_fields import fields_from_sample, input_field, output_field
from connector.export.zapier_keys import choices_key, event_key
from connector.manifests import Catalog, Entry, Event
from connector.manifests.build import label_for
from connector.manifests.model import REQUEST_ID_FIELD, Choice, Field

SAMPLE_EVENT_ID = "evt_01HX9QK0L1M2N3P4Q5R6S7T8V9"
SAMPLE_PROJECT_ID = "prj_01HX9Q3V8R4T6Y2B5N7M1K0ZJC"
SAMPLE_TIME = "2026-05-18T10:05:00Z"
API_VERSION = "2026-05-01"  # the webhook envelope's contract date (memberpass-v1 contract.md)
SAMPLE_REQUEST_ID = "req_01HX9QP4Q5R6S7T8V9W0X1Y2Z3"  # every shaped record carries the upstream request id


@dataclass(frozen=True)
class Operation:
    group: str  # triggers | creates | searches
    key: str
    factory: str
    definition: dict[str, Any]
    source: str

    @property
    def module(self) -> str:
        return f"{self.group}/{self.key}.js"


def operations(catalog: Catalog) -> list[Operation]:
    """Every operation of the app, in catalog order: triggers (list-backed, events, dropdowns), creates,
    searches."""
    ops = [_polling_trigger(catalog, e) for e in catalog.of_kind("trigger")]
    taken = {e.label for e in catalog.of_kind("trigger")}
    ops += [_hook_trigger(catalog, event, taken) for event in catalog.events.values()]
    ops += [_dropdown_trigger(e) for e in catalog.of_kind("choices")]
    ops += [_entry_operation(catalog, e, "creates", "create") for e in catalog.of_kind("action")]
    ops += [_entry_operation(catalog, e, "searches", "search") for e in catalog.of_kind("search")]
    return ops


def search_or_creates(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """``searchOrCreates``, keyed by the search's key as Zapier requires."""
    pairs = {}
    for found, create in catalog.search_or_create_pairs():
        pairs[found.key] = {
            "key": found.key,
            "display": {
                "label": f"Find or Create {found.noun}"[:64],
                "description": f"{found.description} When nothing matches, {create.label.lower()}.",
            },
            "search": found.key,
            "create": create.key,
        }
    return pairs


def _inputs(catalog: Catalog, fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    present = {f.key for f in fields}
    out = []
    for field in fields:
        source = catalog.get("choices", field.dynamic) if field.dynamic else None
        needs = (
            tuple(f.key for f in source.inputs if f.key in present and f.key != field.key) if source else ()
        )
        out.append(input_field(field, needs))
    return out


def _outputs(entry: Entry, extra: tuple[dict[str, Any], ...] = ()) -> list[dict[str, Any]]:
    declared = entry.output.fields if entry.output else ()
    return [*(output_field(f) for f in declared), *extra, output_field(REQUEST_ID_FIELD)]


def _display(entry: Entry | Event, label: str | None = None, hidden: bool = False) -> dict[str, Any]:
    display: dict[str, Any] = {"label": label or entry.label, "description": entry.description}
    if hidden:
        display["hidden"] = True
    return display


def _base(catalog: Catalog, entry: Entry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "connectorKey": entry.key,
        "noun": entry.noun,
        "display": _display(entry),
        "inputFields": _inputs(catalog, entry.inputs),
    }


def _polling_trigger(catalog: Catalog, entry: Entry) -> Operation:
    """A trigger deduping on more than ``id`` answers ``id`` = record key and ``record_id`` = the record's
    own id (``triggers/items.py``); the sample and output fields say so too."""
    definition = _base(catalog, entry)
    sample = _sample(entry)
    extra: tuple[dict[str, Any], ...] = ()
    if tuple(entry.dedupe) != ("id",):
        sample["record_id"] = sample.get("id")
        sample["id"] = ":".join(str(sample.get(name)) for name in entry.dedupe)
        extra = ({"key": "record_id", "label": f"{entry.noun} ID", "type": "string"},)
    definition.update(outputFields=_outputs(entry, extra), sample=sample)
    return Operation("triggers", entry.key, "pollingTrigger", definition, _source(entry))


def event_sample(event: Event) -> dict[str, Any]:
    """One item of an event trigger: the MemberPass event (webhooks.md envelope) shaped like every record,
    ``data`` flattened (``data__subscription_id``), ``project_id`` null for team-level events."""
    envelope = {
        "id": SAMPLE_EVENT_ID,
        "type": event.name,
        "created_at": SAMPLE_TIME,
        "api_version": API_VERSION,
        "project_id": SAMPLE_PROJECT_ID if event.scope == "project" else None,
        "data": event.sample,
    }
    return {**flatten(envelope), REQUEST_ID_FIELD.key: SAMPLE_REQUEST_ID}


def _hook_trigger(catalog: Catalog, event: Event, taken: set[str]) -> Operation:
    """Labels shared with a list-backed trigger (``New Plan``) get `` (Event)`` so users can tell them
    apart."""
    public = event.public()
    sample = event_sample(event)
    label = f"{event.label} (Event)" if event.label in taken else event.label
    definition: dict[str, Any] = {
        "key": event_key(event.name),
        "connectorKey": event.name,
        "noun": label_for(event.name.rsplit(".", 1)[0].replace(".", "_")),
        "display": _display(event, label),
        "inputFields": _inputs(catalog, tuple(_field(f) for f in public["fields"])),
        "outputFields": fields_from_sample(sample, _event_labels(sample)),
        "sample": sample,
    }
    return Operation("triggers", definition["key"], "hookTrigger", definition, "manifests/events.yaml")


def _event_labels(sample: dict[str, Any]) -> dict[str, str]:
    labels = {"id": "Event ID", "type": "Event Type", REQUEST_ID_FIELD.key: REQUEST_ID_FIELD.label}
    labels.update({k: label_for(k.removeprefix("data__")) for k in sample if k.startswith("data__")})
    return labels


def _dropdown_trigger(entry: Entry) -> Operation:
    assert entry.value is not None and entry.label_field is not None
    sample = entry.sample or {}
    definition: dict[str, Any] = {
        "key": choices_key(entry.key),
        "connectorKey": entry.key,
        "noun": entry.noun,
        "display": _display(entry, hidden=True),
        "inputFields": [],
        "outputFields": [{"key": "id", "label": "ID", "type": "string"}, {"key": "label", "label": "Label"}],
        "sample": {"id": sample.get(entry.value, "id"), "label": str(sample.get(entry.label_field, "label"))},
        "sourceInputs": [f.key for f in entry.inputs],
    }
    return Operation("triggers", definition["key"], "dropdownTrigger", definition, _source(entry))


def _entry_operation(catalog: Catalog, entry: Entry, group: str, factory: str) -> Operation:
    definition = _base(catalog, entry)
    definition.update(outputFields=_outputs(entry), sample=_sample(entry))
    return Operation(group, entry.key, factory, definition, _source(entry))


def _sample(entry: Entry) -> dict[str, Any]:
    return {**(entry.sample or {}), REQUEST_ID_FIELD.key: SAMPLE_REQUEST_ID}


def _field(public: dict[str, Any]) -> Field:
    """A manifest field back from its catalog form (event triggers expose only that)."""
    choices = tuple(Choice(c["value"], c["label"]) for c in public.get("choices", ()))
    return Field(
        key=public["key"],
        label=public["label"],
        type=public["type"],
        required=public["required"],
        list=public.get("list", False),
        choices=choices,
        dynamic=public.get("dynamic"),
        default=public.get("default"),
        help=public.get("help", ""),
        placeholder=public.get("placeholder", ""),
    )


def _source(entry: Entry) -> str:
    return f"manifests/{entry.source} {entry.where}"
