"""Webhook endpoint and REST-hook subscription management (endpoints.md §7, webhooks.md §5-8)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.abilities import ALL_ABILITIES
from tests.helpers import Tenant, make_tenant, token_for
from tests.sandbox.webhook_support import add_project

EVENTS = ["subscription.created", "member.joined"]
URL = "https://hooks.example.com/mp"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own, so the projects inserted below stay out of other tests' data."""
    with SandboxServer(SandboxSettings()) as sandbox:
        yield sandbox


@pytest.fixture
def tenant(server: SandboxServer) -> Tenant:
    return make_tenant(server)


def create(tenant: Tenant, **fields: object) -> dict:
    body = {"name": "Hook", "url": URL, "events": EVENTS, **fields}
    response = tenant.post("/webhook-endpoints", body)
    assert response.status_code == 201, response.text
    return response.json()


def without(abilities: str) -> list[str]:
    return [a for a in ALL_ABILITIES if a not in abilities.split()]


def test_create_returns_the_secret_once_and_the_documented_shape(tenant: Tenant) -> None:
    created = create(tenant, allowed_ips=["203.0.113.7", "2001:db8::/32"])
    endpoint = created["data"]
    assert endpoint["id"].startswith("whe_")
    assert set(endpoint) == {
        "id",
        "name",
        "url",
        "events",
        "project_id",
        "allowed_ips",
        "is_active",
        "disabled_at",
        "consecutive_failures",
        "created_at",
    }
    assert (endpoint["is_active"], endpoint["disabled_at"], endpoint["consecutive_failures"]) == (
        True,
        None,
        0,
    )
    assert endpoint["allowed_ips"] == ["203.0.113.7", "2001:db8::/32"]
    assert len(created["secret"]) >= 32

    listed = tenant.get("/webhook-endpoints").json()
    assert [e["id"] for e in listed["data"]] == [endpoint["id"]]
    assert listed["meta"]["total"] == 1
    one = tenant.get(f"/webhook-endpoints/{endpoint['id']}").json()
    assert one == {"data": endpoint}
    assert created["secret"] not in str(listed) + str(one)


def test_create_replays_under_the_same_idempotency_key(tenant: Tenant) -> None:
    body = {"name": "Hook", "url": URL, "events": EVENTS}
    first = tenant.post("/webhook-endpoints", body, key="same-key")
    again = tenant.post("/webhook-endpoints", body, key="same-key")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert tenant.get("/webhook-endpoints").json()["meta"]["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/mp"}, "url"),
        ({"url": "ftp://hooks.example.com/mp"}, "url"),
        ({"url": "https:///no-host"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["subscription.created", "subscription.exploded"]}, "events.1"),
        ({"events": [7]}, "events.0"),
        ({"allowed_ips": ["10.0.0.0/8", "not-an-ip"]}, "allowed_ips.1"),
        ({"name": ""}, "name"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(tenant: Tenant, body: dict, field: str) -> None:
    response = tenant.post("/webhook-endpoints", {"name": "Hook", "url": URL, "events": EVENTS, **body})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert list(error["fields"]) == [field]
    if field == "events.1":
        assert "subscription.exploded" in error["fields"][field][0]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "http://127.8.9.10/x", "http://localhost/x", "http://[::1]:8080/x"]
)
def test_plain_http_is_accepted_for_loopback_hosts(tenant: Tenant, url: str) -> None:
    assert create(tenant, url=url)["data"]["url"] == url


@pytest.mark.parametrize("fresh_sandbox", [SandboxSettings(allow_http_loopback=False)], indirect=True)
def test_plain_http_loopback_is_refused_when_the_setting_is_off(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    response = tenant.post(
        "/webhook-endpoints", {"name": "H", "url": "http://127.0.0.1:9/x", "events": EVENTS}
    )
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["url"]


@pytest.mark.parametrize(
    ("events", "missing"),
    [
        (["subscription.created"], "project-subscription:view-any"),
        (["member.joined", "subscription.created"], "project-subscription:view-any"),
        (["team.member.invited"], "team-member:invite"),
        (["billing.invoice_paid"], "billing:read"),
    ],
)
def test_subscribing_needs_each_events_minimum_ability(
    tenant: Tenant, events: list[str], missing: str
) -> None:
    narrow = token_for(tenant, without("project-subscription:view-any team-member:invite billing:read"))
    response = narrow.post("/webhook-endpoints", {"name": "H", "url": URL, "events": events})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "TOKEN_MISSING_ABILITY"
    assert error["context"]["required_ability"] == missing
    subscription = narrow.post("/webhook-subscriptions", {"name": "H", "url": URL, "events": events})
    assert subscription.json()["error"]["context"]["required_ability"] == missing
    allowed = narrow.post("/webhook-endpoints", {"name": "H", "url": URL, "events": ["member.joined"]})
    assert allowed.status_code == 201


def test_every_route_needs_webhook_endpoint_manage(tenant: Tenant) -> None:
    endpoint_id = create(tenant)["data"]["id"]
    narrow = token_for(tenant, without("webhook-endpoint:manage"))
    for method, path in [
        ("GET", "/webhook-endpoints"),
        ("POST", "/webhook-endpoints"),
        ("PATCH", f"/webhook-endpoints/{endpoint_id}"),
        ("GET", "/webhook-events"),
        ("POST", "/webhook-subscriptions"),
        ("GET", "/webhook-deliveries"),
    ]:
        response = narrow.send(method, path, {})
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["context"]["required_ability"] == "webhook-endpoint:manage"


def test_project_id_must_be_visible_and_restricts_the_endpoint(tenant: Tenant, server: SandboxServer) -> None:
    project_id = add_project(tenant)
    assert create(tenant, project_id=project_id)["data"]["project_id"] == project_id
    stranger_project = add_project(make_tenant(server))
    response = tenant.post(
        "/webhook-endpoints", {"name": "H", "url": URL, "events": EVENTS, "project_id": stranger_project}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_project_scoped_token_manages_only_its_projects_endpoints(tenant: Tenant) -> None:
    mine, other = add_project(tenant), add_project(tenant)
    team_wide = create(tenant)["data"]["id"]
    elsewhere = create(tenant, project_id=other)["data"]["id"]
    scoped = token_for(tenant, project_ids=[mine])

    defaulted = scoped.post("/webhook-subscriptions", {"name": "Z", "url": URL, "events": EVENTS})
    assert defaulted.status_code == 201
    own_id = defaulted.json()["data"]["id"]
    assert defaulted.json()["data"]["project_id"] == mine
    assert [e["id"] for e in scoped.get("/webhook-endpoints").json()["data"]] == [own_id]
    for hidden in (team_wide, elsewhere):
        assert scoped.get(f"/webhook-endpoints/{hidden}").status_code == 404
        assert scoped.send("DELETE", f"/webhook-subscriptions/{hidden}").status_code == 404
    outside = scoped.post(
        "/webhook-endpoints", {"name": "Z", "url": URL, "events": EVENTS, "project_id": other}
    )
    assert outside.status_code == 404

    two_projects = token_for(tenant, project_ids=[mine, other])
    ambiguous = two_projects.post("/webhook-endpoints", {"name": "Z", "url": URL, "events": EVENTS})
    assert ambiguous.status_code == 422
    assert list(ambiguous.json()["error"]["fields"]) == ["project_id"]


def test_other_teams_endpoints_are_not_found(tenant: Tenant, server: SandboxServer) -> None:
    endpoint_id = create(tenant)["data"]["id"]
    stranger = make_tenant(server)
    assert stranger.get(f"/webhook-endpoints/{endpoint_id}").status_code == 404
    assert stranger.send("PATCH", f"/webhook-endpoints/{endpoint_id}", {"name": "x"}).status_code == 404
    assert stranger.post(f"/webhook-endpoints/{endpoint_id}/rotate-secret").status_code == 404
    assert stranger.get("/webhook-endpoints").json()["data"] == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_changes_fields_and_reenabling_resets_the_failure_run(tenant: Tenant, method: str) -> None:
    endpoint_id = create(tenant)["data"]["id"]
    stored = tenant.server.sandbox.store.get("webhook_endpoints", endpoint_id)
    assert stored is not None
    stored.update(is_active=False, disabled_at="2026-05-18T10:00:00Z", consecutive_failures=20)

    path = f"/webhook-endpoints/{endpoint_id}"
    renamed = tenant.send(method, path, {"name": "Renamed", "events": ["member.joined", "member.joined"]})
    assert renamed.status_code == 200
    data = renamed.json()["data"]
    assert (data["name"], data["events"], data["url"], data["is_active"]) == (
        "Renamed",
        ["member.joined"],
        URL,
        False,
    )

    enabled = tenant.send(method, path, {"is_active": True}).json()["data"]
    assert (enabled["is_active"], enabled["disabled_at"], enabled["consecutive_failures"]) == (True, None, 0)
    assert tenant.send(method, path, {"url": "http://example.com/x"}).status_code == 422


def test_update_to_events_the_token_may_not_subscribe_is_refused(tenant: Tenant) -> None:
    endpoint_id = create(tenant, events=["member.joined"])["data"]["id"]
    narrow = token_for(tenant, without("billing:read"))
    response = narrow.send("PATCH", f"/webhook-endpoints/{endpoint_id}", {"events": ["billing.invoice_paid"]})
    assert response.status_code == 403
    assert response.json()["error"]["context"]["required_ability"] == "billing:read"
    assert tenant.get(f"/webhook-endpoints/{endpoint_id}").json()["data"]["events"] == ["member.joined"]


def test_rotate_secret_returns_a_new_secret_once(tenant: Tenant) -> None:
    created = create(tenant)
    rotated = tenant.post(f"/webhook-endpoints/{created['data']['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["data"]["id"] == created["data"]["id"]
    assert rotated.json()["secret"] not in (created["secret"], "")
    assert rotated.json()["secret"] not in tenant.get(f"/webhook-endpoints/{created['data']['id']}").text


def test_rest_hook_subscribe_list_and_unsubscribe(tenant: Tenant) -> None:
    body = {"name": "Zapier - New Subscription", "url": URL, "events": ["subscription.created"]}
    response = tenant.post("/webhook-subscriptions", body)
    assert response.status_code == 201
    subscription_id = response.json()["data"]["id"]
    assert subscription_id.startswith("whe_") and response.json()["secret"]

    assert [s["id"] for s in tenant.get("/webhook-subscriptions").json()["data"]] == [subscription_id]
    assert tenant.get(f"/webhook-endpoints/{subscription_id}").json()["data"]["name"] == body["name"]
    assert tenant.send("DELETE", f"/webhook-subscriptions/{subscription_id}").status_code == 204
    gone = tenant.send("DELETE", f"/webhook-subscriptions/{subscription_id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert tenant.get("/webhook-subscriptions").json()["data"] == []


def test_delete_endpoint(tenant: Tenant) -> None:
    endpoint_id = create(tenant)["data"]["id"]
    assert tenant.send("DELETE", f"/webhook-endpoints/{endpoint_id}").status_code == 204
    assert tenant.get(f"/webhook-endpoints/{endpoint_id}").status_code == 404
    assert tenant.send("DELETE", f"/webhook-endpoints/{endpoint_id}").status_code == 404


def test_test_fire_is_limited_to_five_a_minute_per_token(tenant: Tenant) -> None:
    endpoint_id = create(tenant, url="http://127.0.0.1:9/unreachable")["data"]["id"]
    path = f"/webhook-endpoints/{endpoint_id}/test"
    for _ in range(5):
        fired = tenant.post(path)
        assert fired.status_code == 202
        assert fired.json()["data"]["delivery_id"].startswith("whd_")
    refused = tenant.post(path)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert token_for(tenant).post(path).status_code == 202  # per token


@pytest.mark.parametrize("fresh_sandbox", [SandboxSettings(test_fire_per_minute=2)], indirect=True)
def test_test_fire_limit_follows_the_setting(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    endpoint_id = create(tenant, url="http://127.0.0.1:9/unreachable")["data"]["id"]
    statuses = [tenant.post(f"/webhook-endpoints/{endpoint_id}/test").status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
