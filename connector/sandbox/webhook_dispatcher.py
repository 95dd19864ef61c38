"""The webhook dispatcher: a sandbox worker that POSTs due deliveries on a small thread pool.

Sending happens outside the store lock and concurrently, so one slow receiver does not hold up the others;
deliveries of one endpoint may therefore arrive in any order. Success is any 2xx answer within
``settings.delivery_timeout`` real seconds; redirects are not followed; a slower answer, a non-2xx status
or a connection error is a failure. Until the worker is started (``Sandbox.start_workers``) deliveries
stay pending; it re-arms every waiting delivery when it starts.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import urllib3

from connector.sandbox.webhook_delivery import EXCERPT_BYTES, DeliveryQueue, Job, Outcome

log = logging.getLogger(__name__)

POOL_SIZE = 8


def post(job: Job, timeout: float) -> Outcome:
    """Send one attempt and read at most the first 4 KB of the answer."""
    started = time.monotonic()
    try:
        with requests.Session() as session:
            session.trust_env = False  # never route deliveries through the host's proxy settings
            with session.post(
                job.url,
                data=job.body,
                headers=job.headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
                status = response.status_code
    except requests.Timeout:
        return Outcome(False, None, f"No answer within {timeout:g} s.")
    except requests.RequestException as exc:
        return Outcome(False, None, f"Connection failed ({type(exc).__name__}).")
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # the connection broke while the body is read
        return Outcome(False, None, f"Connection failed ({type(exc).__name__}).")
    excerpt = raw.decode("utf-8", errors="replace")
    if time.monotonic() - started > timeout:
        return Outcome(False, status, excerpt)
    return Outcome(200 <= status < 300, status, excerpt)


class Dispatcher:
    """Worker (start/stop) that feeds the queue's due jobs to a thread pool."""

    def __init__(self, queue: DeliveryQueue, timeout: float, pool_size: int = POOL_SIZE) -> None:
        self.queue = queue
        self.timeout = timeout
        self.pool_size = pool_size
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is not None:
            return
        self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="sandbox-webhook")
        self.queue.sender = self.submit
        self.queue.resume_all()

    def stop(self) -> None:
        self.queue.sender = None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, job: Job) -> None:
        pool = self._pool
        try:
            if pool is None:
                raise RuntimeError("stopped")
            pool.submit(self._send, job)
        except RuntimeError:  # stopped meanwhile: the attempt never happened; start() re-arms it
            self.queue.release(job)

    def _send(self, job: Job) -> None:
        try:
            outcome = post(job, self.timeout)
        except Exception:
            log.exception("webhook delivery attempt crashed")
            outcome = Outcome(False, None, "The attempt failed inside the sandbox.")
        self.queue.record(job, outcome)
