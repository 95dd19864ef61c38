"""The n8n workflow templates: valid workflow JSON, built-in nodes only, every connector URL a real route.

Connector URLs are checked against the Flask ``url_map`` of ``create_app()`` and the catalog (the key in
``/api/triggers/<key>`` or ``/api/actions/<key>`` must exist), and the inputs they send against the entry's
inputs. The signature-checking Code node is run in Node against deliveries signed by the reference
Standard Webhooks library.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from standardwebhooks import Webhook

from connector.connections import services
from connector.export.n8n import export_n8n
from connector.export.n8n_templates import DESTINATION, templates
from connector.export.n8n_verify_code import SECRET_PLACEHOLDER
from connector.manifests import load_catalog
from tests.connections.support import build_app
from tests.export.n8n_support import HERE, names_a_known_key, require_node, route_of
from triggers.api import SubscribeSchema
from triggers.source import trigger_entry

BASE = "https://connector.test:8443"
N8N = "https://n8n.test"
BUILT_IN = {
    "n8n-nodes-base.webhook",
    "n8n-nodes-base.httpRequest",
    "n8n-nodes-base.scheduleTrigger",
    "n8n-nodes-base.removeDuplicates",
    "n8n-nodes-base.code",
    "n8n-nodes-base.manualTrigger",
    "n8n-nodes-base.formTrigger",
    "n8n-nodes-base.stickyNote",
}
EXPRESSION = re.compile(r"\{\{.*?\}\}")
ALL = templates(BASE, N8N)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    built = build_app("http://127.0.0.1:9/v1", tmp_path_factory.mktemp("n8n-templates") / "c.db")
    yield built
    built.extensions[services.DB].close()


def http_nodes(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.httpRequest"]


def plain_url(url: str) -> str:
    """An n8n parameter as a concrete URL: the ``=`` of expressions dropped, each ``{{ … }}`` a value."""
    return EXPRESSION.sub("x", url.removeprefix("="))


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_template_is_valid_workflow_json(name: str) -> None:
    workflow = json.loads(json.dumps(ALL[name]))
    assert isinstance(workflow["name"], str) and workflow["name"]
    assert isinstance(workflow["settings"], dict)
    names = [n["name"] for n in workflow["nodes"]]
    assert len(names) == len(set(names)), "node names must be unique"
    for node in workflow["nodes"]:
        uuid.UUID(node["id"])
        assert node["type"] in BUILT_IN, f"{node['type']} is not one of n8n's built-in nodes used here"
        assert isinstance(node["typeVersion"], int | float)
        assert len(node["position"]) == 2 and all(isinstance(v, int) for v in node["position"])
        assert isinstance(node["parameters"], dict)
    for source, outputs in workflow["connections"].items():
        assert source in names
        for output in outputs["main"]:
            for link in output:
                assert link["node"] in names and link["type"] == "main" and isinstance(link["index"], int)
    triggers = [n for n in workflow["nodes"] if n["type"].endswith(("Trigger", ".webhook"))]
    assert triggers, "a workflow needs a trigger"
    for trigger in triggers:
        assert trigger["name"] in workflow["connections"], f"{trigger['name']} starts nothing"


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_connector_url_is_a_real_route(name: str, app: Flask) -> None:
    calls = 0
    for node in http_nodes(ALL[name]):
        params = node["parameters"]
        url = plain_url(params["url"])
        if urlsplit(url).hostname == urlsplit(DESTINATION).hostname:
            assert "credentials" not in node, "the connection key must not go to the user's own endpoint"
            continue
        assert url.startswith(BASE + "/"), f"{node['name']}: {url} is neither the connector nor example.com"
        found = route_of(app, params["method"], url[len(BASE) :])
        assert found is not None, f"{node['name']}: {params['method']} {url} is no connector route"
        assert names_a_known_key(*found), f"{node['name']}: {url} names no catalog entry"
        assert node["credentials"] == {"httpHeaderAuth": {"id": "memberpass-connector-key",
                                                          "name": "MemberPass Connector key"}}  # fmt: skip
        assert params["authentication"] == "genericCredentialType"
        assert params["genericAuthType"] == "httpHeaderAuth"
        check_inputs(found, params)
        calls += 1
    assert calls >= 1


def sent_keys(params: dict[str, Any]) -> set[str]:
    if params.get("sendQuery"):
        return {p["name"] for p in params["queryParameters"]["parameters"]}
    if params.get("sendBody"):
        return set(re.findall(r"(\w+): ", params["jsonBody"].split("stringify(", 1)[1]))
    return set()


def check_inputs(found: tuple[str, dict[str, Any]], params: dict[str, Any]) -> None:
    """What the node sends is what the route takes."""
    endpoint, args = found
    sent = sent_keys(params)
    if endpoint == "triggers.poll_endpoint":
        assert sent <= {f.key for f in trigger_entry(args["key"]).inputs} | {"limit", "sample"}
        assert {f.key for f in trigger_entry(args["key"]).inputs if f.required} <= sent
    elif endpoint == "triggers.subscribe":
        assert "target_url" in sent and sent <= set(SubscribeSchema().fields)
    elif endpoint == "actions.action":
        entry = load_catalog().entries[args["key"]]
        assert sent <= {f.key for f in entry.inputs}
        assert {f.key for f in entry.inputs if f.required} <= sent
    elif endpoint == "triggers.delete_subscription":
        assert sent == set()
    else:
        raise AssertionError(f"no input check for {endpoint}")


def test_the_failed_payment_recipe_polls_and_keeps_only_new_items() -> None:
    workflow = ALL["failed-payment-poll.json"]
    kinds = [
        n["type"].rsplit(".", 1)[1] for n in workflow["nodes"] if n["type"] != "n8n-nodes-base.stickyNote"
    ]
    assert kinds == ["scheduleTrigger", "httpRequest", "removeDuplicates", "httpRequest"]
    dedupe = next(n for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.removeDuplicates")
    assert dedupe["typeVersion"] == 2
    assert dedupe["parameters"]["operation"] == "removeItemsSeenInPreviousExecutions"
    assert dedupe["parameters"]["logic"] == "removeItemsWithAlreadySeenKeyValues"
    assert dedupe["parameters"]["dedupeValue"] == "={{ $json.id }}"


def test_the_new_member_recipe_subscribes_its_own_webhook_url() -> None:
    workflow = ALL["new-member-to-http.json"]
    webhook = next(n for n in workflow["nodes"] if n["type"] == "n8n-nodes-base.webhook")
    assert webhook["parameters"]["options"] == {"rawBody": True}
    subscribe = next(n for n in http_nodes(workflow) if n["name"] == "Create subscription")
    assert (
        f'target_url: "{N8N}/webhook/{webhook["parameters"]["path"]}"' in subscribe["parameters"]["jsonBody"]
    )
    assert workflow["connections"]["MemberPass delivery"]["main"][0][0]["node"] == "Verify signature"


def run_code(code: str, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    items = [
        {
            "json": {"headers": d["headers"], "body": json.loads(d["body"])},
            "binary": {"data": {"data": base64.b64encode(d["body"].encode()).decode()}},
        }
        for d in deliveries
    ]
    done = subprocess.run(
        ["node", str(HERE / "n8n_code_node.js")],
        input=json.dumps({"code": code, "items": items}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def delivery(body: str, secret: str, at: float) -> dict[str, Any]:
    when = datetime.fromtimestamp(at, tz=UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(at)),
               "webhook-signature": Webhook(secret).sign("msg_1", when, body)}  # fmt: skip
    return {"headers": headers, "body": body}


@pytest.mark.node
def test_the_code_node_verifies_standard_webhooks_signatures() -> None:
    require_node()
    code_node = next(n for n in ALL["new-member-to-http.json"]["nodes"] if n["type"] == "n8n-nodes-base.code")
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    code = code_node["parameters"]["jsCode"].replace(SECRET_PLACEHOLDER, secret)
    body = json.dumps({"id": "evt_1", "type": "member.joined", "data__member_id": "usr_1"})
    now = time.time()

    good = run_code(code, [delivery(body, secret, now), delivery(body, secret, now - 60)])
    assert good == {
        "ok": True,
        "out": [{"json": json.loads(body), "pairedItem": {"item": i}} for i in (0, 1)],
    }

    wrong_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    tampered = {**delivery(body, secret, now), "body": body.replace("usr_1", "usr_2")}
    for bad in (delivery(body, wrong_secret, now), tampered, delivery(body, secret, now - 400)):
        refused = run_code(code, [delivery(body, secret, now), bad])
        assert refused["ok"] is False and "Delivery refused" in refused["error"]
    assert run_code(code_node["parameters"]["jsCode"], [delivery(body, secret, now)])["ok"] is False


def test_export_writes_the_templates_beside_the_package(tmp_path: Path) -> None:
    written = export_n8n(tmp_path, base_url=BASE + "/", n8n_url=N8N)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {f"workflows/{n}" for n in ALL} <= names
    assert "package.json" in names and "nodes/MemberPassConnector/MemberPassConnector.node.ts" in names
    for name, expected in ALL.items():
        assert json.loads((tmp_path / "workflows" / name).read_text()) == expected
