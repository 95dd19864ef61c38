"""n8n workflow templates for the common recipes, using only n8n's built-in nodes against the connector.

- ``new-member-to-http.json`` (push): a Manual Trigger subscribes the Webhook node's production URL to
  ``member.joined``; each delivery is checked (Standard Webhooks signature, in a Code node over the raw
  body) and forwarded by an HTTP Request node;
- ``failed-payment-poll.json`` (polling): Schedule Trigger → HTTP Request ``GET /api/triggers/failed_payment``
  → Remove Duplicates (v2, "value is new" on ``id``) → HTTP Request;
- ``ban-member-from-form.json``: Form Trigger → HTTP Request ``POST /api/actions/ban_member``.

Connector calls authenticate with an HTTP Header Auth credential (``Authorization: Bearer mpc_…``); the
user picks it after import. URLs on ``example.com`` are the user's own destinations. Node ids are stable
(derived from the template and node names), so exports are reproducible.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

from connector.export.n8n_verify_code import VERIFY_JS

Node = dict[str, Any]
HEADER_AUTH = {"httpHeaderAuth": {"id": "memberpass-connector-key", "name": "MemberPass Connector key"}}
PROJECT_PLACEHOLDER = "prj_REPLACE_WITH_YOUR_PROJECT_ID"
SUBSCRIPTION = "sub_REPLACE_WITH_THE_SUBSCRIPTION_ID"
DESTINATION = "https://example.com/hooks"
NEW_MEMBER_EVENT = "member.joined"
FAILED_PAYMENT_TRIGGER = "failed_payment"
BAN_ACTION = "ban_member"


def _id(template: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"memberpass-connector/n8n/{template}/{name}"))


def node(
    template: str, name: str, type_: str, version: float, position: tuple[int, int], **params: Any
) -> Node:
    return {
        "id": _id(template, name),
        "name": name,
        "type": f"n8n-nodes-base.{type_}",
        "typeVersion": version,
        "position": list(position),
        "parameters": params,
    }


def connector_call(
    template: str, name: str, position: tuple[int, int], method: str, url: str, **params: Any
) -> Node:
    """An HTTP Request node calling the connector with the Header Auth credential."""
    call = node(
        template,
        name,
        "httpRequest",
        4.2,
        position,
        method=method,
        url=url,
        authentication="genericCredentialType",
        genericAuthType="httpHeaderAuth",
        **params,
        options={},
    )
    call["credentials"] = HEADER_AUTH
    return call


def forward(template: str, name: str, position: tuple[int, int], path: str) -> Node:
    """An HTTP Request node sending the item to the user's own endpoint."""
    return node(
        template,
        name,
        "httpRequest",
        4.2,
        position,
        method="POST",
        url=f"{DESTINATION}/{path}",
        sendBody=True,
        specifyBody="json",
        jsonBody="={{ JSON.stringify($json) }}",
        options={},
    )


def note(template: str, text: str, position: tuple[int, int], height: int = 320) -> Node:
    return node(template, "Read me", "stickyNote", 1, position, content=text, height=height, width=420)


def chain(*names: str) -> dict[str, Any]:
    """Connections joining ``names`` in order, main output 0 to main input 0."""
    return {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in itertools.pairwise(names)}


def workflow(name: str, nodes: list[Node], connections: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1"},
        "active": False,
        "pinData": {},
        "meta": {"templateCredsSetupCompleted": False, "description": description},
    }


def new_member(base: str, n8n_url: str) -> dict[str, Any]:
    t, path = "new-member-to-http", "memberpass-new-member"
    webhook = node(
        t,
        "MemberPass delivery",
        "webhook",
        2,
        (0, 300),
        httpMethod="POST",
        path=path,
        responseMode="onReceived",
        options={"rawBody": True},
    )
    webhook["webhookId"] = _id(t, "webhook-id")
    target = f"{n8n_url}/webhook/{path}"
    subscribe_body = (
        f'={{{{ JSON.stringify({{ target_url: "{target}", inputs: {{}}, first_run: "from_now" }}) }}}}'
    )
    nodes = [
        note(t, NEW_MEMBER_NOTE.format(base=base), (-480, -40), 400),
        node(t, "Subscribe (run once)", "manualTrigger", 1, (0, 0)),
        connector_call(
            t,
            "Create subscription",
            (220, 0),
            "POST",
            f"{base}/api/triggers/{NEW_MEMBER_EVENT}/subscriptions",
            sendBody=True,
            specifyBody="json",
            jsonBody=subscribe_body,
        ),
        webhook,
        node(t, "Verify signature", "code", 2, (220, 300), mode="runOnceForAllItems", jsCode=VERIFY_JS),
        forward(t, "Send to your endpoint", (440, 300), "new-member"),
    ]
    # not connected: run it on its own ("Execute step") with the id Create subscription answered
    nodes.append(
        connector_call(
            t, "Delete subscription", (440, -160), "DELETE", f"{base}/api/subscriptions/{SUBSCRIPTION}"
        )
    )
    connections = {
        **chain("Subscribe (run once)", "Create subscription"),
        **chain("MemberPass delivery", "Verify signature", "Send to your endpoint"),
    }
    return workflow(
        "MemberPass: new member → HTTP request",
        nodes,
        connections,
        "Signed REST-hook deliveries of member.joined, verified and forwarded.",
    )


def failed_payment(base: str, n8n_url: str) -> dict[str, Any]:
    t = "failed-payment-poll"
    query = {
        "parameters": [{"name": "project_id", "value": PROJECT_PLACEHOLDER}, {"name": "limit", "value": "50"}]
    }
    nodes = [
        note(t, FAILED_PAYMENT_NOTE.format(base=base), (-480, -40)),
        node(
            t,
            "Every 5 minutes",
            "scheduleTrigger",
            1.2,
            (0, 0),
            rule={"interval": [{"field": "minutes", "minutesInterval": 5}]},
        ),
        connector_call(
            t,
            "Failed payments",
            (220, 0),
            "GET",
            f"{base}/api/triggers/{FAILED_PAYMENT_TRIGGER}",
            sendQuery=True,
            queryParameters=query,
        ),
        node(
            t,
            "Only new ones",
            "removeDuplicates",
            2,
            (440, 0),
            operation="removeItemsSeenInPreviousExecutions",
            logic="removeItemsWithAlreadySeenKeyValues",
            dedupeValue="={{ $json.id }}",
            options={"historySize": 10000},
        ),
        forward(t, "Send to your endpoint", (660, 0), "failed-payment"),
    ]
    connections = chain("Every 5 minutes", "Failed payments", "Only new ones", "Send to your endpoint")
    return workflow(
        "MemberPass: failed payment → HTTP request (polling)",
        nodes,
        connections,
        "Polls failed payments every 5 minutes and forwards each new one once.",
    )


def ban_member(base: str, n8n_url: str) -> dict[str, Any]:
    t = "ban-member-from-form"
    fields = {
        "values": [
            {"fieldLabel": "Project ID", "requiredField": True},
            {"fieldLabel": "Member ID", "requiredField": True},
            {"fieldLabel": "Reason", "fieldType": "textarea"},
        ]
    }
    body = (
        '={{ JSON.stringify({ project_id: $json["Project ID"], member_id: $json["Member ID"], '
        'reason: $json["Reason"] }) }}'
    )
    form = node(
        t,
        "Ban form",
        "formTrigger",
        2.2,
        (0, 0),
        formTitle="Ban a member",
        formDescription="Bans a member from a MemberPass project.",
        formFields=fields,
        options={},
    )
    form["webhookId"] = _id(t, "form-id")
    nodes = [
        note(t, BAN_NOTE.format(base=base), (-480, -40), 260),
        form,
        connector_call(
            t,
            "Ban member",
            (220, 0),
            "POST",
            f"{base}/api/actions/{BAN_ACTION}",
            sendBody=True,
            specifyBody="json",
            jsonBody=body,
        ),
    ]
    return workflow(
        "MemberPass: ban a member from a form",
        nodes,
        chain("Ban form", "Ban member"),
        "A form whose submissions ban a member through the connector.",
    )


TEMPLATES: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "new-member-to-http.json": new_member,
    "failed-payment-poll.json": failed_payment,
    "ban-member-from-form.json": ban_member,
}


def templates(base_url: str, n8n_url: str) -> dict[str, dict[str, Any]]:
    """Every template, by file name, for a connector at ``base_url`` and an n8n instance at ``n8n_url``."""
    base, n8n = base_url.rstrip("/"), n8n_url.rstrip("/")
    return {name: build(base, n8n) for name, build in TEMPLATES.items()}


CREDENTIAL_HOWTO = (
    "Create an **HTTP Header Auth** credential named *MemberPass Connector key*: name `Authorization`, "
    "value `Bearer mpc_…` (the key shown once at {base}/connect)."
)
NEW_MEMBER_NOTE = (
    "## New member → your endpoint\n\n1. " + CREDENTIAL_HOWTO + "\n2. Activate the workflow, then run "
    "*Subscribe (run once)*: it subscribes the production URL of *MemberPass delivery* to `member.joined`.\n"
    "3. Copy `secret` from its output into `SECRET` in *Verify signature* (self-hosted n8n needs "
    "`NODE_FUNCTION_ALLOW_BUILTIN=crypto`).\n4. Deactivating does not unsubscribe: put the subscription's "
    "`id` in *Delete subscription* and execute that step (or `DELETE {base}/api/subscriptions/<id>`)."
)
FAILED_PAYMENT_NOTE = (
    "## Failed payment → your endpoint (polling)\n\n1. " + CREDENTIAL_HOWTO + "\n2. Put your project id in "
    "*Failed payments* (`GET {base}/api/choices/projects` lists them).\n3. *Only new ones* remembers ids "
    "across executions; its first run passes every payment returned (up to 50)."
)
BAN_NOTE = (
    "## Ban a member from a form\n\n1. " + CREDENTIAL_HOWTO + "\n2. Activate and share the form's production "
    "URL. Repeated submissions with the same input run once (the connector's idempotency)."
)
