"""The generated app run by Zapier's ``createAppTester`` (zapier-platform-core 19.1.0) against a real
connector and sandbox on 127.0.0.1: auth test and label (connection key and OAuth with PKCE), a polling
trigger, dropdowns, a create with its idempotency key, a search and a search-or-create, errors (422, 401,
429 → ThrottledError with the connector's Retry-After), and a REST hook subscribed, delivered to and
unsubscribed."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from standardwebhooks import Webhook

from connector.connections.services import current_clock, current_db, current_ring, oauth_store
from connector.sandbox import SandboxServer
from tests.connections.support import csrf_token, mint, revoke
from tests.export.live_connector import Live, live_connector, receiver, stub
from tests.export.zapier_support import Driver, ZapierFailure
from triggers.engine import run_poll
from triggers.subscriptions import SubscriptionRepo

pytestmark = pytest.mark.node

REDIRECT = "https://zapier.com/dashboard/auth/oauth/return/App123CLIAPI/"


@pytest.fixture(scope="module")
def live(
    zapier_core: Path, sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with live_connector(sandbox_server, tmp_path_factory.mktemp("zapier-live") / "connector.db") as running:
        yield running


@pytest.fixture(scope="module")
def custom(zapier_core: Path, zapier_apps: dict[str, Path], live: Live) -> Iterator[Driver]:
    driver = Driver(zapier_core, zapier_apps["custom"], {"CONNECTOR_BASE_URL": live.url})
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def oauth_client(live: Live) -> tuple[str, str]:
    with live.app.app_context():
        client, secret = oauth_store().add_client("Zapier", [REDIRECT])
    return client.id, secret


@pytest.fixture(scope="module")
def oauth(
    zapier_core: Path, zapier_apps: dict[str, Path], live: Live, oauth_client: tuple[str, str]
) -> Iterator[Driver]:
    env = {"CONNECTOR_BASE_URL": live.url, "CLIENT_ID": oauth_client[0], "CLIENT_SECRET": oauth_client[1]}
    driver = Driver(zapier_core, zapier_apps["oauth2"], env)
    yield driver
    driver.close()


def keyed(live: Live, **bundle: Any) -> dict[str, Any]:
    """A bundle authenticated with the live connection key."""
    return {"authData": {"connection_key": live.key}, **bundle}


# --- authentication -------------------------------------------------------------------------------------
def test_connection_key_auth_test_and_label(custom: Driver, live: Live) -> None:
    me = custom.run("authentication.test", keyed(live))
    assert me["id"] == live.connection["id"] and me["status"] == "active"
    team_name = live.connection["team"]["name"]
    assert me["team"]["name"] == team_name and team_name
    assert custom.run("authentication.connectionLabel", keyed(live, inputData=me)) == team_name


def test_a_wrong_connection_key_asks_the_user_to_reconnect(custom: Driver) -> None:
    with pytest.raises(ZapierFailure) as failure:
        custom.run("authentication.test", {"authData": {"connection_key": "mpc_not_a_real_key"}})
    assert failure.value.name == "ExpiredAuthError"
    assert "[request req_" in failure.value.message


def test_a_token_memberpass_refuses_fails_the_auth_test_with_the_reason(custom: Driver, live: Live) -> None:
    minted = mint(live.sandbox, live.seed["team_id"])
    auth = {"authData": {"connection_key": live.connect(minted["token"])}}
    assert custom.run("authentication.test", auth)["status"] == "active"
    revoke(live.sandbox, minted["data"]["id"])
    with pytest.raises(ZapierFailure) as refused:  # MemberPass answers 401: the user must reconnect
        custom.run(
            "searches.find_project_by_handle.operation.perform", {**auth, "inputData": {"handle": "x"}}
        )
    assert refused.value.name == "ExpiredAuthError"
    with pytest.raises(ZapierFailure) as failing:
        custom.run("authentication.test", auth)
    assert failing.value.parsed["code"] == "CONNECTION_NEEDS_ATTENTION"
    assert "no longer accepts the token" in failing.value.parsed["message"]


def test_oauth_sign_in_with_pkce(oauth: Driver, live: Live, oauth_client: tuple[str, str]) -> None:
    state = "st-" + secrets.token_hex(4)
    url = oauth.run(
        "authentication.oauth2Config.authorizeUrl", {"inputData": {"state": state, "redirect_uri": REDIRECT}}
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == live.url + "/oauth/authorize"
    query = {"response_type": "code", "client_id": oauth_client[0], "state": state, "redirect_uri": REDIRECT}
    assert parse_qs(parts.query) == {name: [value] for name, value in query.items()}
    verifier = secrets.token_urlsafe(48)
    code = consent(url, verifier, mint(live.sandbox, live.seed["team_id"])["token"])
    tokens = oauth.run(
        "authentication.oauth2Config.getAccessToken",
        {"inputData": {"code": code, "redirect_uri": REDIRECT, "code_verifier": verifier, "state": state}},
    )
    assert tokens["access_token"].startswith("mpc_") and tokens["refresh_token"].startswith("mpo_")
    me = oauth.run("authentication.test", {"authData": tokens})
    assert me["created_via"] == "oauth"
    assert (
        oauth.run("authentication.connectionLabel", {"authData": tokens, "inputData": me})
        == me["team"]["name"]
    )
    items = oauth.run("triggers.new_project.operation.perform", {"authData": tokens, "meta": {"limit": 2}})
    assert 1 <= len(items) <= 2

    renewed = oauth.run("authentication.oauth2Config.refreshAccessToken", {"authData": tokens})
    assert (
        renewed["access_token"] != tokens["access_token"]
        and renewed["refresh_token"] != tokens["refresh_token"]
    )
    assert oauth.run("authentication.test", {"authData": renewed})["id"] == me["id"]
    with pytest.raises(ZapierFailure) as stale:
        oauth.run("authentication.test", {"authData": {**tokens, "access_token": "mpc_expired_or_unknown"}})
    assert stale.value.name == "RefreshAuthError"
    with pytest.raises(ZapierFailure) as reused:  # a refresh token works once; reuse ends the sign-in
        oauth.run("authentication.oauth2Config.refreshAccessToken", {"authData": tokens})
    assert reused.value.name == "ExpiredAuthError" and "Reconnect" in reused.value.message


def consent(authorize_url: str, verifier: str, token: str) -> str:
    """What the person does in the browser: open the authorize URL (Zapier adds the PKCE challenge), paste
    the MemberPass token, allow; returns the code from the redirect."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    url = authorize_url + "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    with requests.Session() as browser:
        page = browser.get(url, timeout=30)
        assert page.status_code == 200, page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        answer = browser.post(
            url.split("?")[0],
            data={**form, "csrf_token": csrf_token(page.text), "token": token},
            allow_redirects=False,
            timeout=30,
        )
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


# --- triggers -------------------------------------------------------------------------------------------
def test_polling_trigger_newest_first_with_unique_ids(custom: Driver, live: Live) -> None:
    """Zapier's polling contract, and a seed poll (isPopulatingDedupe) that covers every later poll: it
    asks for the connector's maximum (100) where a normal poll gets its default (50)."""
    members = live.get("/api/triggers/new_member", project_id=live.project_id, limit=100).json()
    simulate(live, "signup", count=max(0, 60 - len(members)))
    method = "triggers.new_member.operation.perform"
    everything = custom.run(method, keyed(live, inputData={"project_id": live.project_id}))
    seed = custom.run(
        method, keyed(live, inputData={"project_id": live.project_id}, meta={"isPopulatingDedupe": True})
    )
    assert len(everything) == 50 and len(seed) > 50
    assert set(everything[0]) == set(sample_of(custom, "new_member"))
    ids = [item["id"] for item in everything]
    assert [item["id"] for item in seed][:50] == ids
    assert len(set(ids)) == len(ids) and all(i.startswith("usr_") for i in ids)
    joined = [item["joined_at"] for item in everything]
    assert joined == sorted(joined, reverse=True)
    limited = custom.run(method, keyed(live, inputData={"project_id": live.project_id}, meta={"limit": 5}))
    assert [item["id"] for item in limited] == ids[:5]
    sample = custom.run(
        method, keyed(live, inputData={"project_id": live.project_id}, meta={"isLoadingSample": True})
    )
    assert [item["id"] for item in sample] == ids[:3]


def test_status_change_trigger_keys_on_id_and_version(custom: Driver, live: Live) -> None:
    """`member_status_changed` reads the event feed: one item per change, `<member id>:<event id>`."""
    members = live.sandbox.base_url + f"/projects/{live.project_id}/members"
    headers = {"Authorization": f"Bearer {live.seed['tokens']['full']}"}
    customer = next(m for m in requests.get(members, headers=headers, timeout=30).json()["data"]
                    if m["status"] == "customer")  # fmt: skip
    banned = requests.post(f"{members}/{customer['id']}/ban", json={}, timeout=30,
                           headers={**headers, "Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert banned.status_code == 200, banned.text
    items = custom.run(
        "triggers.member_status_changed.operation.perform",
        keyed(live, inputData={"project_id": live.project_id}),
    )
    assert items and len({i["id"] for i in items}) == len(items)
    assert all(item["id"] == f"{item['record_id']}:{item['event_id']}" for item in items)
    assert items[0]["record_id"] == customer["id"] and items[0]["event_type"] == "member.banned"
    assert set(items[0]) == set(sample_of(custom, "member_status_changed"))


def sample_of(driver: Driver, trigger: str) -> dict[str, Any]:
    """The app's static sample of a trigger: what the Zap editor shows when there is no live data."""
    sample: dict[str, Any] = driver.call("definition")["result"]["triggers"][trigger]["operation"]["sample"]
    return sample


def test_dropdowns(custom: Driver, live: Live) -> None:
    projects = custom.run("triggers.choices__projects.operation.perform", keyed(live))
    assert set(live.seed["project_ids"]) <= {p["id"] for p in projects} and all(p["label"] for p in projects)
    form = {"project_id": live.project_id, "name": "a field of the form, not of the dropdown"}
    resources = custom.run("triggers.choices__resources.operation.perform", keyed(live, inputData=form))
    assert resources and all(r["id"].startswith("rsr_") for r in resources)
    more = custom.run(
        "triggers.choices__resources.operation.perform", keyed(live, inputData=form, meta={"page": 1})
    )
    assert more == []


# --- creates and searches -------------------------------------------------------------------------------
def test_create_is_idempotent_per_zap(custom: Driver, live: Live) -> None:
    resources = custom.run(
        "triggers.choices__resources.operation.perform",
        keyed(live, inputData={"project_id": live.project_id}),
    )
    plan = {
        "project_id": live.project_id,
        "name": f"Zapier {uuid.uuid4().hex[:8]}",
        "price": 12.5,
        "currency": "USD",
        "billing_cycle": "months",
        "resources": [resources[0]["id"]],
    }
    method = "creates.create_plan.operation.perform"
    since = requests.get(live.sandbox.url + "/_sandbox/clock", timeout=10).json()["now"]
    first = custom.run(method, keyed(live, inputData=plan, meta={"zap": {"id": "1001"}}))
    assert first["id"].startswith("pln_") and first["name"] == plan["name"] and first["request_id"]
    replay = custom.run(method, keyed(live, inputData=plan, meta={"zap": {"id": "1001"}}))
    assert replay == first  # a replayed run of the same Zap gets the stored answer
    with pytest.raises(ZapierFailure) as other_zap:  # another Zap's call is its own: it reaches MemberPass
        custom.run(method, keyed(live, inputData=plan, meta={"zap": {"id": "2002"}}))
    assert (
        other_zap.value.parsed["code"] == "VALIDATION_FAILED"
        and "already been taken" in other_zap.value.message
    )
    log = requests.get(live.sandbox.url + "/_sandbox/requests", params={"since": since}, timeout=10).json()
    posts = [
        r for r in log["data"] if r["method"] == "POST" and r["path"].endswith(f"{live.project_id}/plans")
    ]
    assert [r["status"] for r in posts] == [201, 422]


def test_search_and_search_or_create(custom: Driver, live: Live) -> None:
    app = custom.call("definition")["result"]
    pair = app["searchOrCreates"]["find_project_by_handle"]
    handle = f"zap-{uuid.uuid4().hex[:10]}"
    search = f"searches.{pair['search']}.operation.perform"
    assert custom.run(search, keyed(live, inputData={"handle": handle})) == []
    created = custom.run(
        f"creates.{pair['create']}.operation.perform",
        keyed(
            live, inputData={"name": "Found Or Made", "handle": handle}, meta={"withSearch": pair["search"]}
        ),
    )
    assert created["handle"] == handle and created["id"].startswith("prj_")
    found = custom.run(search, keyed(live, inputData={"handle": handle}))
    assert [p["id"] for p in found] == [created["id"]]


def test_invalid_input_is_an_app_error_naming_the_field(custom: Driver, live: Live) -> None:
    with pytest.raises(ZapierFailure) as failure:
        custom.run(
            "creates.create_plan.operation.perform", keyed(live, inputData={"project_id": live.project_id})
        )
    assert failure.value.name == "AppError"
    assert failure.value.parsed["code"] == "VALIDATION_FAILED" and failure.value.parsed["status"] == 422
    assert "price" in failure.value.parsed["message"]


def test_429_becomes_zapier_throttling_with_the_retry_after_delay(custom: Driver, live: Live) -> None:
    """MemberPass throttles for longer than the connector's call budget: the connector answers 429 with
    that Retry-After, which Zapier core turns into ThrottledError before the app's afterResponse."""
    key = live.connect(mint(live.sandbox, live.seed["team_id"])["token"])  # its own rate governor
    fault = [{"route": "GET /v1/projects", "status": 429, "retry_after": 45, "count": 1}]
    assert requests.put(live.sandbox.url + "/_sandbox/faults", json=fault, timeout=10).status_code == 200
    try:
        with pytest.raises(ZapierFailure) as failure:
            custom.run(
                "searches.find_project_by_handle.operation.perform",
                {"authData": {"connection_key": key}, "inputData": {"handle": "anything"}},
            )
    finally:
        requests.delete(live.sandbox.url + "/_sandbox/faults", timeout=10)
    assert failure.value.name == "ThrottledError"
    assert failure.value.parsed == {"message": "The server returned 429 (Too Many Requests)", "delay": 45}


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (503, {"Retry-After": "12"}, ("ThrottledError", {"delay": 12})),
        (502, {"Retry-After": "7"}, ("ThrottledError", {"delay": 7})),
        (500, {}, ("AppError", {"code": "INTERNAL_ERROR", "status": 500})),
    ],
)
def test_connector_failures_map_to_zapier_errors(
    custom: Driver, live: Live, status: int, headers: dict[str, str], expected: tuple[str, dict[str, Any]]
) -> None:
    """MemberPass unreachable or unavailable (502/503 with Retry-After): Zapier retries later instead of
    counting an error that can turn the Zap off. Other failures keep the envelope's code and remediation."""
    envelope = {
        "error": {
            "code": "INTERNAL_ERROR",
            "message": "Boom.",
            "remediation": "Retry later.",
            "request_id": "req_1",
        }
    }
    with stub(status, envelope, headers) as url, pytest.raises(ZapierFailure) as failure:
        custom.run(
            "searches.find_project_by_handle.operation.perform",
            keyed(live, inputData={"handle": "x"}),
            env={"CONNECTOR_BASE_URL": url},
        )
    name, parsed = expected
    assert failure.value.name == name
    assert parsed.items() <= failure.value.parsed.items()
    assert failure.value.parsed["message"] == "Boom. Retry later. [request req_1]"


# --- REST hooks -----------------------------------------------------------------------------------------
def test_rest_hook_subscribe_delivery_unsubscribe(custom: Driver, live: Live) -> None:
    """Zapier subscribes its target URL; a MemberPass event reaches it as a signed delivery whose body is
    the item the polling endpoint answers; the hook's perform hands that item on; unsubscribing deletes
    the subscription (and a second unsubscribe, of a subscription already gone, still succeeds)."""
    hook = "triggers.subscription__created.operation"
    with receiver() as zapier_hooks:
        target = zapier_hooks.url + "/hooks/catch/123/abc/"
        subscribed = custom.run(
            f"{hook}.performSubscribe",
            keyed(live, targetUrl=target, inputData={"project_id": live.project_id}),
        )
        assert subscribed == {"id": subscribed["id"], "mode": "polling", "trigger": "subscription.created"}
        events = simulate(live, "signup")
        created = [e for e in events if e["type"] == "subscription.created"]
        assert len(created) == 1
        with live.app.app_context():
            polled = run_poll(subscribed["id"])
            secret = SubscriptionRepo(current_db(), current_ring(), current_clock()).secret(subscribed["id"])
        assert polled.status == "polled", polled
        delivery = zapier_hooks.wait_for("/hooks/catch/123/abc/", timeout=15)
    item = Webhook(secret).verify(delivery.body, delivery.headers)
    assert item["id"] == created[0]["id"] and item["type"] == "subscription.created"
    assert set(item) == set(sample_of(custom, "subscription__created"))  # the sample describes what arrives

    assert custom.run(f"{hook}.perform", keyed(live, cleanedRequest=item, subscribeData=subscribed)) == [item]
    listed = custom.run(f"{hook}.performList", keyed(live, inputData={"project_id": live.project_id}))
    assert 1 <= len(listed) <= 3 and listed[0]["id"] == item["id"]  # newest first, for the editor
    assert {**listed[0], "request_id": None} == {
        **item,
        "request_id": None,
    }  # another read, another request id

    unsubscribe = keyed(live, subscribeData=subscribed)
    assert custom.run(f"{hook}.performUnsubscribe", unsubscribe) == {"id": subscribed["id"], "deleted": True}
    assert live.get(f"/api/subscriptions/{subscribed['id']}").status_code == 404
    assert custom.run(f"{hook}.performUnsubscribe", unsubscribe) == {"id": subscribed["id"], "deleted": True}


def simulate(live: Live, kind: str, count: int = 1) -> list[dict[str, Any]]:
    body = {"team_id": live.seed["team_id"], "project_id": live.project_id, "count": count, "kinds": [kind]}
    response = requests.post(live.sandbox.url + "/_sandbox/simulate", json=body, timeout=30)
    assert response.status_code in (200, 201), response.text
    events: list[dict[str, Any]] = response.json()["data"]
    return events
