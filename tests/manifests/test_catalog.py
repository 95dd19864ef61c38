"""The shipped catalog: it loads, covers the baseline (integrations.md §4) and keeps the fixed keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.abilities import ABILITIES
from connector.cli import main
from connector.manifests import load_catalog

CATALOG = load_catalog()

FIXED = {
    "action": [
        "create_project", "update_project", "create_plan", "update_plan", "publish_plan", "ban_member",
        "kick_member", "unban_member", "cancel_subscription", "bulk_generate_access_codes",
    ],
    "search": ["find_project_by_handle", "find_plan_by_name", "find_member"],
    "choices": ["projects", "plans"],
}  # fmt: skip

# The documented writes (endpoints.md §1-§7) and the n8n node's reads (integrations.md §3.4), by route.
WRITES = [
    "POST /projects",
    "PATCH /projects/{project_id}",
    "POST /projects/{project_id}/archive",
    "POST /projects/{project_id}/restore",
    "DELETE /projects/{project_id}",
    "POST /projects/{project_id}/plans",
    "PATCH /projects/{project_id}/plans/{plan_id}",
    "POST /projects/{project_id}/plans/{plan_id}/publish",
    "POST /projects/{project_id}/plans/{plan_id}/unpublish",
    "DELETE /projects/{project_id}/plans/{plan_id}",
    "POST /projects/{project_id}/plans/{plan_id}/access-codes/bulk-generate",
    "DELETE /projects/{project_id}/plans/{plan_id}/access-codes/{code_id}",
    "POST /projects/{project_id}/resources",
    "POST /projects/{project_id}/resources/{resource_id}/unlink",
    "DELETE /projects/{project_id}/resources/{resource_id}",
    "POST /projects/{project_id}/members/{member_id}/ban",
    "POST /projects/{project_id}/members/{member_id}/kick",
    "POST /projects/{project_id}/members/{member_id}/unban",
    "POST /subscriptions/{subscription_id}/cancel",
    "POST /webhook-endpoints",
    "PATCH /webhook-endpoints/{endpoint_id}",
    "DELETE /webhook-endpoints/{endpoint_id}",
    "POST /webhook-endpoints/{endpoint_id}/rotate-secret",
    "POST /webhook-endpoints/{endpoint_id}/test",
    "POST /webhook-deliveries/{delivery_id}/retry",
    "DELETE /tokens/{token_id}",
]
READS = [
    "/projects", "/projects/{project_id}", "/projects/{project_id}/bot", "/projects/{project_id}/plans",
    "/projects/{project_id}/plans/{plan_id}", "/projects/{project_id}/plans/{plan_id}/access-codes",
    "/projects/{project_id}/plans/{plan_id}/access-codes/preview", "/projects/{project_id}/resources",
    "/projects/{project_id}/resources/{resource_id}", "/projects/{project_id}/payment-methods",
    "/projects/{project_id}/payment-methods/{method_id}", "/projects/{project_id}/distribution/bot-link",
    "/projects/{project_id}/distribution/portal-url", "/projects/{project_id}/distribution/deep-link",
    "/projects/{project_id}/members", "/projects/{project_id}/members/{member_id}", "/subscriptions",
    "/subscriptions/{subscription_id}", "/projects/{project_id}/payments", "/analytics/transactions",
    "/analytics/dashboard", "/analytics/earnings", "/analytics/subscribers",
    "/analytics/transactions/breakdown",
    "/analytics/plan-performance", "/activity", "/teams", "/teams/current", "/teams/{team_id}",
    "/teams/{team_id}/members", "/teams/{team_id}/members/{user_id}", "/roles", "/roles/{role_id}", "/groups",
    "/groups/{group_id}", "/tokens", "/tokens/{token_id}", "/webhook-endpoints",
    "/webhook-endpoints/{endpoint_id}",
    "/webhook-events", "/webhook-deliveries", "/webhook-deliveries/{delivery_id}",
]  # fmt: skip


@pytest.mark.parametrize("kind", sorted(FIXED))
def test_fixed_keys_exist_with_their_kind(kind: str) -> None:
    missing = [key for key in FIXED[kind] if CATALOG.get(kind, key) is None]
    assert missing == []


def test_find_member_takes_email_or_telegram_id() -> None:
    entry = CATALOG.entries["find_member"]
    assert [f.key for f in entry.inputs] == ["project_id", "email", "telegram_id"]
    assert entry.require_one_of == ("email", "telegram_id")


def test_every_documented_write_is_an_action() -> None:
    routes = {f"{e.request.method} {e.request.path}" for e in CATALOG.of_kind("action")}
    assert sorted(set(WRITES) - routes) == []


def test_every_documented_read_is_a_search() -> None:
    routes = {e.request.path for e in CATALOG.of_kind("search")}
    assert sorted(set(READS) - routes) == []


def test_counts_meet_the_baseline() -> None:
    counts = CATALOG.counts()
    assert counts["actions"] >= 24 and counts["searches"] >= 35
    assert counts["event_triggers"] == 72
    assert counts["search_or_create"] >= 2 and counts["choices"] >= 7


def test_search_or_create_pairs_are_plan_by_name_and_project_by_handle() -> None:
    pairs = {(s.key, c.key) for s, c in CATALOG.search_or_create_pairs()}
    assert {("find_plan_by_name", "create_plan"), ("find_project_by_handle", "create_project")} <= pairs


def test_inputs_use_memberpass_field_names() -> None:
    plan = CATALOG.entries["create_plan"]
    assert {"project_id", "name", "price", "currency", "billing_cycle", "resources"} <= {
        f.key for f in plan.inputs
    }


def test_every_ability_and_event_ability_is_known() -> None:
    used = {a for e in CATALOG.entries.values() for a in e.abilities}
    used |= {a for ev in CATALOG.events.values() for a in ev.abilities}
    assert used <= ABILITIES


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is CATALOG


def test_validate_command_prints_the_counts() -> None:
    result = CliRunner().invoke(main, ["manifests", "validate"])
    assert result.exit_code == 0, result.output
    counts = {label: int(n) for label, n in re.findall(r"^\s*(.+?):\s+(\d+)$", result.output, re.M)}
    assert counts["actions"] >= 24 and counts["searches"] >= 35
    assert counts["triggers"] == CATALOG.counts()["triggers"]
    assert "event (one per MemberPass event)" in result.output


def test_validate_command_fails_listing_the_problems(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "events.yaml").write_text("events: []\n")
    (folder / "plans.yaml").write_text("resource: plans\nnoun: Plan\nentries: [{key: x, kind: nope}]\n")
    result = CliRunner().invoke(main, ["manifests", "validate", "--path", str(folder)])
    assert result.exit_code == 1
    assert (
        "plans.yaml: entries[0].kind: is 'nope'; expected one of action, search, trigger, choices."
        in result.output
    )
    assert "plans.yaml: entries[0].label: is missing." in result.output


def test_catalog_endpoint_lists_every_entry_with_its_fields(tmp_path: Path) -> None:
    from connector.connections import services
    from tests.connections.support import build_app

    app = build_app("http://127.0.0.1:9/v1", tmp_path / "c.db")
    try:
        response = app.test_client().get("/api/catalog")
    finally:
        app.extensions[services.DB].close()
    body = response.json
    assert response.status_code == 200 and body["counts"] == CATALOG.counts()
    assert [len(body[k]) for k in ("triggers", "actions", "searches", "choices")] == [
        CATALOG.counts()[k] for k in ("triggers", "actions", "searches", "choices")
    ]
    for entry in (e for kind in ("triggers", "actions", "searches", "choices") for e in body[kind]):
        assert {"key", "label", "noun", "description", "ability", "fields"} <= set(entry), entry["key"]
    created = next(e for e in body["triggers"] if e["key"] == "subscription.created")
    assert created["ability"] == ["webhook-endpoint:manage", "project-subscription:view-any"]
    assert created["label"] == "New Subscription" and created["fields"][0]["key"] == "project_id"
    plan = next(e for e in body["actions"] if e["key"] == "create_plan")
    assert plan["ability"] == ["project-subscription-plan:create"]
    assert plan["output_fields"][-1]["key"] == "request_id"
    price = next(f for f in plan["fields"] if f["key"] == "price")
    assert price == {
        "key": "price",
        "label": "Price",
        "type": "number",
        "required": True,
        "help": price["help"],
    }
