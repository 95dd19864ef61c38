"""The one way the connector talks to MemberPass: auth, timeouts, the rate governor, retries, typed errors.

Every call runs the same loop: wait for a slot from the token's governor, send, and either return the
answer, raise the typed error of an answer that cannot change, or wait (backoff with jitter, never less
than ``Retry-After``) and send again. A mutation carries one ``Idempotency-Key`` (the caller's, or a uuid4
made once) on every attempt, so a retry can never create a second record. ``total_budget`` bounds the whole
loop: when the next wait would pass it, a rate-limited call raises its :class:`RateLimitedError` (its
``retry_after`` says when to come back) and any other raises :class:`TimeoutBudgetError` chained to the
last error. A call the token's own governor cannot fit in the budget raises :class:`RateLimitedError` too,
with ``context["local"]`` true and nothing sent.
"""

from __future__ import annotations

import functools
import importlib.metadata
import uuid
from dataclasses import replace
from typing import Any

import requests

from connector.client.auth import BearerAuth
from connector.client.call import Call
from connector.client.errors_map import error_from_response, network_error
from connector.client.governor import Limits, Priority, RateGovernor, governor_for
from connector.client.pagination import Pager, PageWalker
from connector.client.result import Result
from connector.client.retry import Jitter, RetryPolicy
from connector.clock import Clock, SystemClock
from connector.errors import ConnectorError, RetryableError, ValidationError

MUTATIONS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_PAUSE_ON_429 = 1.0  # seconds the token pauses after a 429 that names no Retry-After


def check_key(key: str) -> str:
    """A caller's Idempotency-Key must be 1-255 printable ASCII characters (C5); refuse it before sending."""
    if not 1 <= len(key) <= 255 or not all(32 <= ord(c) < 127 for c in key):
        raise ValidationError(
            "The Idempotency-Key is invalid.",
            fields={"Idempotency-Key": ["must be 1 to 255 printable ASCII characters"]},
        )
    return key


@functools.cache
def default_user_agent() -> str:
    try:
        version = importlib.metadata.version("memberpass-connector")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"memberpass-connector/{version}"


class MemberPassClient:
    """``MemberPassClient("https://api.memberpass.net/v1", token)``; paths are relative to ``base_url``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        clock: Clock | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        total_budget: float = 30.0,
        governor: RateGovernor | None = None,
        user_agent: str | None = None,
        session: requests.Session | None = None,
        jitter: Jitter | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = BearerAuth(token)
        self.clock: Clock = clock or SystemClock()
        self.timeout = timeout
        self.total_budget = total_budget
        self.governor = governor or governor_for(token, limits=limits, clock=self.clock)
        self.user_agent = user_agent or default_user_agent()
        self.session = session or requests.Session()
        policy = retry or RetryPolicy()
        self.retry = replace(policy, jitter=jitter) if jitter is not None else policy

    def __repr__(self) -> str:
        return f"MemberPassClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MemberPassClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        priority: Priority = "interactive",
        budget: float | None = None,
    ) -> Result:
        """Send one logical call, retrying as the module docstring says; ``budget`` overrides
        ``total_budget`` for this call."""
        self.url(path)  # refuse a bad path before any slot is taken
        call = Call(self, method.upper(), path, params, json, priority, budget or self.total_budget)
        if call.method in MUTATIONS:
            call.key = check_key(idempotency_key) if idempotency_key is not None else str(uuid.uuid4())
        return call.run()

    def paginate(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        max_pages: int | None = 100,
        page_size: int | None = 100,
        priority: Priority = "interactive",
    ) -> Pager:
        """Iterate the records of a list across pages (see ``pagination``). ``page_size`` is sent as
        ``limit`` unless ``params`` name one: 100 is the page-based maximum and valid on keyset lists."""
        if max_pages is not None and max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        first = dict(params or {})
        if page_size is not None and "limit" not in first and "per_page" not in first:
            first["limit"] = page_size

        def fetch(page_params: dict[str, Any]) -> tuple[Any, str | None]:
            result = self.request("GET", path, params=page_params, priority=priority)
            return result.body, result.request_id

        return Pager(fetch, PageWalker(first, max_pages=max_pages))

    def url(self, path: str) -> str:
        if "://" in path or path.startswith("//"):
            raise ValueError("Paths are relative to the MemberPass base URL; absolute URLs are refused.")
        return f"{self.base_url}/{path.lstrip('/')}"

    def send_once(
        self, method: str, path: str, params: Any, body: Any, key: str | None, read_timeout: float
    ) -> requests.Response | ConnectorError:
        """One HTTP exchange, after ``governor.acquire``: the response when it is a success, else the typed
        error. Reports to the governor in every case."""
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        url = self.url(path)
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                auth=self._auth,
                timeout=(self.timeout[0], read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self.governor.done(None)
            error = network_error(exc, method, path, self._auth.scrub)
            error.__cause__ = exc
            return error
        self.governor.done(response.headers)
        if response.status_code < 300:
            return response
        error = error_from_response(response, now=self.clock.now(), scrub=self._auth.scrub)
        if response.status_code == 429:
            retry_after = error.retry_after if isinstance(error, RetryableError) else None
            self.governor.pause(DEFAULT_PAUSE_ON_429 if retry_after is None else retry_after)
        return error
