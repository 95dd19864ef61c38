"""Ids out of a MemberPass event's ``data``, whichever documented shape it has.

The same fact is written several ways (webhooks.md §9.3, §9.5): the per-event pages give flat ids
(``{subscription_id, subscriber_id, plan_id}``), ``member.banned`` / ``unbanned`` / ``kicked`` nest the
subscriber (``{subscriber: {id, telegram_user_id, status}}``), and the family pages nest whole objects
(``{subscription: {id, plan_id, subscriber_id, …}, subscriber: {…}}``). :func:`event_value` reads a name
such as ``subscriber_id`` from any of them, in this order:

1. ``data[name]``: the flat shape (``subscriber_id``);
2. ``data[noun]["id"]`` when ``name`` is ``<noun>_id``: the object named after it (``subscriber: {id}``);
3. ``data[other][name]`` for a nested object, in the data's order (``subscription: {subscriber_id}``).

Only non-empty strings and integers count (ids, never objects). The manifest checks use it on the samples
of ``events.yaml``; triggers reading the event feed use it on live events.
"""

from __future__ import annotations

from typing import Any

ID_SUFFIX = "_id"


def _usable(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def event_value(data: Any, name: str) -> str | None:
    """The value of ``name`` in an event's ``data`` (see the module docstring), or None."""
    if not isinstance(data, dict):
        return None
    found = _usable(data.get(name))
    if found is not None:
        return found
    if name.endswith(ID_SUFFIX):
        named = data.get(name.removesuffix(ID_SUFFIX))
        if isinstance(named, dict) and (found := _usable(named.get("id"))) is not None:
            return found
    for value in data.values():
        if isinstance(value, dict) and (found := _usable(value.get(name))) is not None:
            return found
    return None


def id_names(data: Any) -> set[str]:
    """Every ``…_id`` name :func:`event_value` finds in ``data`` (for messages that say what is there)."""
    if not isinstance(data, dict):
        return set()
    names = {k for k, v in data.items() if k.endswith(ID_SUFFIX) and _usable(v) is not None}
    for key, value in data.items():
        if isinstance(value, dict):
            names |= {key + ID_SUFFIX} if _usable(value.get("id")) is not None else set()
            names |= {k for k, v in value.items() if k.endswith(ID_SUFFIX) and _usable(v) is not None}
    return names
