"""The polling scheduler: one APScheduler 3 job per subscription id, rebuilt from the table at start.

- One ``BackgroundScheduler`` per process, started by :func:`start_background` from ``serve`` and ``demo``;
  ``create_app`` never starts it (tests drive :func:`triggers.engine.run_poll` directly), nor does a process
  that the Werkzeug reloader is about to replace.
- Each job is ``interval`` every :func:`~triggers.subscriptions.interval_for` seconds, registered with
  ``replace_existing=True, coalesce=True, max_instances=1``: adding a subscription twice replaces its job,
  missed runs collapse into one, and one subscription never runs twice at once in this process (the DB lease
  in :mod:`triggers.engine` covers other processes). ``misfire_grace_time=None``: a late run still runs.
- At start every subscription that is not disabled gets a job whose first run is spread over its interval
  (no thundering herd after a restart), or over the first few seconds in webhook mode (a catch-up after
  downtime); held ones keep theirs (their poll resumes them).
- A job whose subscription is gone or disabled removes itself.
- Jobs are kept light, since there is one per subscription: jobs of one interval share one trigger object
  (a job's next run time is its own; the trigger only adds the interval to it), every job calls one shared
  runner (a ``partial``, so APScheduler keeps no per-job reference string: the memory job store never
  serialises jobs), and jobs of one trigger key share their name.

:func:`add` and :func:`remove` act on the scheduler of the current app and do nothing when none runs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app, has_app_context

from triggers.engine import run_poll
from triggers.subscriptions import Subscription, SubscriptionRepo, interval_for

log = logging.getLogger("triggers.scheduler")
EXTENSION = "triggers.scheduler"
WORKERS = 10


WEBHOOK_CATCH_UP = 5.0  # seconds: the spread of webhook-mode reconciliations after a start


def first_run_after_start(subscription: Subscription) -> float:
    """When a subscription's job first runs after a start: spread over its interval (no thundering herd),
    except in webhook mode, where MemberPass's pushes failed while the connector was down (and may have got
    its endpoint disabled): the reconciliation that re-enables it and reads the gap comes within seconds."""
    if subscription.mode == "webhook":
        return random.uniform(0, min(WEBHOOK_CATCH_UP, interval_for(subscription)))
    return random.uniform(0, interval_for(subscription))


class PollScheduler:
    def __init__(self, app: Flask, scheduler: BaseScheduler | None = None, *, workers: int = WORKERS) -> None:
        self.app = app
        self.scheduler = scheduler or BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)}, timezone=UTC
        )
        self._runner = functools.partial(PollScheduler._run, self)
        self._triggers: dict[float, IntervalTrigger] = {}
        self._names: dict[str, str] = {}

    def start(self, *, paused: bool = False) -> None:
        """Rebuild the jobs from the subscriptions table, then start (``paused``: jobs do not fire)."""
        self.rebuild()
        self.scheduler.start(paused=paused)

    def shutdown(self, wait: bool = False) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def rebuild(self) -> int:
        """One job per schedulable subscription, none for any other id; returns the number of jobs."""
        with self.app.app_context():
            from connector.connections.services import current_clock, current_db, current_ring

            subscriptions = SubscriptionRepo(current_db(), current_ring(), current_clock()).list_schedulable()
        wanted = {s.id for s in subscriptions}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for subscription in subscriptions:
            self.add(subscription, first_in=first_run_after_start(subscription))
        return len(wanted)

    def add(self, subscription: Subscription, *, first_in: float | None = None) -> None:
        """Schedule (or reschedule) the subscription's job; its first run comes after ``first_in`` seconds
        (default: one interval, since a new subscription was just polled)."""
        interval = interval_for(subscription)
        delay = interval if first_in is None else first_in
        self.scheduler.add_job(
            self._runner,
            self._trigger(interval),
            args=(subscription.id,),
            id=subscription.id,
            name=self._name(subscription.trigger_key),
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=delay),
        )

    def _trigger(self, interval: float) -> IntervalTrigger:
        trigger = self._triggers.get(interval)
        if trigger is None:
            trigger = self._triggers.setdefault(interval, IntervalTrigger(seconds=interval, timezone=UTC))
        return trigger

    def _name(self, trigger_key: str) -> str:
        return self._names.setdefault(trigger_key, f"poll {trigger_key}")

    def remove(self, subscription_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(subscription_id)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self.scheduler.get_jobs())

    def _run(self, subscription_id: str) -> None:
        with self.app.app_context():
            try:
                outcome = run_poll(subscription_id)
            except Exception:
                log.exception("poll of %s crashed; it runs again at its next interval", subscription_id)
                return
        if outcome.status in ("gone", "disabled"):
            self.remove(subscription_id)


def start(app: Flask, *, paused: bool = False) -> PollScheduler:
    """Start the app's scheduler (once; a second call returns the running one)."""
    running: PollScheduler | None = app.extensions.get(EXTENSION)
    if running is not None:
        return running
    scheduler = PollScheduler(app)
    app.extensions[EXTENSION] = scheduler
    scheduler.start(paused=paused)
    log.info("polling scheduler started with %d job(s)", len(scheduler.job_ids()))
    return scheduler


def start_background(app: Flask, *, reloader: bool = False) -> PollScheduler | None:
    """What ``serve`` and ``demo`` call: start polling, unless this is the watcher process of the Werkzeug
    reloader (``reloader=True`` and not yet its serving child), which would poll a second time."""
    if reloader and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    return start(app)


def current() -> PollScheduler | None:
    if not has_app_context():
        return None
    scheduler: PollScheduler | None = current_app.extensions.get(EXTENSION)
    return scheduler


def add(subscription: Subscription, *, first_in: float | None = None) -> None:
    scheduler = current()
    if scheduler is not None:
        scheduler.add(subscription, first_in=first_in)


def remove(subscription_id: str) -> None:
    scheduler = current()
    if scheduler is not None:
        scheduler.remove(subscription_id)
