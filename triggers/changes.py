"""Changes read from the event feed: the records of a `source: events` trigger (manifests/FORMAT.md).

A list sorted by creation never shows a change to an old record at its head, so "status changed" triggers
read ``GET /webhook-events?type=<the entry's events>&project_id=…`` (newest first, keyset) and turn each
event into one change record:

- ``event_type``, ``event_id`` and ``changed_at`` (the event's ``created_at``: the feed's order);
- with ``fetch``: the record it changed, read with its path variables taken from the trigger's inputs,
  else from the event's data (:func:`connector.manifests.event_data.event_value`: ``subscriber_id``,
  ``subscriber: {id}``, ``subscription: {…}``); its ``id`` is the value of the path's last variable, so
  the record key ``<record id>:<event id>`` (``dedupe: [id, event_id]``) is known before the read;
- without ``fetch``: the event's ``data`` itself.

Reading a record costs a call, so it is done in two steps. :meth:`ChangeReader.changes` makes the change
records from one feed page without any call: what the polling core needs to order and dedupe them.
:meth:`ChangeReader.complete` then reads the records of the changes that are handed over (one call per
distinct record; the record as it is when the change is picked up). A record MemberPass no longer has
(404) leaves its declared fields null. An event whose data lacks a path variable (a payload shape the
docs do not describe) is skipped with a warning rather than stopping the trigger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from actions.shape import records
from connector.client import Result
from connector.errors import NotFoundError
from connector.manifests.event_data import event_value
from connector.manifests.model import PATH_VARIABLE, Entry

log = logging.getLogger("triggers.changes")

PENDING = "_change_record_path"  # on a change record whose record is still to read: the path to read
Get = Callable[[str], Result]  # GET one path of MemberPass (counted in the poll's stats, errors explained)


class ChangeReader:
    """The change records of one `source: events` trigger with its inputs; ``get`` reads a record."""

    def __init__(self, entry: Entry, inputs: dict[str, Any], get: Get) -> None:
        self.entry, self.inputs, self.get = entry, inputs, get

    def changes(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One change record per event of a feed page, in the page's order; no call is made."""
        made = (self.change(event) for event in events)
        return [change for change in made if change is not None]

    def change(self, event: dict[str, Any]) -> dict[str, Any] | None:
        raw = event.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        about = {
            "event_type": event.get("type"),
            "event_id": event.get("id"),
            "changed_at": event.get("created_at"),
            "request_id": event.get("request_id"),
        }
        fetch = self.entry.fetch
        if fetch is None:
            return {**data, **about}
        values = {var: self._value(var, data) for var in fetch.path_vars}
        missing = [var for var, value in values.items() if value is None]
        if missing:
            log.warning("trigger %s: event %s (%s) has no %s in its data; skipped", self.entry.key,
                        about["event_id"], about["event_type"], ", ".join(missing))  # fmt: skip
            return None
        path = PATH_VARIABLE.sub(lambda m: quote(str(values[m.group(1)]), safe=""), fetch.path)
        change = {**about, PENDING: path}
        return {"id": values[fetch.path_vars[-1]], **change} if fetch.path_vars else change

    def _value(self, var: str, data: dict[str, Any]) -> str | None:
        given = self.inputs.get(var)
        return str(given) if given not in (None, "") else event_value(data, var)

    def complete(self, changes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The change records with their records read (each distinct record once); others as they are.
        The ``id`` stays the one the event names, so an item's key is the key the polling core saw."""
        read: dict[str, dict[str, Any]] = {}
        whole = []
        for change in changes:
            path = change.get(PENDING)
            if not isinstance(path, str):
                whole.append(dict(change))
                continue
            if path not in read:
                read[path] = self._read(path)
            about = {k: v for k, v in change.items() if k != PENDING}
            record = read[path]
            request_id = record.get("request_id") or about.get("request_id")
            whole.append({**record, **about, "request_id": request_id})
        return whole

    def _read(self, path: str) -> dict[str, Any]:
        try:
            result = self.get(path)
        except NotFoundError:
            return {}
        found = records(result.body, self.entry.output)
        return {**found[0], "request_id": result.request_id} if found else {}


def is_pending(record: dict[str, Any]) -> bool:
    """A change record whose record has not been read yet (see :meth:`ChangeReader.complete`)."""
    return PENDING in record
