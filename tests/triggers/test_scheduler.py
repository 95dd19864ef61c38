"""The polling scheduler and the poll lease: one job per subscription, rebuilt from the table, and never two
workers on one subscription."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.connections import services
from connector.leases import HOST, PROCESS_NONCE, lease_owner
from connector.sandbox import SandboxServer
from tests.triggers.connected import EVENT, Env, connected
from triggers import scheduler as polling
from triggers.scheduler import PollScheduler
from triggers.subscriptions import SubscriptionRepo


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made
        running = made.app.extensions.pop(polling.EXTENSION, None)
        if running is not None:
            running.shutdown(wait=True)


def repo(env: Env) -> SubscriptionRepo:
    ext = env.app.extensions
    return SubscriptionRepo(ext[services.DB], ext[services.RING], ext[services.CLOCK])


def test_one_job_per_subscription_rebuilt_from_the_table(env: Env) -> None:
    intervals = {env.subscribed(EVENT, poll_interval=interval): interval for interval in (30, 45, 60)}
    ids = sorted(intervals)
    first = PollScheduler(env.app)
    first.scheduler.add_job(print, "interval", seconds=60, id="sub_stale")  # a job with no row
    first.start(paused=True)
    try:
        assert first.job_ids() == ids
        subscription = repo(env).get(ids[0])
        assert subscription is not None
        first.add(subscription)
        first.add(subscription)
        assert first.job_ids() == ids
        job = first.scheduler.get_job(ids[0])
        assert job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval.total_seconds() == intervals[ids[0]]
        first.remove(ids[1])
        first.remove("sub_unknown")
        assert first.job_ids() == [ids[0], ids[2]]
    finally:
        first.shutdown()
    repo(env).disable(ids[2], "test: given up")
    restarted = PollScheduler(env.app)
    restarted.start(paused=True)
    try:
        assert restarted.job_ids() == ids[:2]
    finally:
        restarted.shutdown()


def test_the_api_adds_and_removes_jobs_of_a_running_scheduler(env: Env) -> None:
    running = polling.start(env.app, paused=True)
    assert polling.start(env.app) is running  # one scheduler per app
    subscription_id = env.subscribed(EVENT)
    assert running.job_ids() == [subscription_id]
    assert env.client.delete(f"/api/subscriptions/{subscription_id}", headers=env.headers).status_code == 204
    assert running.job_ids() == []


def test_a_job_polls_and_removes_itself_when_its_subscription_is_gone(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    made = env.emit(3)
    jobs = PollScheduler(env.app)
    jobs.start(paused=True)
    try:
        jobs._run(subscription_id)
        assert env.outbox_keys(subscription_id) == made
        repo(env).delete(subscription_id)  # deleted elsewhere (another process, the delivery worker)
        jobs._run(subscription_id)
        assert jobs.job_ids() == []
    finally:
        jobs.shutdown()


def test_a_started_scheduler_polls_on_its_interval(env: Env) -> None:
    subscription_id = env.subscribed(EVENT, poll_interval=1)
    polling.start(env.app)
    made = env.emit(2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(env.outbox(subscription_id)) < 2:
        time.sleep(0.1)
    assert env.outbox_keys(subscription_id) == made


def test_the_reloader_watcher_does_not_start_polling(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert polling.start_background(env.app, reloader=True) is None
    assert polling.EXTENSION not in env.app.extensions
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    started = polling.start_background(env.app, reloader=True)
    assert started is not None
    started.shutdown()


def lease(env: Env, subscription_id: str, owner: str, seconds: float = 300) -> None:
    env.app.extensions[services.DB].db.execute(
        "UPDATE poll_state SET lease_owner = ?, lease_until = ? WHERE subscription_id = ?",
        [owner, time.time() + seconds, subscription_id],
    )


def test_a_live_lease_keeps_a_second_worker_off_and_a_dead_owner_frees_it(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    made = env.emit(2)
    lease(env, subscription_id, lease_owner())  # this process: alive
    assert env.poll(subscription_id).status == "skipped"
    assert env.outbox(subscription_id) == []
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)  # fmt: skip
    dead_pid = int(finished.stdout)
    lease(env, subscription_id, f"{HOST}/{dead_pid}/{PROCESS_NONCE}x/abc")  # killed before releasing
    assert env.poll(subscription_id).status == "polled"
    assert env.outbox_keys(subscription_id) == made
    lease(env, subscription_id, lease_owner(), seconds=-1)  # ran out
    assert env.poll(subscription_id).status == "polled"
    row = env.sql("SELECT lease_owner FROM poll_state WHERE subscription_id = ?", [subscription_id])[0]
    assert row["lease_owner"] is None  # released after the poll


def test_after_a_start_webhook_mode_catches_up_within_seconds_and_polling_spreads_over_its_interval(
    env: Env,
) -> None:
    from dataclasses import replace

    from triggers.scheduler import WEBHOOK_CATCH_UP, first_run_after_start

    subscription = repo(env).get(env.subscribed(EVENT, poll_interval=600))
    assert subscription is not None
    polling_firsts = [first_run_after_start(subscription) for _ in range(200)]
    assert max(polling_firsts) <= 600 and max(polling_firsts) > WEBHOOK_CATCH_UP
    webhook = replace(subscription, mode="webhook")
    assert all(0 <= first_run_after_start(webhook) <= WEBHOOK_CATCH_UP for _ in range(200))
