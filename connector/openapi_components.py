"""Schemas of what the connector's fixed routes answer: connections, subscriptions, deliveries, dropdown
options, the catalog and OAuth tokens. Fields the connector may add later are allowed (clients must ignore
unknown fields), so only what a client relies on is required."""

from __future__ import annotations

from typing import Any

from connector.openapi_schemas import Schema, ref

TIME = {"type": "string", "description": "RFC 3339, UTC."}
MAYBE_TIME = {"type": ["string", "null"], "description": "RFC 3339, UTC."}
ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}
TOKEN = {"type": "string", "description": "A MemberPass token, `mpt_live_…` or `mpt_test_…`."}


def obj(required: list[str], props: dict[str, Any], *, extra: bool = True) -> Schema:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": extra}


def component_schemas() -> dict[str, Schema]:
    """The schemas the fixed routes answer with, by component name."""
    connection = obj(
        ["id", "label", "team", "environment", "abilities", "status"],
        {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "team": obj(["id", "name"], {"id": {"type": "string"}, "name": {"type": "string"}}),
            "environment": {"type": "string", "enum": ["live", "test"]},
            "abilities": {"type": "array", "items": {"type": "string"}},
            "abilities_source": {"type": "string"},
            "scopes": ANY_OBJECT,
            "token_id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["active", "needs_attention", "revoked"]},
            "status_reason": {"type": ["string", "null"]},
            "status_changed_at": TIME,
            "created_via": {"type": "string"},
            "created_at": TIME,
            "verified_at": TIME,
            "revoked_at": MAYBE_TIME,
        },
    )
    subscription = obj(
        ["id", "trigger_key", "mode", "status", "target_url", "inputs", "first_run", "created_at"],
        {
            "id": {"type": "string"},
            "trigger_key": {"type": "string"},
            "mode": {"type": "string", "enum": ["polling", "webhook"]},
            "status": {"type": "string", "enum": ["active", "held", "disabled"]},
            "status_reason": {"type": ["string", "null"]},
            "target_url": {"type": "string"},
            "inputs": ANY_OBJECT,
            "first_run": obj(
                ["policy"],
                {
                    "policy": {"type": "string", "enum": ["from_now", "last_n", "since"]},
                    "n": {"type": "integer"},
                    "since": {"type": "string"},
                },
            ),
            "poll_interval": {"type": "number"},
            "consecutive_failures": {"type": "integer"},
            "created_at": TIME,
            "last_poll_at": MAYBE_TIME,
            "next_poll_at": MAYBE_TIME,
            "cursor": {"type": ["string", "null"]},
            "backlog_pages": {"type": "integer"},
            "last_poll": {"type": ["object", "null"]},
        },
    )
    delivery = obj(
        ["id", "subscription_id", "record_key", "status", "attempts", "created_at", "payload"],
        {
            "id": {"type": "string", "description": "The `webhook-id` of every attempt."},
            "subscription_id": {"type": "string"},
            "record_key": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivered", "failed", "dead"]},
            "attempts": {"type": "integer"},
            "last_status": {"type": ["integer", "null"]},
            "last_error": {"type": ["string", "null"]},
            "created_at": TIME,
            "next_attempt_at": MAYBE_TIME,
            "delivered_at": MAYBE_TIME,
            "payload": {"description": "The body sent."},
        },
    )
    return {
        "Connection": connection,
        "ConnectionAnswer": obj(["data"], {"data": ref("Connection")}),
        "ConnectionCreated": obj(
            ["data", "connection_key"],
            {
                "data": ref("Connection"),
                "connection_key": {"type": "string", "description": "`mpc_…`, shown once."},
                "notice": {"type": "string"},
            },
        ),
        "Choice": obj(["id", "label"], {"id": {"type": ["string", "integer"]}, "label": {"type": "string"}}),
        "Subscription": subscription,
        "SubscriptionCreated": {
            "allOf": [
                ref("Subscription"),
                obj(
                    ["secret"],
                    {
                        "secret": {
                            "type": "string",
                            "description": "Standard Webhooks signing secret, `whsec_…`; shown once.",
                        }
                    },
                ),
            ]
        },
        "SubscribeRequest": obj(
            ["target_url"],
            {
                "target_url": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000,
                    "description": "http(s) URL receiving signed deliveries.",
                },
                "inputs": ANY_OBJECT,
                "first_run": {
                    "type": "string",
                    "enum": ["from_now", "last_n", "since"],
                    "default": "from_now",
                },
                "n": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "With `last_n`."},
                "since": {"type": "string", "format": "date-time", "description": "With `since`."},
                "poll_interval": {"type": "number", "minimum": 1, "maximum": 86400},
            },
            extra=False,
        ),
        "PollLogEntry": obj(["at"], {"at": TIME}),
        "Delivery": delivery,
        "Catalog": obj(
            ["triggers", "actions", "searches", "choices", "counts"],
            {
                k: {"type": "array", "items": ANY_OBJECT}
                for k in ("triggers", "actions", "searches", "choices")
            }
            | {"counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
        ),
        "OAuthToken": obj(
            ["access_token", "token_type", "expires_in", "refresh_token"],
            {
                "access_token": {"type": "string", "description": "A connection key (`mpc_…`), valid 1 h."},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer"},
                "refresh_token": {"type": "string"},
                "connection_id": {"type": "string"},
            },
        ),
        "OAuthError": obj(
            ["error"],
            {
                "error": {"type": "string"},
                "error_description": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
            },
        ),
    }
