"""One logical call through its attempts: slot, send, then return, raise, or wait and send again.

See the ``client`` module docstring for the rules; this is the loop that applies them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests

from connector.client.governor import NoSlotBeforeDeadline, Priority
from connector.client.result import Result
from connector.errors import ConnectorError, RateLimitedError, TimeoutBudgetError

if TYPE_CHECKING:
    from connector.client.client import MemberPassClient

log = logging.getLogger("connector.client")


class Call:
    """One logical call through its attempts."""

    def __init__(
        self,
        client: MemberPassClient,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        priority: Priority,
        budget: float,
    ) -> None:
        self.client, self.method, self.path = client, method, path
        self.params, self.body, self.priority, self.budget = params, body, priority, budget
        self.key: str | None = None
        self.deadline = client.clock.monotonic() + budget
        self.attempts, self.waited, self.throttled = 0, 0.0, 0.0

    def run(self) -> Result:
        while True:
            self.attempts += 1
            self._wait_for_slot()
            remaining = self.deadline - self.client.clock.monotonic()
            read_timeout = min(self.client.timeout[1], max(0.5, remaining))
            outcome = self.client.send_once(
                self.method, self.path, self.params, self.body, self.key, read_timeout
            )
            if isinstance(outcome, requests.Response):
                return self._result(outcome)
            self._before_retry(outcome)

    def _wait_for_slot(self) -> None:
        try:
            waited = self.client.governor.acquire(self.priority, self.deadline)
        except NoSlotBeforeDeadline as busy:
            raise RateLimitedError(
                f"{self.method} {self.path}: this token's rate budget is spent for the next "
                f"{busy.wait:.1f}s, beyond the call's {self.budget:.0f}s budget.",
                retry_after=busy.wait,
                context={"attempts": self.attempts - 1, "local": True},
            ) from None
        self.throttled += waited
        self.waited += waited

    def _before_retry(self, error: ConnectorError) -> None:
        """Sleep before the next attempt, or raise ``error`` (or the budget's verdict) when it is final."""
        clock = self.client.clock
        wait = self.client.retry.wait_after(self.attempts, error)
        where = f"{self.method} {self.path}"
        if wait is None:
            log.info("%s failed: %s %s (request %s)", where, error.status, error.code, error.request_id)
            raise error
        if clock.monotonic() + wait > self.deadline:
            raise self._out_of_budget(error, wait)
        log.warning(
            "%s got %s %s (request %s); attempt %d, retrying in %.2fs",
            where,
            error.status,
            error.code,
            error.request_id,
            self.attempts,
            wait,
        )
        clock.sleep(wait)
        self.waited += wait

    def _out_of_budget(self, error: ConnectorError, wait: float) -> ConnectorError:
        context = {"attempts": self.attempts, "last_code": error.code, "last_status": error.status}
        log.warning(
            "%s %s: out of its %.0fs budget after %s", self.method, self.path, self.budget, error.code
        )
        if isinstance(error, RateLimitedError):
            error.retry_after = wait
            error.context = {**(error.context or {}), **context}
            return error
        budget_error = TimeoutBudgetError(
            f"{self.method} {self.path} gave up after {self.attempts} attempt(s): the next wait of "
            f"{wait:.1f}s would pass the {self.budget:.0f}s budget (last: {error.status} {error.code}).",
            request_id=error.request_id,
            retry_after=wait,
            context=context,
        )
        budget_error.__cause__ = error
        return budget_error

    def _result(self, response: requests.Response) -> Result:
        body: Any = None
        if response.content.strip():
            try:
                body = response.json()
            except ValueError:
                raise ConnectorError(
                    f"MemberPass answered {self.method} {self.path} with HTTP {response.status_code} "
                    "and a body that is not JSON.",
                    code="INVALID_RESPONSE",
                    status=502,
                    request_id=response.headers.get("X-Request-Id"),
                ) from None
        request_id = response.headers.get("X-Request-Id")
        log.debug("%s %s -> %s (request %s)", self.method, self.path, response.status_code, request_id)
        return Result(
            body=body,
            status=response.status_code,
            request_id=request_id,
            headers=response.headers,
            replayed=response.headers.get("Idempotent-Replayed", "").lower() == "true",
            attempts=self.attempts,
            idempotency_key=self.key,
            waited=self.waited,
            throttled=self.throttled,
        )
