"""Record keys, the bounded seen set, and the items of Zapier's polling contract.

A record's key joins its ``dedupe`` field values with ``:`` (``"mem_01H…"`` for new-record triggers,
``"sub_01H…:2026-05-18T10:05:00Z"`` for updated-record ones), so a change fires once per version. The same
string is the item ``id`` the polling endpoint returns, and it never changes format between versions.
MemberPass ids carry no ``:`` (C14: prefix + ULID), so keys are unambiguous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from triggers.cursor import OrderingValueError, PollSpec, format_ts, ordering_value, parse_ts


def record_key(record: Any, fields: Sequence[str]) -> str:
    """The dedupe key of ``record``; :class:`OrderingValueError` when a dedupe field is missing."""
    parts = []
    for name in fields:
        value = record.get(name) if isinstance(record, dict) else None
        if value is None or value == "":
            rid = record.get("id") if isinstance(record, dict) else None
            raise OrderingValueError(
                f"Record {rid!r} has no `{name}`, which its trigger dedupes on.",
                context={"record_id": rid, "field": name},
            )
        parts.append(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    return ":".join(parts)


class SeenSet:
    """Keys with the ordering value they were handed over at, oldest first; the working copy of
    ``PollState.seen`` during one poll."""

    def __init__(self, pairs: Iterable[tuple[str, int]] = ()) -> None:
        self._at: dict[str, int] = {}
        for key, at in pairs:
            self._at.setdefault(key, at)

    @classmethod
    def from_state(cls, seen: Iterable[tuple[str, str]]) -> SeenSet:
        return cls((key, parse_ts(at)) for key, at in seen)

    def to_state(self) -> tuple[tuple[str, str], ...]:
        return tuple((key, format_ts(at)) for key, at in self._ordered())

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def __len__(self) -> int:
        return len(self._at)

    def at(self, key: str) -> int | None:
        return self._at.get(key)

    def add(self, key: str, at: int) -> None:
        self._at.setdefault(key, at)

    def _ordered(self) -> list[tuple[str, int]]:
        return sorted(self._at.items(), key=lambda pair: pair[1])

    def prune(self, floor: int | None, max_seen: int) -> int | None:
        """Drop keys before ``floor``; past ``max_seen`` keys, drop whole granules from the oldest end
        (never the newest one) and raise the floor to the oldest kept granule. Returns the floor."""
        entries = [e for e in self._ordered() if floor is None or e[1] >= floor]
        excess = len(entries) - max_seen
        if excess > 0:
            boundary = entries[excess][1]
            if entries[excess - 1][1] == boundary:  # the cut would split a granule: drop that granule
                kept = [e for e in entries if e[1] > boundary] or [e for e in entries if e[1] == boundary]
            else:
                kept = entries[excess:]
            entries = kept
            floor = kept[0][1] if floor is None else max(floor, kept[0][1])
        self._at = dict(entries)
        return floor


def zapier_items(records: Iterable[Any], spec: PollSpec, limit: int | None = None) -> list[dict[str, Any]]:
    """Zapier's polling contract (workflow-platforms §1.2): newest first, each item with a unique ``id``.

    For a trigger that dedupes on more than ``id`` the item's ``id`` is the record key (record id plus
    version) and the record's own id moves to ``record_id``. Records already in the list with the same key
    are dropped; ``limit`` (``None`` or negative: no limit) is honoured.
    """
    keyed = [(ordering_value(r, spec.order_by), record_key(r, spec.dedupe), r) for r in records]
    keyed.sort(key=lambda item: item[0], reverse=True)  # stable: upstream order kept for equal times
    items: list[dict[str, Any]] = []
    ids: set[str] = set()
    for _, key, record in keyed:
        if limit is not None and 0 <= limit <= len(items):
            break
        if key in ids:
            continue
        ids.add(key)
        item = dict(record)
        if tuple(spec.dedupe) != ("id",):
            item["record_id"] = record.get("id")
            item["id"] = key
        items.append(item)
    return items
