"""The sandbox's in-memory state: tables of plain dicts under one re-entrant lock.

Every stored object is a dict of its public fields plus private bookkeeping keys that start with ``_``:
``_seq`` (insertion order, used for newest-first lists and keyset cursors), ``_team`` (owning team id) and,
for project-level objects, ``project_id``. :func:`public` strips the private keys before an object is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from connector.sandbox.clock import SandboxClock
from connector.sandbox.ids import new_id
from connector.sandbox.scheduler import Scheduler
from connector.sandbox.settings import SandboxSettings
from connector.sandbox.timeutil import iso

API_VERSION = "2026-05-01"

Obj = dict[str, Any]
EventListener = Callable[[Obj], None]


def public(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class Store:
    def __init__(self, settings: SandboxSettings, clock: SandboxClock) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Obj]] = {}
        self._seq = 0
        self.event_listeners: list[EventListener] = []
        self.scheduler = Scheduler(clock, settings.dispatch_interval)

    # --- tables -----------------------------------------------------------------------------------------
    def table(self, name: str) -> dict[str, Obj]:
        return self.tables.setdefault(name, {})

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def insert(self, table: str, obj: Obj) -> Obj:
        with self.lock:
            obj["_seq"] = self.next_seq()
            self.table(table)[obj["id"]] = obj
            return obj

    def get(self, table: str, obj_id: str) -> Obj | None:
        return self.table(table).get(obj_id)

    def delete(self, table: str, obj_id: str) -> Obj | None:
        with self.lock:
            return self.table(table).pop(obj_id, None)

    def rows(self, table: str, where: Callable[[Obj], bool] | None = None) -> list[Obj]:
        """Rows of a table, newest first."""
        with self.lock:
            items = [o for o in self.table(table).values() if where is None or where(o)]
        items.sort(key=lambda o: o["_seq"], reverse=True)
        return items

    # --- events and activity ----------------------------------------------------------------------------
    def emit(self, team_id: str, project_id: str | None, event_type: str, data: Obj) -> Obj:
        """Record a domain event in the feed and hand it to the listeners (webhook fan-out)."""
        with self.lock:
            event = {
                "id": new_id("evt"),
                "type": event_type,
                "created_at": self.iso_now(),
                "api_version": API_VERSION,
                "project_id": project_id,
                "data": data,
                "_team": team_id,
                "_at": self.clock.now(),
            }
            self.insert("events", event)
            for listener in self.event_listeners:
                listener(event)
            return event

    def log_activity(
        self,
        team_id: str,
        subject_type: str,
        subject_id: str,
        event: str,
        description: str,
        *,
        causer_id: str | None = None,
        changes: Obj | None = None,
        actor_kind: str = "api_token",
        project_id: str | None = None,
    ) -> Obj:
        entry = {
            "id": new_id("act"),
            "log_name": "default",
            "description": description,
            "event": event,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "causer_type": "token" if actor_kind == "api_token" else actor_kind,
            "causer_id": causer_id,
            "properties": {"changes": changes or {}},
            "actor_kind": actor_kind,
            "created_at": self.iso_now(),
            "_team": team_id,
            "project_id": project_id,
        }
        return self.insert("activity", entry)

    def iso_now(self) -> str:
        return iso(self.clock.now())

    def reset(self) -> None:
        with self.lock:
            self.tables.clear()


def newest_first(items: Iterable[Obj]) -> list[Obj]:
    return sorted(items, key=lambda o: o["_seq"], reverse=True)
