"""Running entries: actions (idempotent writes), searches, search-or-create and dynamic choices.

The HTTP layer (:mod:`actions.api`) validates input and passes a client; everything here works from an
entry, validated values and a client, so it can be driven by tests and other front ends alike.

Searches answer an array whose first item is the match. A ``match`` keeps only records whose field equals
the input (strings compared case-insensitively, after trimming; inputs not given do not filter). A 404 from
a search whose path ends in the searched id (get-by-id) is "nothing found": ``[]``; a 404 elsewhere (an
unknown project, say) stays an error.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from actions.idempotency import Claim, IdempotencyStore, fingerprint, scoped_key
from actions.render import render
from actions.shape import records, shape, shape_all
from actions.upstream import explained
from connector.client import MemberPassClient
from connector.client.retry import is_retryable
from connector.errors import ConnectorError, NotFoundError
from connector.manifests.model import Entry

CHOICES_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool = False


def run_action(
    entry: Entry,
    values: dict[str, Any],
    *,
    client: MemberPassClient,
    store: IdempotencyStore,
    connection_id: str,
    caller_key: str | None,
) -> Outcome:
    key = scoped_key(entry.key, values, caller_key)
    claimed = store.begin(connection_id, key, entry.key, fingerprint(entry.key, values))
    if not isinstance(claimed, Claim):
        return Outcome(claimed.status, claimed.body, replayed=True)
    rendered = render(entry, values)
    try:
        with explained(entry):
            result = client.request(
                rendered.method,
                rendered.path,
                params=rendered.params or None,
                json=rendered.json,
                idempotency_key=claimed.upstream_key,
            )
    except ConnectorError as err:
        store.release(claimed, retryable=is_retryable(err))
        raise
    except BaseException:
        store.release(claimed, retryable=True)  # unknown whether it reached MemberPass: keep the key
        raise
    found = records(result.body, entry.output)
    body = shape(found[0] if found else {}, entry.output, result.request_id)
    status = 200 if result.status == 204 else result.status  # our answer always has a body
    store.complete(claimed, status, body)
    return Outcome(status, body, replayed=result.replayed)


def run_search(entry: Entry, values: dict[str, Any], *, client: MemberPassClient) -> list[dict[str, Any]]:
    rendered = render(entry, values)
    with explained(entry):
        try:
            result = client.request("GET", rendered.path, params=rendered.params or None)
        except NotFoundError:
            if entry.request.path.endswith("}"):
                return []
            raise
    found = shape_all(result.body, entry.output, result.request_id)
    return [r for r in found if matches(r, entry, values)]


def matches(record: dict[str, Any], entry: Entry, values: dict[str, Any]) -> bool:
    for field, key in entry.match:
        wanted = values.get(key)
        if wanted is not None and not same(record.get(field), wanted):
            return False
    return True


def same(found: Any, wanted: Any) -> bool:
    """Equal as text, ignoring case and surrounding spaces (a Telegram id 42 matches "42")."""
    return found is not None and str(found).strip().casefold() == str(wanted).strip().casefold()


def run_choices(entry: Entry, values: dict[str, Any], *, client: MemberPassClient) -> list[dict[str, Any]]:
    """``[{id, label}]`` from every page of the list (at most ``CHOICES_LIMIT`` options)."""
    rendered = render(entry, values)
    assert entry.value is not None and entry.label_field is not None
    with explained(entry):
        pager = client.paginate(rendered.path, rendered.params, max_pages=CHOICES_LIMIT // 100)
        rows = list(itertools.islice(pager, CHOICES_LIMIT))
    options = []
    for row in rows:
        if isinstance(row, dict) and row.get(entry.value) is not None:
            label = row.get(entry.label_field)
            options.append(
                {"id": row[entry.value], "label": str(row[entry.value] if label is None else label)}
            )
    return options


def split_input(body: dict[str, Any], search: Entry, create: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
    """The search's and the create's share of a search-or-create body; a key neither takes is refused."""
    from actions.schemas import load_input, unknown_input_error

    search_keys = {f.key for f in search.inputs}
    create_keys = {f.key for f in create.inputs}
    unknown = [k for k in body if k not in search_keys | create_keys]
    if unknown:
        raise unknown_input_error(f"{search.key} or {create.key}", unknown, sorted(search_keys | create_keys))
    search_values = load_input(search, {k: v for k, v in body.items() if k in search_keys})
    return search_values, {k: v for k, v in body.items() if k in create_keys}


def run_search_or_create(
    search: Entry,
    create: Entry,
    body: dict[str, Any],
    *,
    client: MemberPassClient,
    store: IdempotencyStore,
    connection_id: str,
    caller_key: str | None,
) -> Outcome:
    """200 with ``[found]`` when the search finds a record, else 201 with ``[created]`` (the create runs with
    the action's idempotency, so concurrent identical calls still create one record)."""
    from actions.schemas import load_input

    search_values, create_raw = split_input(body, search, create)
    found = run_search(search, search_values, client=client)
    if found:
        return Outcome(200, found[:1])
    values = load_input(create, create_raw)
    created = run_action(
        create, values, client=client, store=store, connection_id=connection_id, caller_key=caller_key
    )
    return Outcome(201, [created.body], replayed=created.replayed)
