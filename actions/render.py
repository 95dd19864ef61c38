"""Render an entry's upstream request from validated input: pure, no I/O.

Path variables are URL-quoted (``/`` included, so an id can never change the route). Query and body take
the inputs their mapping names, under the upstream names; inputs not given are left out (a PATCH changes
only what was sent). Booleans in a query are ``true`` / ``false``; lists in a query repeat the name.
``constants`` join the query of a GET and the body of any other method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from connector.manifests.model import PATH_VARIABLE, Entry


@dataclass(frozen=True)
class Rendered:
    method: str
    path: str
    params: dict[str, Any]
    json: dict[str, Any] | None


def render(entry: Entry, values: dict[str, Any]) -> Rendered:
    request = entry.request
    path = PATH_VARIABLE.sub(lambda m: quote(str(values[m.group(1)]), safe=""), request.path)
    params = {name: _query_value(values[key]) for name, key in request.query if values.get(key) is not None}
    body = {name: values[key] for name, key in request.body if values.get(key) is not None}
    target = params if request.method == "GET" else body
    target.update({name: _query_value(v) if target is params else v for name, v in request.constants})
    has_body = request.method != "GET" and (bool(request.body) or bool(request.constants))
    return Rendered(request.method, path, params, body if has_body else None)


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    return value
