"""Zapier items: what the polling endpoint answers and what each outbox delivery carries, built one way.

An item is the record shaped by :mod:`actions.shape` (nested objects flattened with ``__``, every declared
output field present, ``request_id`` of the upstream call that read it) with a unique ``id``:

- "new record" triggers (dedupe on ``id``) and event triggers: the record's (or event's) own id;
- triggers that fire once per version (dedupe on ``id`` plus a version field such as ``status`` or
  ``updated_at``): the record key ``"<id>:<version>"``, the record's own id moving to ``record_id``;
- triggers reading their changes from the event feed (`source: events`, ``dedupe: [id, event_id]``): the
  record changed, with ``event_type``, ``event_id`` and ``changed_at`` after its own fields, keyed
  ``"<record id>:<event id>"`` (``record_id`` = the record's id), so each change fires exactly once.
  Their change records must be completed first (:meth:`triggers.source.Reader.complete`).

The same function feeds ``GET /api/triggers/<key>`` and the outbox payload, so a delivery's body is the
record exactly as the polling endpoint returns it. The outbox row's ``record_key`` is the item's ``id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from actions.shape import shape
from connector.manifests.model import Entry
from triggers.changes import is_pending
from triggers.cursor import PollSpec, ordering_value
from triggers.dedupe import record_key

DEFAULT_ORDER_BY = "created_at"


def spec_for(entry: Entry) -> PollSpec:
    """The polling spec of a trigger entry: its manifest's ``order_by`` and ``dedupe``."""
    return PollSpec(order_by=entry.order_by or DEFAULT_ORDER_BY, dedupe=tuple(entry.dedupe) or ("id",))


def item_for(entry: Entry, record: dict[str, Any], spec: PollSpec | None = None) -> dict[str, Any]:
    if is_pending(record):
        raise ValueError(f"trigger {entry.key}: a change record was not completed before it became an item")
    spec = spec or spec_for(entry)
    item = shape(record, entry.output, record.get("request_id"))
    if spec.dedupe != ("id",):
        item["record_id"] = record.get("id")
        item["id"] = record_key(record, spec.dedupe)
    return item


def items_for(entry: Entry, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Zapier items of ``records``, in the order given."""
    spec = spec_for(entry)
    return [item_for(entry, record, spec) for record in records]


def keyed_items(entry: Entry, records: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(record key, item)`` pairs, as :func:`webhooks.outbox.enqueue` takes them."""
    spec = spec_for(entry)
    return [(record_key(record, spec.dedupe), item_for(entry, record, spec)) for record in records]


def newest_first(entry: Entry, records: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Zapier's polling order: newest first by the trigger's ordering field (upstream order kept for equal
    values), each key once, at most ``limit`` records."""
    spec = spec_for(entry)
    ranked = sorted(
        ((ordering_value(r, spec.order_by), r) for r in records), key=lambda pair: pair[0], reverse=True
    )
    chosen: list[dict[str, Any]] = []
    keys: set[str] = set()
    for _, record in ranked:
        if len(chosen) >= limit:
            break
        key = record_key(record, spec.dedupe)
        if key not in keys:
            keys.add(key)
            chosen.append(record)
    return chosen
