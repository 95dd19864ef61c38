"""Triggers that read the event feed (`source: events`, or a request to /webhook-events): what the loader
builds from them and each rule it holds them to, reported at its path with a fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.manifests import Problem, load_catalog, validate_files
from connector.manifests.event_data import event_value, id_names
from connector.manifests.loader import default_dir, manifest_files
from connector.manifests.model import CHANGE_FIELDS

REAL = manifest_files(default_dir())
FIELDS = [{"key": "id", "type": "string"}, {"key": "status", "type": "string"}]
SAMPLE = {"id": "usr_1", "status": "banned", "event_type": "member.banned", "event_id": "evt_1",
          "changed_at": "2026-05-20T08:30:00Z"}  # fmt: skip
GOOD: dict[str, Any] = {
    "key": "anti_member_changes",
    "kind": "trigger",
    "label": "Member Changed",
    "description": "Triggers on each change.",
    "source": "events",
    "events": ["member.banned", "member.joined"],
    "fetch": {"method": "GET", "path": "/projects/{project_id}/members/{subscriber_id}"},
    "ability": ["project-user:view-any", "project-user:view", "webhook-endpoint:manage"],
    "inputs": [{"key": "project_id", "type": "string", "required": True}],
    "output": {"root": "data", "fields": FIELDS},
    "sample": SAMPLE,
    "sample_input": {"project_id": "$project"},
    "dedupe": ["id", "event_id"],
    "order_by": "changed_at",
}


def problems_of(tmp_path: Path, **changes: Any) -> list[Problem]:
    entry = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    path = tmp_path / "feed_entry.yaml"
    path.write_text(yaml.safe_dump({"resource": "feed_entry", "noun": "Member", "entries": [entry]}))
    _, problems = validate_files([*REAL, path])
    return [p for p in problems if p.file == "feed_entry.yaml"]


def test_a_sound_entry_builds_the_feed_request_and_the_change_fields(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == []
    entry = load_catalog().entries["member_status_changed"]
    assert entry.reads_events and entry.request.path == "/webhook-events"
    assert dict(entry.request.query) == {"project_id": "project_id"}
    assert dict(entry.request.constants)["type"] == ",".join(entry.events)
    assert entry.fetch is not None and entry.fetch.path_vars == ("project_id", "subscriber_id")
    assert entry.output is not None and entry.output.fields[-3:] == CHANGE_FIELDS
    assert entry.public()["source"] == "events"
    assert load_catalog().entries["new_member"].public()["source"] == "list"


@pytest.mark.parametrize(
    ("changes", "path", "message", "fix"),
    [
        ({"request": {"method": "GET", "path": "/x"}}, "request", "is not allowed with `source: events`",
         "event feed"),
        ({"events": None}, "events", "is missing (`source: events` needs it)", "events: ["),
        ({"source": None, "request": {"method": "GET", "path": "/projects/{project_id}/members"}}, "fetch",
         "needs `source: events`", "source: events"),
        ({"dedupe": ["id"]}, "dedupe", "lacks `event_id`", "dedupe: [id, event_id]"),
        ({"order_by": "status"}, "order_by", "is `status`; the event feed is ordered", "changed_at"),
        ({"ability": ["project-user:view-any", "webhook-endpoint:manage"]}, "ability",
         "lacks `project-user:view` (`fetch` reads what `get_member` reads)", "Add `project-user:view`"),
        ({"events": ["member.banned", "payment.succeeded"]}, "ability",
         "lacks `project-subscription:view-any` (reading `payment.succeeded` from the feed needs it)", "Add"),
        ({"events": ["member.banned", "member.exploded"]}, "events[1]", "unknown event `member.exploded`",
         "events.yaml"),
        ({"inputs": [{"key": "project_id", "type": "string", "required": True},
                     {"key": "subscriber_id", "type": "string"}],
          "events": ["member.banned", "member.removed", "team.created"], "ability": [
              "project-user:view-any", "project-user:view", "webhook-endpoint:manage", "team:view-any"]},
         "fetch.path", "`{subscriber_id}` is an optional input and not in the data of `team.created`",
         "make `subscriber_id` a required input"),
        ({"inputs": [{"key": "project_id", "type": "string", "required": True},
                     {"key": "status", "type": "string"}]}, "inputs[1]", "`status` is sent nowhere",
         "`fetch` path variable"),
    ],
)  # fmt: skip
def test_each_rule_is_reported_at_its_path(
    tmp_path: Path, changes: dict[str, Any], path: str, message: str, fix: str
) -> None:
    found = problems_of(tmp_path, **changes)
    assert [p.path for p in found] == [f"entries[0].{path}"], found
    assert message in found[0].message and fix in found[0].fix


def test_a_list_trigger_reading_the_feed_needs_the_event_ability(tmp_path: Path) -> None:
    """The mistake new_access_code_batch had: only the feed's ability, not the event's."""
    found = problems_of(
        tmp_path, source=None, fetch=None, events=None, inputs=None, sample_input=None,
        request={"method": "GET", "path": "/webhook-events", "constants": {"type": "access_code.generated"}},
        ability="webhook-endpoint:manage", dedupe=["id"], order_by="created_at",
        output={"root": "data", "fields": [{"key": "id", "type": "string"},
                                           {"key": "created_at", "type": "datetime"}]},
        sample={"id": "evt_1", "created_at": "2026-05-20T08:30:00Z"},
    )  # fmt: skip
    assert [(p.path, p.message) for p in found] == [
        ("entries[0].ability", "lacks `project-access-code:view-any` (reading `access_code.generated` from "
         "the feed needs it).")
    ]  # fmt: skip
    assert "project-access-code:view-any" in load_catalog().entries["new_access_code_batch"].abilities


def test_source_and_fetch_belong_to_triggers(tmp_path: Path) -> None:
    found = problems_of(tmp_path, kind="search", dedupe=None, order_by=None, events=None,
                        request={"method": "GET", "path": "/projects/{project_id}/members"})  # fmt: skip
    assert [p.path for p in found] == ["entries[0].fetch", "entries[0].source"]
    assert all("not allowed on a search" in p.message for p in found)


@pytest.mark.parametrize(
    ("data", "name", "value"),
    [
        ({"subscription_id": "sub_1", "subscriber_id": "usr_1"}, "subscriber_id", "usr_1"),  # §9.3 flat
        ({"subscriber": {"id": "usr_2", "status": "banned"}, "reason": None}, "subscriber_id", "usr_2"),
        ({"subscription": {"id": "sub_3", "subscriber_id": "usr_3"}}, "subscriber_id", "usr_3"),  # family
        ({"subscription": {"id": "sub_3"}}, "subscription_id", "sub_3"),
        ({"subscriber_id": "", "subscriber": {"id": "usr_4"}}, "subscriber_id", "usr_4"),
        ({"chat": {"id": 5550001}}, "chat_id", "5550001"),
        ({"subscriber": {"id": True}}, "subscriber_id", None),
        ({"subscriber": "usr_5"}, "subscriber_id", None),
        ({}, "subscriber_id", None),
        (None, "subscriber_id", None),
    ],
)
def test_the_id_extractor_reads_every_documented_shape(data: Any, name: str, value: str | None) -> None:
    assert event_value(data, name) == value


def test_id_names_lists_what_the_extractor_finds() -> None:
    data = {"subscriber": {"id": "usr_1", "telegram_user_id": 5}, "plan_id": "pln_1", "reason": None}
    assert id_names(data) == {"subscriber_id", "telegram_user_id", "plan_id"}
    assert all(event_value(data, name) is not None for name in id_names(data))
