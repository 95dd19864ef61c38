"""The description of the n8n trigger node: REST-hook subscriptions to any connector trigger.

One ``trigger`` option per trigger (the 72 MemberPass events and the list-backed triggers), the trigger's
inputs shown for it (required ones at the top level, the others in ``additionalFields``), and the first-run
policy of the subscription (``from_now``, ``last_n`` with ``n``, ``since``). Dropdowns are filled by the
node's ``methods.loadOptions`` (one method per choices source, calling ``GET /api/choices/<source>``), since
a programmatic trigger node has no ``requestDefaults`` for declarative ones.

:func:`trigger_inputs` and :func:`choice_inputs` are the data the node's code needs at run time: which
parameters make up a trigger's ``inputs``, and which inputs each dropdown's source takes.
"""

from __future__ import annotations

from typing import Any

from connector.export.n8n_action_node import CREDENTIAL
from connector.export.n8n_fields import Property, additional_fields, dynamic_source, property_for
from connector.manifests.model import Catalog, Entry
from triggers.source import event_entry, is_event_trigger

FIRST_RUN_LAST_N_MAX = 1000


def all_triggers(catalog: Catalog) -> list[Entry]:
    """Every trigger as an entry: the event triggers (key = event name), then the list-backed ones."""
    return [event_entry(e) for e in catalog.events.values()] + catalog.of_kind("trigger")


def option_name(entry: Entry) -> str:
    if is_event_trigger(entry):
        return f"{entry.label} (event {entry.key})"
    return f"{entry.label} (polled list)"


def trigger_property(triggers: list[Entry]) -> Property:
    options = sorted(
        ({"name": option_name(t), "value": t.key, "description": t.description} for t in triggers),
        key=lambda o: o["name"],
    )
    return {
        "displayName": "Trigger On",
        "name": "trigger",
        "type": "options",
        "noDataExpression": True,
        "required": True,
        "options": options,
        "default": "member.joined"
        if any(t.key == "member.joined" for t in triggers)
        else options[0]["value"],
        "description": "What starts the workflow. Events come from MemberPass's event feed; polled lists "
        "fire once per new (or changed) record.",
    }


def with_method(prop: Property, source: Entry | None) -> Property:
    """Swap a declarative dropdown for the node's ``loadOptions`` method of the same source."""
    if source is None:
        return prop
    depends = prop.get("typeOptions", {}).get("loadOptionsDependsOn")
    options: dict[str, Any] = {"loadOptionsMethod": source.key}
    if depends:
        options["loadOptionsDependsOn"] = depends
    return {**prop, "typeOptions": options}


def input_properties(entry: Entry, catalog: Catalog) -> list[Property]:
    keys = frozenset(f.key for f in entry.inputs)
    show = {"show": {"trigger": [entry.key]}}
    top: list[Property] = []
    optional: list[Property] = []
    for field in entry.inputs:
        source = dynamic_source(field, set(keys), catalog)
        prop = with_method(property_for(field, source, keys), source)
        (top if prop.get("required") else optional).append(prop)
    out = [{**p, "displayOptions": show} for p in top]
    if optional:
        out.append(additional_fields(optional, show))
    return out


def first_run_properties() -> list[Property]:
    return [
        {
            "displayName": "First Run",
            "name": "firstRun",
            "type": "options",
            "options": [
                {"name": "Only Records From Now On", "value": "from_now"},
                {"name": "The Last N Records, Then New Ones", "value": "last_n"},
                {"name": "Every Record Since a Date, Then New Ones", "value": "since"},
            ],
            "default": "from_now",
            "description": "What the subscription sends first when the workflow is activated",
        },
        {
            "displayName": "Number of Records",
            "name": "firstRunCount",
            "type": "number",
            "typeOptions": {"minValue": 1, "maxValue": FIRST_RUN_LAST_N_MAX, "numberPrecision": 0},
            "default": 3,
            "displayOptions": {"show": {"firstRun": ["last_n"]}},
        },
        {
            "displayName": "Since",
            "name": "firstRunSince",
            "type": "dateTime",
            "default": "",
            "required": True,
            "displayOptions": {"show": {"firstRun": ["since"]}},
        },
    ]


def trigger_node(catalog: Catalog, *, version: int = 1) -> dict[str, Any]:
    """``INodeTypeDescription`` of the MemberPass Connector Trigger node."""
    triggers = all_triggers(catalog)
    properties = [trigger_property(triggers)]
    for entry in triggers:
        properties += input_properties(entry, catalog)
    return {
        "displayName": "MemberPass Connector Trigger",
        "name": "memberPassConnectorTrigger",
        "icon": "file:memberpass.svg",
        "group": ["trigger"],
        "version": version,
        "subtitle": '={{ $parameter["trigger"] }}',
        "description": "Starts the workflow when MemberPass events or new records arrive (signed REST hook)",
        "defaults": {"name": "MemberPass Connector Trigger"},
        "inputs": [],
        "outputs": ["main"],
        "credentials": [{"name": CREDENTIAL, "required": True}],
        "webhooks": [
            {"name": "default", "httpMethod": "POST", "responseMode": "onReceived", "path": "webhook"}
        ],
        "properties": properties + first_run_properties(),
    }


def trigger_inputs(catalog: Catalog) -> dict[str, dict[str, list[str]]]:
    """``{trigger key: {"required": [...], "optional": [...]}}``: where each input's value is read."""
    out = {}
    for entry in all_triggers(catalog):
        required = [f.key for f in entry.inputs if f.required]
        optional = [f.key for f in entry.inputs if not f.required]
        out[entry.key] = {"required": required, "optional": optional}
    return out


def choice_inputs(catalog: Catalog) -> dict[str, list[str]]:
    """``{source: [input names]}`` for every choices source a trigger dropdown uses."""
    used: dict[str, list[str]] = {}
    for entry in all_triggers(catalog):
        keys = {f.key for f in entry.inputs}
        for field in entry.inputs:
            source = dynamic_source(field, keys, catalog)
            if source is not None:
                used[source.key] = [i.key for i in source.inputs]
    return dict(sorted(used.items()))
