"""What a polling subscription remembers between polls, and the timestamp arithmetic behind it.

Ordering values are ISO-8601 strings with an offset (MemberPass writes ``...Z``); they are compared as whole
microseconds since the epoch, never as naive local times. ``PollState`` is plain data: the storage layer
keeps it as JSON (``to_dict`` / ``from_dict``) in the same transaction as the outbox rows it accounts for.

State fields (the invariants are proved in ``triggers/poll.py``):

- ``cursor``: the newest ordering value durably handed to the outbox (or seen at the first-run seed).
- ``floor``: the window's lower edge. Every record handed over (or seeded) whose ordering value is at or after
  ``floor`` has its key in ``seen``; records before ``floor`` are treated as already handled. It rises with
  ``min(cursor, head_mark) - overlap``, and further when ``seen`` outgrows its bound, never above the cursor.
- ``head_mark``: the newest ordering value read at the head of the list by the last walk from the head.
  Capping the floor by it keeps records that arrive late (within the overlap) inside the next re-read.
- ``seen``: ``(key, ordering value)`` pairs, oldest first: a bounded ordered set of the keys at or after
  ``floor``. Its bound is ``max_seen`` keys, except that the boundary granule (every key at the cursor's
  value) is always kept whole.
- ``primed``: the first-run policy has been applied and committed.
- ``pending``: page tokens of a backlog being drained, from the head (``None``) down to the deepest page
  still to walk; empty in the steady state.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import ConnectorError

MICROS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATE_VERSION = 1

PageToken = str | int | None


class OrderingValueError(ConnectorError):
    """A record lacks a usable ordering or dedupe value: the trigger cannot place it, so it stops."""

    code = "TRIGGER_BAD_RECORD"
    status = 502
    default_remediation = (
        "Check the trigger's `order_by` and `dedupe` fields in its manifest: every record must carry them, "
        "with ISO-8601 timestamps that include an offset."
    )


@functools.lru_cache(maxsize=8192)
def _parse(value: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds


def parse_ts(value: Any) -> int:
    """Microseconds since the epoch of an ISO-8601 timestamp with an offset; ``ValueError`` otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected an ISO-8601 timestamp, got {value!r}")
    return _parse(value)


@functools.lru_cache(maxsize=8192)
def format_ts(micros: int) -> str:
    """UTC with ``Z``; microseconds only when there are some (``parse_ts(format_ts(x)) == x``)."""
    moment = _EPOCH + timedelta(microseconds=micros)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def opt_parse(value: str | None) -> int | None:
    return None if value is None else parse_ts(value)


def opt_format(micros: int | None) -> str | None:
    return None if micros is None else format_ts(micros)


def ordering_value(record: Any, field_name: str) -> int:
    """The record's ordering value in microseconds, or :class:`OrderingValueError` naming the record."""
    raw = record.get(field_name) if isinstance(record, dict) else None
    try:
        return parse_ts(raw)
    except ValueError as err:
        rid = record.get("id") if isinstance(record, dict) else None
        raise OrderingValueError(
            f"Record {rid!r} has no usable `{field_name}`: {err}.",
            context={"record_id": rid, "field": field_name},
        ) from None


def next_floor(floor: int | None, cursor: int | None, head_mark: int | None, overlap: int) -> int | None:
    """``max(floor, min(cursor, head_mark) - overlap)``: the floor never falls, and never outruns the last
    head read by more than the overlap (so a record that arrives late stays inside the next re-read).
    Until both exist (nothing handed over yet, or no walk from the head has reached below the floor) the
    floor stays where the first-run policy put it."""
    if cursor is None or head_mark is None:
        return floor
    candidate = min(cursor, head_mark) - overlap
    return candidate if floor is None else max(floor, candidate)


@dataclass(frozen=True)
class PollSpec:
    """How one trigger reads its source: built from the manifest's ``order_by`` and ``dedupe``.

    ``order_by`` must be the field the source sorts on, newest first (disorder inside a page is fine).
    ``dedupe`` names the fields whose values make a record's key: ``("id",)`` for "new record" triggers,
    ``("id", "updated_at")`` or ``("id", "status")`` so that each version fires once. ``overlap_seconds``
    is how far behind the cursor each poll re-reads for records that arrive late; ``max_seen`` bounds the
    seen set; ``walk_pages`` is how many backlog pages one drain step may climb at once;
    ``reread_pages`` caps the overlap re-read below the first record already handed over, for windows
    denser than that (a bulk import of thousands of records in one second).
    """

    order_by: str
    dedupe: tuple[str, ...] = ("id",)
    overlap_seconds: float = 5.0
    max_seen: int = 2000
    walk_pages: int = 4
    reread_pages: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "dedupe", tuple(self.dedupe))
        if not self.dedupe or not all(isinstance(f, str) and f for f in self.dedupe):
            raise ValueError("dedupe must name at least one field")
        if self.overlap_seconds < 0 or self.max_seen < 1 or self.walk_pages < 1 or self.reread_pages < 0:
            raise ValueError(
                "overlap_seconds >= 0, max_seen >= 1, walk_pages >= 1 and reread_pages >= 0 are required"
            )

    @property
    def overlap(self) -> int:
        """The overlap in microseconds."""
        return round(self.overlap_seconds * MICROS)


@dataclass(frozen=True)
class PollState:
    cursor: str | None = None
    floor: str | None = None
    head_mark: str | None = None
    seen: tuple[tuple[str, str], ...] = ()
    primed: bool = False
    pending: tuple[PageToken, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "cursor": self.cursor,
            "floor": self.floor,
            "head_mark": self.head_mark,
            "seen": [[key, at] for key, at in self.seen],
            "primed": self.primed,
            "pending": list(self.pending),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PollState:
        """Inverse of :meth:`to_dict`; ``ValueError`` names what is wrong with a stored state."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"poll state version {data.get('version')!r} is not {STATE_VERSION}")
        for name in ("cursor", "floor", "head_mark"):
            if data.get(name) is not None:
                parse_ts(data[name])
        seen = data.get("seen", [])
        if not all(isinstance(p, list | tuple) and len(p) == 2 and isinstance(p[0], str) for p in seen):
            raise ValueError("poll state `seen` must be a list of [key, timestamp] pairs")
        pending = data.get("pending", [])
        if not all(t is None or isinstance(t, str | int) for t in pending):
            raise ValueError("poll state `pending` must hold page tokens (strings, integers or null)")
        return cls(
            cursor=data.get("cursor"),
            floor=data.get("floor"),
            head_mark=data.get("head_mark"),
            seen=tuple((str(k), str(at)) for k, at in seen),
            primed=bool(data.get("primed", False)),
            pending=tuple(pending),
        )
