"""The contract test: every manifest entry, run against the sandbox, answers what it declares.

For each entry: its sample input (with `$references` resolved against a seeded team) validates and renders
a complete request; the entry runs through the connector's own HTTP API (actions, searches, choices) or the
engine (list-backed triggers, whose endpoint belongs to the triggers issue); and every record MemberPass
answered carries each declared output field with the declared type. The raw answers are recorded from the
client, so a field the shaping would fill with null still counts as missing. A trigger reading the event
feed (`source: events`) runs through the trigger reader: the records it read must carry the declared
fields, and its items the change fields and their `<record id>:<event id>` key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actions.api
from actions.engine import run_search
from actions.render import render
from actions.schemas import load_input
from actions.shape import SEPARATOR, flatten, records
from connector.client import MemberPassClient, Result
from connector.manifests import Entry, load_catalog
from connector.manifests.model import CHANGE_FIELDS, FEED_PATH, OutputField
from connector.manifests.types import output_mismatch
from connector.sandbox import SandboxServer
from tests.actions.support import Connected, connected_app
from tests.manifests.refs import RESOLVERS, Refs
from triggers.items import items_for
from triggers.source import fetch_page_for

CATALOG = load_catalog()
ENTRIES = list(CATALOG.entries.values())


class RecordingClient(MemberPassClient):
    """The real client, keeping every answer body for the test to inspect."""

    answers: list[Any]
    skip_feed = False  # a `source: events` trigger: keep the records it read, not the feed's pages

    def request(self, method: str, path: str, **kwargs: Any) -> Result:
        result = super().request(method, path, **kwargs)
        if not (self.skip_feed and path == FEED_PATH):
            self.answers.append(result.body)
        return result


@pytest.fixture(scope="module")
def env(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connected]:
    with connected_app(sandbox_server, tmp_path_factory.mktemp("contract") / "connector.db") as connected:
        yield connected


@pytest.fixture(scope="module")
def refs(env: Connected) -> Refs:
    return Refs(env.server, env.seed)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    recorded: list[Any] = []

    def make(api_base: str, token: str) -> MemberPassClient:
        client = RecordingClient(api_base, token)
        client.answers = recorded
        return client

    monkeypatch.setattr(actions.api, "make_client", make)
    return recorded


def missing_or_wrong(record: dict[str, Any], field: OutputField) -> str | None:
    """Why ``record`` (flattened) does not carry ``field``, or None when it does."""
    if field.key not in record:
        parts = field.key.split(SEPARATOR)
        parents = [SEPARATOR.join(parts[:end]) for end in range(1, len(parts))]
        if any(p in record and record[p] is None for p in parents):
            return None
        return "is missing"
    problem = output_mismatch(record[field.key], field)
    return None if problem is None else f"is {record[field.key]!r}, expected {problem}"


def check_output(entry: Entry, bodies: list[Any]) -> None:
    assert entry.output is not None
    found = [flatten(r) for body in bodies for r in records(body, entry.output)]
    if entry.output.fields:
        assert found, f"{entry.key}: MemberPass answered no record to check"
    upstream = [f for f in entry.output.fields if not (entry.reads_events and f in CHANGE_FIELDS)]
    problems = {
        f"{field.key}": why
        for record in found
        for field in upstream
        if (why := missing_or_wrong(record, field)) is not None
    }
    assert problems == {}, f"{entry.key}: declared output fields not honoured: {problems}"


def run_entry(env: Connected, entry: Entry, values: dict[str, Any], answers: list[Any]) -> Any:
    if entry.kind == "action":
        response = env.action(entry.key, values)
    elif entry.kind == "search":
        response = env.search(entry.key, values)
    elif entry.kind == "choices":
        response = env.choices(entry.key, values)
    else:
        client = RecordingClient(env.app.config["CONNECTOR_SETTINGS"].api_base, env.seed["tokens"]["full"])
        client.answers, client.skip_feed = answers, entry.reads_events
        with client:
            if entry.reads_events:
                found, _ = fetch_page_for(entry, load_input(entry, values), client)(None)
                return items_for(entry, found)
            return run_search(entry, values, client=client)
    assert response.status_code < 300, (
        f"{entry.key}: {response.status_code} {response.get_data(as_text=True)}"
    )
    return response.json


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.key for e in ENTRIES])
def test_entry_runs_against_the_sandbox(entry: Entry, env: Connected, refs: Refs, answers: list[Any]) -> None:
    sample = refs.resolve_all(entry.sample_input)
    values = load_input(entry, sample)
    rendered = render(entry, values)
    assert "{" not in rendered.path and rendered.method == entry.request.method

    output = run_entry(env, entry, sample, answers)

    assert answers, f"{entry.key}: nothing reached MemberPass"
    if entry.kind == "action":
        assert isinstance(output, dict) and output["request_id"].startswith("req_")
    elif entry.kind == "choices":
        assert output and all(set(o) == {"id", "label"} and o["id"] and o["label"] for o in output)
    else:
        assert isinstance(output, list) and output, f"{entry.key}: found nothing"
        assert all(r["request_id"].startswith("req_") for r in output)
    if entry.reads_events:
        for item in output:
            assert item["id"] == f"{item['record_id']}:{item['event_id']}", (
                f"{entry.key}: not keyed per change"
            )
            assert item["event_type"] in entry.events and item["changed_at"]
    if entry.output is not None:
        check_output(entry, answers)
        declared = {f.key for f in entry.output.fields}
        shaped = [output] if isinstance(output, dict) else output
        assert all(declared <= set(r) for r in shaped), f"{entry.key}: shaped output lacks a declared field"


def test_every_sample_reference_has_a_resolver() -> None:
    used = {
        value[1:]
        for entry in ENTRIES
        for raw in entry.sample_input.values()
        for value in (raw if isinstance(raw, list) else [raw])
        if isinstance(value, str) and value.startswith("$")
    }
    assert used <= set(RESOLVERS), f"no resolver for: {sorted(used - set(RESOLVERS))}"


def test_the_contract_covers_every_manifest_file() -> None:
    files = {p.name for p in (Path(__file__).resolve().parents[2] / "manifests").glob("*.yaml")}
    covered = {e.source for e in ENTRIES} | {"events.yaml"}
    assert files == covered


def test_the_output_check_catches_missing_and_mistyped_fields() -> None:
    field, child = OutputField("price", "Price", "string"), OutputField("bot__id", "Bot ID", "string")
    assert missing_or_wrong({"price": "29.00"}, field) is None
    assert missing_or_wrong({"price": 29}, field) == "is 29, expected a string"
    assert missing_or_wrong({}, field) == "is missing"
    assert missing_or_wrong({"bot": None}, child) is None  # a null parent carries its children as nulls
    entry = CATALOG.entries["get_plan"]
    with pytest.raises(AssertionError, match="price"):
        check_output(entry, [{"data": {**entry.sample, "price": 29}}] if entry.sample else [])
