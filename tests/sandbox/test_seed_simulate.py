"""`POST /_sandbox/seed` and `POST /_sandbox/simulate`: fixed shapes, real changes, documented events."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from connector.sandbox import SandboxServer
from connector.sandbox.abilities import ALL_ABILITIES, READ_ONLY_ABILITIES
from connector.sandbox.event_catalog import is_team_level
from connector.sandbox.simulate import KINDS
from tests.helpers import make_tenant

TOKEN = re.compile(r"^mpt_test_[A-Za-z0-9]{8,32}_[A-Za-z0-9]{24,64}$")
ENVELOPE = {"id", "type", "created_at", "api_version", "project_id", "data"}
SUB = {"subscription_id", "plan_id", "subscriber_id"}
# Payload keys as documented per event (webhooks.md §9); `>=` entries may carry more.
EXACT: dict[str, set[str]] = {
    "subscription.created": SUB | {"trial_ends_at", "access_code"},
    "subscription.trial_converting": SUB | {"trial_ends_at"},
    "subscription.reactivated": SUB | {"ends_at"},
    "subscription.expired": SUB | {"ends_at"},
    "subscription.past_due": SUB | {"provider", "external_payment_id"},
    "subscription.unpaid": SUB | {"provider"},
    "subscription.upgraded": {
        "subscription_id",
        "subscriber_id",
        "from_plan_id",
        "to_plan_id",
        "proration_amount",
    },
    "subscription.downgraded": {
        "subscription_id",
        "subscriber_id",
        "from_plan_id",
        "to_plan_id",
        "proration_amount",
    },
    "payment.pending": {"provider", "plan_id", "subscriber_id", "session_id", "order_id"},
    "member.joined": SUB | {"project_id", "access_code"},
    "member.trial_joined": SUB | {"project_id", "access_code"},
    "member.converted": SUB | {"provider"},
    "member.churned": {"subscription_id", "subscriber_id", "last_plan_id", "ends_at"},
    "member.banned": {"subscriber", "reason"},
    "member.unbanned": {"subscriber"},
    "access_code.redeemed": SUB | {"access_code"},
    "team.member.invited": {"team_id", "email", "role_id", "role_code"},
    "team.member.joined": {"team_id", "user_id"},
    "team.member.removed": {"team_id", "user_id"},
    "team.member.role_changed": {"team_id", "user_id", "role_id"},
    "billing.grace_period_warning": {"creator_id", "past_due_since", "days_until_lockdown"},
    "billing.account_locked": {"creator_id", "past_due_since", "locked_at"},
    "billing.tier_upgraded": {"creator_id", "from_tier", "to_tier", "effective_at"},
    "billing.tier_downgraded": {"creator_id", "from_tier", "to_tier", "effective_at"},
    "billing.tier_cancelled": {"creator_id", "plan_id", "effective_at"},
}
AT_LEAST: dict[str, set[str]] = {
    "payment.succeeded": SUB | {"provider", "external_payment_id", "amount", "currency"},
    "payment.failed": SUB | {"provider", "external_payment_id", "reason", "amount", "currency"},
    "role.updated": {"team_id", "role"},
    "group.updated": {"team_id", "group"},
}
# The documented events of each kind, in the order they must appear.
SEQUENCES: dict[str, list[str]] = {
    "signup": ["subscription.created", "member.joined", "payment.succeeded", "member.resource_added"],
    "trial_start": ["subscription.created", "subscription.trial_started", "member.trial_joined"],
    "trial_convert": [
        "subscription.trial_converting",
        "payment.succeeded",
        "subscription.activated",
        "member.converted",
    ],
    "trial_expire": ["subscription.trial_expired", "member.churned", "member.resource_removed"],
    "renewal": ["payment.succeeded", "subscription.renewed"],
    "payment_failed": ["payment.failed", "subscription.past_due"],
    "payment_pending": ["payment.pending"],
    "cancel": ["subscription.cancelled"],
    "expire": ["subscription.expired", "member.churned", "member.resource_removed"],
    "refund": ["payment.refunded", "subscription.refunded"],
    "upgrade": ["subscription.upgraded"],
    "downgrade": ["subscription.downgraded"],
    "pause": ["subscription.paused"],
    "unpause": ["subscription.unpaused", "subscription.activated"],
    "reactivate": ["subscription.reactivated"],
    "redeem_code": ["subscription.created", "member.joined", "access_code.redeemed"],
    "ban": ["member.banned"],
    "unban": ["member.unbanned"],
    "kick": ["member.kicked"],
    "team_change": ["team.created"],
    "billing": ["billing.invoice_created"],
}


def simulate(server: SandboxServer, team_id: str, **body: Any) -> list[dict[str, Any]]:
    response = requests.post(server.url + "/_sandbox/simulate", json={"team_id": team_id, **body}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def seed(server: SandboxServer) -> dict[str, Any]:
    response = requests.post(server.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def is_subsequence(wanted: list[str], types: list[str]) -> bool:
    remaining = iter(types)
    return all(any(t == w for t in remaining) for w in wanted)


def check_envelopes(events: list[dict[str, Any]]) -> None:
    for event in events:
        assert set(event) == ENVELOPE and event["id"].startswith("evt_")
        assert (event["project_id"] is None) == is_team_level(event["type"]), event
        keys = set(event["data"])
        if event["type"] in EXACT:
            assert keys == EXACT[event["type"]], event
        if event["type"] in AT_LEAST:
            assert AT_LEAST[event["type"]] <= keys, event


def test_seed_answers_the_fixed_shape_quickly(sandbox_server: SandboxServer) -> None:
    started = time.perf_counter()
    seeded = seed(sandbox_server)
    assert time.perf_counter() - started < 1.0
    assert set(seeded) == {"team_id", "project_ids", "tokens"}
    assert set(seeded["tokens"]) == {"full", "read_only", "project_scoped"}
    assert all(TOKEN.match(token) for token in seeded["tokens"].values())
    store = sandbox_server.sandbox.store
    team = store.get("teams", seeded["team_id"])
    assert team is not None and team["_tier"] == "growth"
    by_id = {t["id"]: t for t in store.table("tokens").values()}
    full, read_only, scoped = (
        by_id[seeded["tokens"][k].split("_")[2]] for k in ("full", "read_only", "project_scoped")
    )
    assert full["abilities"] == list(ALL_ABILITIES) and read_only["abilities"] == list(READ_ONLY_ABILITIES)
    assert scoped["abilities"] == list(ALL_ABILITIES)
    assert scoped["scopes"]["project_ids"] == seeded["project_ids"][:1]


def test_seeded_data_is_varied_and_usable(sandbox_server: SandboxServer) -> None:
    seeded = seed(sandbox_server)
    base = sandbox_server.base_url
    full = {"Authorization": "Bearer " + seeded["tokens"]["full"]}
    first, second = seeded["project_ids"]
    statuses = set()
    for project_id in (first, second):
        plans = requests.get(f"{base}/projects/{project_id}/plans", headers=full, timeout=5).json()
        assert plans["meta"]["total"] == 3
        members = requests.get(f"{base}/projects/{project_id}/members", headers=full, timeout=5).json()
        assert members["meta"]["total"] == 10
    subs = requests.get(f"{base}/subscriptions?limit=100", headers=full, timeout=5).json()["data"]
    statuses = {s["status"] for s in subs}
    assert {"active", "trialing", "past_due", "canceled", "expired", "paused"} <= statuses
    earnings = requests.get(
        f"{base}/analytics/earnings?period=90d&granularity=month", headers=full, timeout=5
    )
    series = earnings.json()["data"]["timeseries"]
    assert sum(1 for point in series if point["transactions"]) >= 3  # history spread over three months
    payments = requests.get(f"{base}/projects/{first}/payments?limit=200", headers=full, timeout=5).json()[
        "data"
    ]
    assert {"successful", "failed", "refunded", "pending"} <= {p["status"] for p in payments}
    assert requests.get(f"{base}/roles", headers=full, timeout=5).json()["meta"]["total"] >= 1
    assert requests.get(f"{base}/groups", headers=full, timeout=5).json()["meta"]["total"] == 1
    read_only = {"Authorization": "Bearer " + seeded["tokens"]["read_only"], "Idempotency-Key": "k1"}
    sub_id = next(s["id"] for s in subs if s["status"] == "active")
    assert (
        requests.post(f"{base}/subscriptions/{sub_id}/cancel", headers=read_only, timeout=5).status_code
        == 403
    )
    scoped = {"Authorization": "Bearer " + seeded["tokens"]["project_scoped"]}
    assert requests.get(f"{base}/projects/{second}/members", headers=scoped, timeout=5).status_code == 404
    assert requests.get(f"{base}/projects/{first}/members", headers=scoped, timeout=5).status_code == 200


def test_seed_rejects_unknown_presets(sandbox_server: SandboxServer) -> None:
    response = requests.post(sandbox_server.url + "/_sandbox/seed", json={"preset": "huge"}, timeout=5)
    assert response.status_code == 422 and set(response.json()["error"]["fields"]) == {"preset"}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_emits_its_documented_events(sandbox_server: SandboxServer, kind: str) -> None:
    tenant = make_tenant(sandbox_server)
    events = simulate(sandbox_server, tenant.team["id"], count=1, kinds=[kind])
    types = [e["type"] for e in events]
    assert is_subsequence(SEQUENCES[kind], types), types
    check_envelopes(events)
    stored = sandbox_server.sandbox.store.rows("events", lambda e: e["_team"] == tenant.team["id"])
    assert {e["id"] for e in stored} == {e["id"] for e in events}


def test_changes_are_real_state(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    events = simulate(sandbox_server, tenant.team["id"], count=1, kinds=["signup"])
    created = next(e for e in events if e["type"] == "subscription.created")
    sub = tenant.get(f"/subscriptions/{created['data']['subscription_id']}").json()["data"]
    assert sub["status"] == "active" and sub["subscriber_id"] == created["data"]["subscriber_id"]
    member = tenant.get(f"/projects/{sub['project_id']}/members/{sub['subscriber_id']}").json()["data"]
    assert member["status"] == "customer"
    payments = tenant.get(f"/projects/{sub['project_id']}/payments").json()["data"]
    paid = next(e for e in events if e["type"] == "payment.succeeded")
    assert [(p["subscription_id"], p["amount"]) for p in payments] == [(sub["id"], paid["data"]["amount"])]
    simulate(sandbox_server, tenant.team["id"], count=1, kinds=["cancel"])
    assert tenant.get(f"/subscriptions/{sub['id']}").json()["data"]["status"] == "canceled"


def test_repeated_failures_end_unpaid_then_expire_and_churn(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    events = simulate(sandbox_server, tenant.team["id"], count=3, kinds=["payment_failed"])
    types = [
        e["type"]
        for e in events
        if e["type"].startswith(("payment.failed", "subscription.p", "subscription.u"))
    ]
    assert types == ["payment.failed", "subscription.past_due"] * 2 + [
        "payment.failed",
        "subscription.unpaid",
    ]
    check_envelopes(events)
    ended = simulate(sandbox_server, tenant.team["id"], count=1, kinds=["expire"])
    assert [e["type"] for e in ended][:2] == ["subscription.expired", "member.churned"]
    assert ended[0]["data"]["subscription_id"] == events[-1]["data"]["subscription_id"]


def test_rotating_kinds_cover_their_families(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    team = simulate(sandbox_server, tenant.team["id"], count=12, kinds=["team_change"])
    assert {e["type"] for e in team} == {
        "team.created",
        "team.deleted",
        "team.member.invited",
        "team.member.joined",
        "team.member.removed",
        "team.member.role_changed",
        "role.created",
        "role.updated",
        "role.deleted",
        "group.created",
        "group.updated",
        "group.deleted",
    }
    billing = simulate(sandbox_server, tenant.team["id"], count=9, kinds=["billing"])
    assert len({e["type"] for e in billing}) == 9 and all(e["type"].startswith("billing.") for e in billing)
    assert sandbox_server.sandbox.store.get("teams", tenant.team["id"])["_tier"] == "growth"
    check_envelopes(team + billing)
    kicks = simulate(sandbox_server, tenant.team["id"], count=2, kinds=["kick"])
    assert is_subsequence(["member.kicked", "member.removed"], [e["type"] for e in kicks])


def test_simulation_is_fast_reproducible_and_scoped(sandbox_server: SandboxServer) -> None:
    first, second = make_tenant(sandbox_server), make_tenant(sandbox_server)
    started = time.perf_counter()
    events = simulate(sandbox_server, first.team["id"], count=500, seed=7)
    assert time.perf_counter() - started < 3.0
    assert {e["type"] for e in events} >= {t for seq in SEQUENCES.values() for t in seq}
    replay = simulate(sandbox_server, second.team["id"], count=500, seed=7)
    assert [e["type"] for e in replay] == [e["type"] for e in events]
    project_id = next(e["project_id"] for e in events if e["project_id"])
    pinned = simulate(sandbox_server, first.team["id"], project_id=project_id, count=42)
    assert {e["project_id"] for e in pinned} == {project_id, None}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"team_id": None, "count": 1}, 422, "team_id"),
        ({"team_id": "tem_nope"}, 404, None),
        ({"count": 0}, 422, "count"),
        ({"kinds": ["signup", "teleport"]}, 422, "kinds"),
        ({"project_id": "prj_nope"}, 404, None),
    ],
)
def test_simulate_validation(
    sandbox_server: SandboxServer, body: dict, status: int, field: str | None
) -> None:
    tenant = make_tenant(sandbox_server)
    payload = {"team_id": tenant.team["id"], **body}
    response = requests.post(sandbox_server.url + "/_sandbox/simulate", json=payload, timeout=5)
    assert response.status_code == status
    if field:
        assert set(response.json()["error"]["fields"]) == {field}


def test_trial_converting_is_sent_24_hours_before_the_trial_ends(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    [created] = [
        e
        for e in simulate(fresh_sandbox, tenant.team["id"], kinds=["trial_start"])
        if e["type"] == "subscription.trial_started"
    ]
    requests.post(fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 5 * 86_400}, timeout=5)
    fresh_sandbox.sandbox.store.scheduler.run_due()
    store = fresh_sandbox.sandbox.store
    assert not store.rows("events", lambda e: e["type"] == "subscription.trial_converting")
    requests.post(fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 86_400 + 60}, timeout=5)
    fresh_sandbox.sandbox.store.scheduler.run_due()
    [notice] = store.rows("events", lambda e: e["type"] == "subscription.trial_converting")
    assert notice["data"]["subscription_id"] == created["data"]["subscription_id"]
    converted = simulate(fresh_sandbox, tenant.team["id"], kinds=["trial_convert"])
    assert "subscription.trial_converting" not in [e["type"] for e in converted]  # once per trial
    assert [e["type"] for e in converted][-1] == "member.converted"


def test_single_changes_in_a_loop_cycle_through_every_kind(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    for kind in KINDS:
        types = [e["type"] for e in simulate(sandbox_server, tenant.team["id"], count=1)]
        assert is_subsequence(SEQUENCES[kind], types), (kind, types)
