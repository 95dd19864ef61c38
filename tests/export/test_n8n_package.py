"""The generated n8n community-node package builds with tsc and loads as n8n expects.

One build per module: ``export_n8n`` → ``npm run build`` (tsc, emitting ``dist/``) with n8n-workflow,
typescript and @types/node installed by npm into a session temporary folder → ``n8n_check.js`` loads the
compiled classes and checks their descriptions (see the script's header for the structural check, which
uses n8n-workflow's own ``NodeHelpers``). The trigger node's code is then driven against a live connector.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from standardwebhooks import Webhook

from connector.connections import services
from connector.export.n8n import export_n8n
from connector.export.n8n_action_node import SEARCH_OR_CREATE
from connector.export.n8n_trigger_node import all_triggers
from connector.manifests import load_catalog
from connector.sandbox import SandboxServer
from tests.connections.support import build_app
from tests.export.n8n_support import (
    CHECK_JS,
    DRIVE_JS,
    ensure_toolchain,
    names_a_known_key,
    node_json,
    route_of,
    run,
)
from tests.helpers import serving
from tests.triggers.connected import Env, connected

pytestmark = [pytest.mark.node, pytest.mark.slow]


@pytest.fixture(scope="session")
def toolchain() -> Path:
    return ensure_toolchain()


@pytest.fixture(scope="module")
def package(toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("n8n-package")
    export_n8n(folder)
    (folder / "node_modules").symlink_to(toolchain, target_is_directory=True)
    run(["npm", "run", "build", "--silent"], folder, toolchain)
    return folder


@pytest.fixture(scope="module")
def report(package: Path, toolchain: Path) -> dict[str, Any]:
    checked: dict[str, Any] = node_json(CHECK_JS, package, toolchain)
    return checked


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The connector's routes (never called here, so MemberPass is unreachable)."""
    built = build_app("http://127.0.0.1:9/v1", tmp_path_factory.mktemp("n8n-routes") / "c.db")
    yield built
    built.extensions[services.DB].close()


def test_the_package_builds_and_every_class_loads(package: Path, report: dict[str, Any]) -> None:
    manifest = json.loads((package / "package.json").read_text())
    for compiled in manifest["n8n"]["nodes"] + manifest["n8n"]["credentials"]:
        assert (package / compiled).is_file(), f"tsc did not emit {compiled}"
    assert (package / "dist/nodes/MemberPassConnector/memberpass.svg").is_file()
    assert report["problems"] == []
    assert set(report["nodes"]) == {"memberPassConnector", "memberPassConnectorTrigger"}
    assert manifest["peerDependencies"] == {"n8n-workflow": "*"}
    assert "typescript" in manifest["devDependencies"]


def test_the_credential_tests_the_key_on_api_me(report: dict[str, Any], app: Flask) -> None:
    credential = report["credentials"]["memberPassConnectorApi"]
    assert credential["authenticate"] == {
        "type": "generic",
        "properties": {"headers": {"Authorization": "=Bearer {{$credentials.connectionKey}}"}},
    }
    request = credential["test"]["request"]
    assert "$credentials.baseUrl" in request["baseURL"]
    assert route_of(app, request["method"], request["url"]) == ("connections_api.me", {})


def _operations(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operation"]: op for op in report["nodes"]["memberPassConnector"]["operations"]}


def test_every_action_search_and_pair_is_one_operation_on_a_real_route(
    report: dict[str, Any], app: Flask
) -> None:
    catalog = load_catalog()
    ops = _operations(report)
    expected = {e.key for e in catalog.of_kind("action")} | {e.key for e in catalog.of_kind("search")}
    expected |= {SEARCH_OR_CREATE + s.key for s, _ in catalog.search_or_create_pairs()}
    assert set(ops) == expected
    for key, op in ops.items():
        found = route_of(app, op["request"]["method"], op["request"]["url"])
        assert found is not None, f"{key}: {op['request']} is no connector route"
        assert names_a_known_key(*found), f"{key}: {op['request']['url']} names no catalog entry"


def test_operation_fields_are_the_entry_inputs(report: dict[str, Any]) -> None:
    catalog = load_catalog()
    for key, op in _operations(report).items():
        if key.startswith(SEARCH_OR_CREATE):
            search = catalog.entries[key.removeprefix(SEARCH_OR_CREATE)]
            create = catalog.entries[search.or_create or ""]
            inputs = {f.key: f for f in create.inputs} | {f.key: f for f in search.inputs}
            kind = "body"
        else:
            entry = catalog.entries[key]
            inputs = {f.key: f for f in entry.inputs}
            kind = "body" if entry.kind == "action" else "query"
        assert set(op["sends"]) == set(inputs), key
        assert all(s == {**s, "type": kind, "property": name} for name, s in op["sends"].items()), key
        required = {k for k, f in inputs.items() if f.required}
        top = set(op["visible"]) - {"additionalFields"}
        assert top == required, key
        assert ("additionalFields" in op["visible"]) == bool(set(inputs) - required), key
        # n8n flags the required fields the user has not filled, and nothing once they are filled
        assert set(op["missing"]) <= required and op["remaining"] == [], key


def test_dropdowns_load_from_real_choices_sources(report: dict[str, Any], app: Flask) -> None:
    catalog = load_catalog()
    seen = 0
    for op in report["nodes"]["memberPassConnector"]["operations"]:
        for dropdown in op["loadOptions"]:
            request = dropdown["request"]
            found = route_of(app, request["method"], request["url"])
            assert found is not None and found[0] == "actions.choices", request
            source = catalog.get("choices", found[1]["source"])
            assert source is not None
            assert set(request.get("qs", {})) <= {f.key for f in source.inputs}
            seen += 1
    assert seen > 50


def test_the_trigger_node_offers_every_trigger(report: dict[str, Any]) -> None:
    catalog = load_catalog()
    node = report["nodes"]["memberPassConnectorTrigger"]
    assert node["webhooks"] == [
        {"name": "default", "httpMethod": "POST", "responseMode": "onReceived", "path": "webhook"}
    ]
    offered = {t["trigger"]: t for t in node["triggers"]}
    assert set(offered) == {t.key for t in all_triggers(catalog)}
    assert len(offered) == catalog.counts()["triggers"]
    assert offered["new_member"]["missing"] == ["project_id"]
    assert offered["member.joined"]["missing"] == []


# --- the trigger node's code, against a live connector ---------------------------------------------------
@pytest.fixture(scope="module")
def live(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Env, str]]:
    with (
        connected(sandbox_server, tmp_path_factory.mktemp("n8n-live") / "c.db") as env,
        serving(env.app) as url,
    ):
        yield env, url


def drive(package: Path, toolchain: Path, state: dict[str, Any], steps: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = node_json(DRIVE_JS, package, toolchain, {"state": state, "steps": steps})
    return result


def test_subscribe_check_and_unsubscribe_through_the_trigger_node(
    package: Path, toolchain: Path, live: tuple[Env, str]
) -> None:
    env, url = live
    webhook_url = "http://127.0.0.1:9/webhook/abc"
    state = {
        "baseUrl": url + "/",
        "key": env.key,
        "webhookUrl": webhook_url,
        "params": {"trigger": "new_member", "project_id": env.project_id, "firstRun": "from_now"},
        "staticData": {},
    }
    first = drive(
        package, toolchain, state, ["checkExists", "create", "checkExists", {"loadOptions": "projects"}]
    )
    results = first["results"]
    assert [r["ok"] for r in results] == [True] * 4, results
    assert results[0]["value"] is False and results[1]["value"] is True and results[2]["value"] is True
    assert env.project_id in {o["value"] for o in results[3]["value"]}
    static = first["staticData"]
    assert static["secret"].startswith("whsec_")
    listed = env.client.get("/api/subscriptions", headers=env.headers).get_json()["data"]
    mine = next(s for s in listed if s["id"] == static["subscriptionId"])
    assert (mine["target_url"], mine["trigger_key"], mine["inputs"]) == (
        webhook_url,
        "new_member",
        {"project_id": env.project_id},
    )

    second = drive(package, toolchain, {**state, "staticData": static}, ["delete", "checkExists", "delete"])
    assert [r.get("value") for r in second["results"]] == [True, False, True], second
    assert second["staticData"] == {}
    gone = env.client.get(f"/api/subscriptions/{static['subscriptionId']}", headers=env.headers)
    assert gone.status_code == 404


def test_a_stale_subscription_is_replaced(package: Path, toolchain: Path, live: tuple[Env, str]) -> None:
    """Activation after the trigger changed: checkExists deletes the old subscription and says "create"."""
    env, url = live
    old = env.subscribed("member.joined", target_url="http://127.0.0.1:9/webhook/abc")
    state = {
        "baseUrl": url,
        "key": env.key,
        "webhookUrl": "http://127.0.0.1:9/webhook/abc",
        "params": {"trigger": "new_project"},
        "staticData": {"subscriptionId": old, "secret": "whsec_x"},
    }
    out = drive(package, toolchain, state, ["checkExists"])
    assert out["results"] == [{"ok": True, "value": False}]
    assert out["staticData"] == {}
    assert env.client.get(f"/api/subscriptions/{old}", headers=env.headers).status_code == 404


def test_a_refused_subscription_fails_activation_with_the_connector_message(
    package: Path, toolchain: Path, live: tuple[Env, str]
) -> None:
    env, url = live
    params = {"trigger": "new_project"}
    state = {
        "baseUrl": url,
        "key": env.key,
        "webhookUrl": "ftp://nowhere",
        "params": params,
        "staticData": {},
    }
    out = drive(package, toolchain, state, ["create"])
    assert out["results"][0]["ok"] is False
    expected = env.subscribe("new_project", target_url="ftp://nowhere").get_json()["error"]["message"]
    assert out["results"][0]["error"] == expected
    assert out["staticData"] == {}


SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed(
    body: str, *, secret: str = SECRET, at: float | None = None, msg_id: str = "msg_1"
) -> dict[str, Any]:
    when = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }
    return {"headers": headers, "body": body}


def test_the_webhook_accepts_only_deliveries_signed_with_the_subscription_secret(
    package: Path, toolchain: Path
) -> None:
    body = json.dumps({"id": "usr_1", "status": "active", "request_id": "req_1"})
    other = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    rotated = signed(body)
    rotated["headers"]["webhook-signature"] = (
        signed(body, secret=other)["headers"]["webhook-signature"]
        + " "
        + (rotated["headers"]["webhook-signature"])
    )
    tampered = {**signed(body), "body": body.replace("usr_1", "usr_2")}
    cases = [
        signed(body),
        rotated,
        tampered,
        signed(body, secret=other),
        signed(body, at=time.time() - 330),
        signed(body, at=time.time() + 330),
        {"headers": {}, "body": body},
    ]
    state = {"baseUrl": "http://127.0.0.1:9", "key": "mpc_x", "webhookUrl": "", "params": {},
             "staticData": {"secret": SECRET}}  # fmt: skip
    results = drive(package, toolchain, state, [{"webhook": c} for c in cases])["results"]
    assert all(r["ok"] for r in results), results
    accepted = [r["value"]["answer"] for r in results[:2]]
    assert accepted == [{"workflowData": [[{"json": json.loads(body)}]]}] * 2
    for refused in results[2:]:
        assert refused["value"]["answer"] == {"noWebhookResponse": True}
        assert refused["value"]["response"]["status"] == 401
