"""List shapes (contract §6, C11): page-based with both meta styles, keyset cursors, capped lists."""

from __future__ import annotations

import base64
import math
from typing import Any

from connector.sandbox.errors import invalid
from connector.sandbox.store import Obj, public


def _int_arg(args: Any, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid({name: [f"must be an integer between {low} and {high}"]}) from None
    if not low <= value <= high:
        raise invalid({name: [f"must be between {low} and {high}"]})
    return value


def page_list(items: list[Obj], args: Any, *, extra_meta: dict[str, Any] | None = None) -> Obj:
    """`limit` (or `per_page`) 1-100, default 25, and 1-based `page`; items are already newest first."""
    name = "limit" if args.get("limit") not in (None, "") else "per_page"
    limit = _int_arg(args, name, 25, 1, 100)
    page = _int_arg(args, "page", 1, 1, 1_000_000)
    total = len(items)
    start = (page - 1) * limit
    data = [public(o) for o in items[start : start + limit]]
    last_page = max(1, math.ceil(total / limit))
    meta = {
        "page": page,
        "limit": limit,
        "total": total,
        "has_more": start + limit < total,
        "current_page": page,
        "last_page": last_page,
        "per_page": limit,
    }
    meta.update(extra_meta or {})
    return {"data": data, "meta": meta}


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, seq = raw.partition(":")
        if kind != "s":
            raise ValueError(kind)
        return int(seq)
    except (ValueError, UnicodeDecodeError):
        raise invalid({"cursor": ["is not a cursor returned by this API"]}) from None


def keyset_list(
    items: list[Obj], args: Any, *, default_limit: int = 50, extra_meta: dict[str, Any] | None = None
) -> Obj:
    """`cursor` + `limit` (1-200); `meta.next_cursor` is null at the end. Items newest first."""
    limit = _int_arg(args, "limit", default_limit, 1, 200)
    cursor = args.get("cursor")
    if cursor:
        before = decode_cursor(cursor)
        items = [o for o in items if o["_seq"] < before]
    page = items[:limit]
    next_cursor = encode_cursor(page[-1]["_seq"]) if len(items) > limit else None
    meta: dict[str, Any] = {"next_cursor": next_cursor, "limit": limit}
    meta.update(extra_meta or {})
    return {"data": [public(o) for o in page], "meta": meta}


def capped_list(
    items: list[Obj], args: Any, *, default_limit: int = 50, extra_meta: dict[str, Any] | None = None
) -> Obj:
    """`limit` 1-200 (default 50), meta `{total, limit}` plus echoed filters."""
    limit = _int_arg(args, "limit", default_limit, 1, 200)
    meta: dict[str, Any] = {"total": len(items), "limit": limit}
    meta.update(extra_meta or {})
    return {"data": [public(o) for o in items[:limit]], "meta": meta}


def unpaginated(items: list[Obj], *, extra_meta: dict[str, Any] | None = None) -> Obj:
    meta: dict[str, Any] = {"total": len(items)}
    meta.update(extra_meta or {})
    return {"data": [public(o) for o in items], "meta": meta}
