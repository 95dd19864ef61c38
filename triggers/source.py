"""Where a trigger's records come from: its manifest entry, and a ``fetch_page(token)`` over MemberPass.

Every trigger is an :class:`~connector.manifests.model.Entry`. List-backed triggers are the manifest's own
entries (``request``, ``dedupe``, ``order_by``). An event trigger (key = the event name) becomes an entry
that reads the event feed ``GET /webhook-events?type=<event>&project_id=…`` (C12, keyset, newest first),
dedupes on the event id and orders on ``created_at``; project-level events take an optional ``project_id``
input, team-level ones none. Its abilities are the feed's ``webhook-endpoint:manage`` plus the event's own.
A `source: events` trigger (``member_status_changed``) reads the feed too, for the events its manifest
lists, and makes each event a change record (:mod:`triggers.changes`).

``fetch_page(None)`` reads the head of the list; the next token is a page number for page-based lists and a
cursor for keyset lists (from the answer's ``meta``, as :class:`~connector.client.PageWalker` reads it), and
None at the end (capped lists are one page). Each record gets the ``request_id`` of the call that read it.
Polls ask with ``priority="background"``, so interactive calls of the same token go first.

:func:`reader_for` splits reading in two for the engine: ``fetch_page`` gives what the polling core orders
and dedupes (for `source: events`, change records whose records are not read yet) and ``complete`` reads
what is missing for the records it hands over; :func:`fetch_page_for` gives whole records at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actions.render import render
from actions.schemas import load_input
from actions.shape import records
from actions.upstream import explained
from connector.client import MemberPassClient, PageWalker, Result
from connector.client.governor import Priority
from connector.errors import ConnectorError, NotFoundError
from connector.manifests import load_catalog
from connector.manifests.model import (
    _EVENT_PROJECT_INPUT,
    FEED_ABILITY,
    FEED_PATH,
    Entry,
    Event,
    Output,
    Request,
)
from triggers.changes import ChangeReader
from triggers.cursor import PageToken

PAGE_SIZE = 100  # the page-based maximum (C11); valid on keyset and capped lists too
FetchPage = Callable[[PageToken], tuple[Sequence[dict[str, Any]], PageToken]]
Complete = Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]

_event_entries: dict[str, Entry] = {}


def event_entry(event: Event) -> Entry:
    """The event feed as a trigger entry (cached, so schemas built from it are reused)."""
    cached = _event_entries.get(event.name)
    if cached is not None:
        return cached
    project_level = event.scope != "team"
    entry = Entry(
        key=event.name,
        kind="trigger",
        resource="events",
        noun="Event",
        label=event.label,
        description=event.description,
        abilities=(FEED_ABILITY, *event.abilities),
        request=Request(
            method="GET",
            path=FEED_PATH,
            query=(("project_id", "project_id"),) if project_level else (),
            constants=(("type", event.name),),
        ),
        inputs=(_EVENT_PROJECT_INPUT,) if project_level else (),
        output=Output(root="data", fields=()),
        sample=event.sample,
        dedupe=("id",),
        order_by="created_at",
    )
    _event_entries[event.name] = entry
    return entry


def is_event_trigger(entry: Entry) -> bool:
    return entry.resource == "events"


def trigger_entry(key: str) -> Entry:
    """The trigger with this key (a list-backed trigger or an event name), or 404."""
    catalog = load_catalog()
    found = catalog.get("trigger", key)
    if found is not None:
        return found
    event = catalog.events.get(key)
    if event is not None:
        return event_entry(event)
    raise NotFoundError(
        f"There is no trigger `{key}`.",
        remediation="GET /api/catalog lists every trigger key (event triggers are keyed by event name).",
    )


def trigger_inputs(entry: Entry, raw: Any) -> dict[str, Any]:
    """Validated inputs of the trigger (422 naming each bad field)."""
    return load_input(entry, {} if raw is None else raw)


@dataclass
class FetchStats:
    """What the calls of one poll cost: the throttling half of its log line."""

    requests: int = 0
    attempts: int = 0
    waited: float = 0.0
    throttled: float = 0.0
    rate_limit: int | None = None
    rate_remaining: int | None = None
    failed_calls: int = 0
    last_status: int | None = None
    request_ids: list[str] = field(default_factory=list)

    def failed(self, error: ConnectorError) -> None:
        self.failed_calls += 1
        self.last_status = error.status

    def observe(self, result: Result) -> None:
        self.requests += 1
        self.attempts += result.attempts
        self.last_status = result.status
        self.waited += result.waited
        self.throttled += result.throttled
        for name, attr in (("X-RateLimit-Limit", "rate_limit"), ("X-RateLimit-Remaining", "rate_remaining")):
            value = result.headers.get(name)
            if value is not None and value.isdigit():
                setattr(self, attr, int(value))
        if result.request_id:
            self.request_ids.append(result.request_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": max(0, self.attempts - self.requests),
            "waited_seconds": round(self.waited, 3),
            "throttled_seconds": round(self.throttled, 3),
            "rate_limit": self.rate_limit,
            "rate_remaining": self.rate_remaining,
            "failed_calls": self.failed_calls,
            "last_status": self.last_status,
        }


def page_params(base: dict[str, Any], token: PageToken, page_size: int) -> dict[str, Any]:
    """The query of one page: the rendered query, ``limit``, and ``page`` or ``cursor`` from the token."""
    params = {**base, "limit": page_size}
    if isinstance(token, int):
        params["page"] = token
    elif isinstance(token, str):
        params["cursor"] = token
    return params


@dataclass(frozen=True)
class Reader:
    """``fetch_page`` for the polling core; ``complete`` makes the records it hands over whole."""

    fetch_page: FetchPage
    complete: Complete


def reader_for(
    entry: Entry,
    inputs: dict[str, Any],
    client: MemberPassClient,
    *,
    page_size: int = PAGE_SIZE,
    stats: FetchStats | None = None,
    priority: Priority = "background",
) -> Reader:
    """How to read the trigger: its list pages (records whole) or its event feed pages (change records,
    completed by ``complete``)."""
    rendered = render(entry, inputs)

    def get(path: str, params: dict[str, Any] | None = None) -> Result:
        try:
            with explained(entry):
                result = client.request("GET", path, params=params, priority=priority)
        except ConnectorError as err:
            if stats is not None:
                stats.failed(err)
            raise
        if stats is not None:
            stats.observe(result)
        return result

    changes = ChangeReader(entry, inputs, get) if entry.reads_events else None

    def fetch_page(token: PageToken) -> tuple[list[dict[str, Any]], PageToken]:
        params = page_params(rendered.params, token, page_size)
        found, following = page_of(entry, params, get(rendered.path, params))
        return (found if changes is None else changes.changes(found)), following

    return Reader(fetch_page, list if changes is None else changes.complete)


def fetch_page_for(
    entry: Entry,
    inputs: dict[str, Any],
    client: MemberPassClient,
    *,
    page_size: int = PAGE_SIZE,
    stats: FetchStats | None = None,
    priority: Priority = "background",
) -> FetchPage:
    """``fetch_page(token) -> (records, next token)`` over the trigger's list, for the polling core; every
    record whole (a `source: events` trigger reads the record of each change on the page)."""
    reader = reader_for(entry, inputs, client, page_size=page_size, stats=stats, priority=priority)

    def fetch_page(token: PageToken) -> tuple[list[dict[str, Any]], PageToken]:
        found, following = reader.fetch_page(token)
        return reader.complete(found), following

    return fetch_page


def page_of(entry: Entry, params: dict[str, Any], result: Result) -> tuple[list[dict[str, Any]], PageToken]:
    """The records of one answer (each with its ``request_id``) and the token of the page after it."""
    walker = PageWalker(params, max_pages=None)
    walker.feed(result.body)
    following: PageToken = None
    if not walker.complete:
        following = walker.params.get("cursor") or walker.params.get("page")
    found = [{**r, "request_id": result.request_id} for r in records(result.body, entry.output)]
    return found, following
