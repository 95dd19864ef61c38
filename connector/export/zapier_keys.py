"""Zapier operation keys from connector keys, and back.

Zapier keys must match ``^[a-zA-Z]+[a-zA-Z0-9_]*$``; the connector's keys are snake_case except event
triggers, whose key is the MemberPass event name (``subscription.created``). The mapping is fixed forever
(a Zap stores the key, so changing it breaks every Zap that uses the trigger):

| Connector key | Zapier key |
|---|---|
| ``new_member`` (trigger, action, search) | ``new_member`` (unchanged) |
| ``subscription.created`` (event trigger) | ``subscription__created`` (each ``.`` becomes ``__``) |
| ``plans`` (choices source) | ``choices__plans`` (a hidden trigger that fills dropdowns) |

Reversible because connector keys never contain ``__`` (manifest keys and event segments are snake_case
words joined by single underscores); :func:`check_keys` refuses a catalog where that would break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ZAPIER_KEY = re.compile(r"^[a-zA-Z]+[a-zA-Z0-9_]*$")
EVENT_SEPARATOR = "__"
CHOICES_PREFIX = "choices__"


def event_key(event_name: str) -> str:
    """``subscription.created`` → ``subscription__created``."""
    return event_name.replace(".", EVENT_SEPARATOR)


def event_name(key: str) -> str:
    """``subscription__created`` → ``subscription.created`` (the inverse of :func:`event_key`)."""
    return key.replace(EVENT_SEPARATOR, ".")


def choices_key(source: str) -> str:
    """The hidden trigger behind the ``source`` dropdown: ``plans`` → ``choices__plans``."""
    return CHOICES_PREFIX + source


def connector_key(zapier_key: str, kind: str) -> str:
    """The connector key a Zapier key stands for; ``kind`` is ``event``, ``choices`` or anything else
    (actions, searches and list-backed triggers keep their key)."""
    if kind == "event":
        return event_name(zapier_key)
    if kind == "choices":
        return zapier_key.removeprefix(CHOICES_PREFIX)
    return zapier_key


def check_keys(connector_keys: Iterable[str], events: Iterable[str]) -> list[str]:
    """Problems that would make the mapping invalid or ambiguous (empty when it is sound)."""
    problems = []
    for key in connector_keys:
        if EVENT_SEPARATOR in key or not ZAPIER_KEY.match(key):
            problems.append(f"`{key}` cannot be a Zapier key (letters, digits, single underscores).")
    for name in events:
        key = event_key(name)
        if EVENT_SEPARATOR in name or not ZAPIER_KEY.match(key) or event_name(key) != name:
            problems.append(f"event `{name}` does not map reversibly to a Zapier key.")
    return problems
