"""Cross-checks of entries that read the event feed: `source: events` triggers and any entry whose request
is ``GET /webhook-events``.

- the feed needs ``webhook-endpoint:manage`` plus each requested event's minimum ability (webhooks.md §9;
  the feed refuses a ``type`` the token may not read), so the entry's `ability` must list them;
- `source: events` fires once per event and in the feed's order: `dedupe` includes `event_id` and
  `order_by` is `changed_at` (the event's time; the record's own times are not the feed's order);
- every `fetch` path variable comes from a required input or from the data of every listed event
  (:func:`connector.manifests.event_data.event_value` on the `events.yaml` samples);
- `fetch` needs the ability of the catalog entry that reads the same route (``get_member`` for
  ``/projects/{project_id}/members/{member_id}``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.manifests.event_data import event_value, id_names
from connector.manifests.model import (
    CHANGE_KEY,
    CHANGE_ORDER_BY,
    FEED_ABILITY,
    FEED_PATH,
    PATH_VARIABLE,
    Entry,
    Event,
)
from connector.manifests.problems import Problem


def _p(entry: Entry, rest: str, message: str, fix: str) -> Problem:
    return Problem(entry.source, f"{entry.where}.{rest}", message, fix)


def feed_events(entry: Entry) -> tuple[str, ...] | None:
    """The event names an entry asks the feed for (None when it does not read the feed; () for any)."""
    if entry.reads_events:
        return entry.events
    if entry.request.path != FEED_PATH:
        return None
    types = dict(entry.request.constants).get("type")
    return tuple(t.strip() for t in types.split(",") if t.strip()) if isinstance(types, str) else ()


def feed_abilities(entry: Entry, _: dict[str, Entry], catalog: dict[str, Event]) -> Iterator[Problem]:
    names = feed_events(entry)
    if names is None:
        return
    needed = {FEED_ABILITY: "the event feed needs it"}
    for name in names:
        for ability in catalog[name].abilities if name in catalog else ():
            needed.setdefault(ability, f"reading `{name}` from the feed needs it")
    for ability, why in needed.items():
        if ability not in entry.abilities:
            yield _p(entry, "ability", f"lacks `{ability}` ({why}).", f"Add `{ability}` to `ability`.")


def change_keys(entry: Entry, *_: Any) -> Iterator[Problem]:
    if not entry.reads_events:
        return
    if CHANGE_KEY not in entry.dedupe:
        yield _p(entry, "dedupe", f"lacks `{CHANGE_KEY}`: a `source: events` trigger fires once per event.",
                 f"Use `dedupe: [id, {CHANGE_KEY}]` (item id `<record id>:<event id>`).")  # fmt: skip
    if entry.order_by != CHANGE_ORDER_BY:
        yield _p(entry, "order_by", f"is `{entry.order_by}`; the event feed is ordered by the event's time.",
                 f"Set `order_by: {CHANGE_ORDER_BY}`.")  # fmt: skip


def fetch_variables(entry: Entry, _: dict[str, Entry], catalog: dict[str, Event]) -> Iterator[Problem]:
    if entry.fetch is None:
        return
    for var in entry.fetch.path_vars:
        field = entry.input(var)
        if field is not None and field.required:
            continue
        lacking = [n for n in entry.events if n in catalog and event_value(catalog[n].sample, var) is None]
        if not lacking:
            continue
        what = "an optional input" if field is not None else "not an input"
        events = ", ".join(f"`{n}`" for n in lacking)
        common = set.intersection(*(id_names(catalog[n].sample) for n in entry.events if n in catalog))
        carried = ", ".join(f"`{{{name}}}`" for name in sorted(common)) or "none"
        yield _p(entry, "fetch.path", f"path variable `{{{var}}}` is {what} and not in the data of {events}.",
                 f"Use an id every listed event carries ({carried}), or make `{var}` a required "
                 "input.")  # fmt: skip


def _route(path: str) -> str:
    return PATH_VARIABLE.sub("{}", path)


def fetch_abilities(entry: Entry, by_key: dict[str, Entry], *_: Any) -> Iterator[Problem]:
    if entry.fetch is None:
        return
    route = _route(entry.fetch.path)
    twin = next(
        (e for e in by_key.values() if e.kind == "search" and e.request.method == "GET"
         and _route(e.request.path) == route),
        None,
    )  # fmt: skip
    if twin is None:
        return
    for ability in twin.abilities:
        if ability not in entry.abilities:
            yield _p(entry, "ability", f"lacks `{ability}` (`fetch` reads what `{twin.key}` reads).",
                     f"Add `{ability}` to `ability`.")  # fmt: skip


FEED_CHECKS = (feed_abilities, change_keys, fetch_variables, fetch_abilities)
