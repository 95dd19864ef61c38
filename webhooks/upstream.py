"""Webhook mode: register and remove the MemberPass webhook subscription behind a connector subscription.

- :func:`subscribe` → ``POST /v1/webhook-subscriptions`` with ``{name: "MemberPass Connector — <trigger>",
  url: <CONNECTOR_PUBLIC_URL>/hooks/memberpass/<subscription id>, events: [<event>], project_id?}`` and
  the Idempotency-Key ``mpc-sub-<subscription id>-create``, so a retried or repeated registration never
  makes a second upstream subscription. MemberPass's id and its one-time secret are stored on the row, the
  secret AES-GCM encrypted and bound to ``subscription:<id>:upstream_secret``.
- :func:`unsubscribe` → ``DELETE /v1/webhook-subscriptions/{id}``; 404 means it is gone already (as the
  n8n node treats it), which is success.

Gaps (a webhook MemberPass gave up on, the connector down for longer than the retry curve) are filled by
the reconciliation poll: the triggers scheduler polls the event feed of a webhook-mode subscription every
``triggers.subscriptions.RECONCILE_INTERVAL`` seconds with the same engine as polling mode. Both paths
enqueue the event under its event id (``INSERT OR IGNORE`` on (subscription, record key)), so an event
that arrives by webhook and is also read by the poll is queued once.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from connector.client import MemberPassClient
from connector.clock import Clock
from connector.config import Settings
from connector.crypto import KeyRing
from connector.errors import ConfigError, ConnectorError, NotFoundError
from connector.storage.connections import ConnectionRepository
from connector.storage.db import ConnectorDB
from triggers.subscriptions import Subscription, SubscriptionRepo

log = logging.getLogger("webhooks.upstream")
PATH = "/webhook-subscriptions"
CALL_BUDGET = 20.0  # seconds for one registration call, retries included


def hook_url(public_url: str, subscription_id: str) -> str:
    return f"{public_url.rstrip('/')}/hooks/memberpass/{subscription_id}"


def registration(subscription: Subscription, public_url: str) -> dict[str, Any]:
    """The body of ``POST /v1/webhook-subscriptions`` for this subscription."""
    body: dict[str, Any] = {
        "name": f"MemberPass Connector — {subscription.trigger_key}",
        "url": hook_url(public_url, subscription.id),
        "events": [subscription.trigger_key],
    }
    project_id = subscription.inputs.get("project_id")
    if project_id:
        body["project_id"] = project_id
    return body


@dataclass(frozen=True)
class Upstream:
    cdb: ConnectorDB
    ring: KeyRing
    clock: Clock
    settings: Settings

    @classmethod
    def from_app(cls) -> Upstream:
        from connector.connections.services import current_clock, current_db, current_ring, current_settings

        return cls(current_db(), current_ring(), current_clock(), current_settings())

    @property
    def subscriptions(self) -> SubscriptionRepo:
        return SubscriptionRepo(self.cdb, self.ring, self.clock)

    def client(self, connection_id: str) -> MemberPassClient:
        token = ConnectionRepository(self.cdb, self.ring, self.clock).token(connection_id)
        return MemberPassClient(self.settings.api_base, token, clock=self.clock, total_budget=CALL_BUDGET)

    def subscribe(self, subscription: Subscription) -> Subscription:
        """Register the MemberPass webhook subscription and store its id and secret."""
        public_url = self.settings.public_url
        if not public_url:
            raise ConfigError(
                "Webhook mode needs CONNECTOR_PUBLIC_URL.",
                remediation="Set CONNECTOR_PUBLIC_URL to the URL where MemberPass reaches this connector.",
            )
        with self.client(subscription.connection_id) as client:
            result = client.request(
                "POST",
                PATH,
                json=registration(subscription, public_url),
                idempotency_key=f"mpc-sub-{subscription.id}-create",
            )
        data, secret = result.data, result.body.get("secret") if isinstance(result.body, dict) else None
        upstream_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(upstream_id, str) or not isinstance(secret, str) or not secret:
            raise ConnectorError(
                "MemberPass answered the webhook registration without an id and a secret.",
                code="UPSTREAM_BAD_ANSWER",
                status=502,
                request_id=result.request_id,
            )
        self.subscriptions.set_upstream(subscription.id, upstream_id, secret)
        log.info(
            "subscription %s: MemberPass webhook subscription %s registered", subscription.id, upstream_id
        )
        return self.subscriptions.get(subscription.id) or subscription

    def ensure_active(self, subscription: Subscription) -> bool:
        """Re-enable the MemberPass endpoint if MemberPass auto-disabled it (20 failed pushes in a row, e.g.
        while this connector was down; webhooks.md §6); True when it did. Called before each reconciliation
        poll, whose feed read then fills what the disabled spell missed."""
        if subscription.upstream_id is None:
            return False
        path = f"/webhook-endpoints/{subscription.upstream_id}"
        with self.client(subscription.connection_id) as client:
            data = client.request("GET", path, priority="background").data
            if not isinstance(data, dict) or data.get("is_active", True) is not False:
                return False
            client.request(
                "POST",
                path,
                json={"is_active": True},
                idempotency_key=f"mpc-sub-{subscription.id}-enable-{data.get('disabled_at')}",
                priority="background",
            )
        log.warning(
            "subscription %s: MemberPass had disabled its webhook endpoint %s (disabled at %s); re-enabled",
            subscription.id, subscription.upstream_id, data.get("disabled_at"),
        )  # fmt: skip
        return True

    def unsubscribe(self, subscription: Subscription) -> None:
        """Delete the MemberPass webhook subscription, if one was registered."""
        if subscription.upstream_id is None:
            return
        gone_already = contextlib.suppress(NotFoundError)
        with self.client(subscription.connection_id) as client, gone_already:
            client.request(
                "DELETE",
                f"{PATH}/{subscription.upstream_id}",
                idempotency_key=f"mpc-sub-{subscription.id}-delete",
            )
        self.subscriptions.set_upstream(subscription.id, None, None)
        log.info("subscription %s: MemberPass webhook subscription %s removed", subscription.id,
                 subscription.upstream_id)  # fmt: skip


def subscribe(subscription: Subscription) -> Subscription:
    """Webhook mode registration, inside an app context (called by ``triggers.api``)."""
    return Upstream.from_app().subscribe(subscription)


def ensure_active(subscription: Subscription) -> bool:
    """Re-enable an auto-disabled MemberPass endpoint, inside an app context (before a reconciliation)."""
    return Upstream.from_app().ensure_active(subscription)


def unsubscribe(subscription: Subscription) -> None:
    """Webhook mode removal, inside an app context (called by ``triggers.api`` and the delivery worker)."""
    Upstream.from_app().unsubscribe(subscription)
