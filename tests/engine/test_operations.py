"""What operations people watch, at the engine: each worker's heartbeat row, readiness, and the metrics
(step latency, timer lag, the due backlog, open incidents, the inbox per role, heartbeat ages)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from prometheus_client import generate_latest

from engine import heartbeat, logcontext, metrics, readiness, worker
from engine.db import utcnow
from engine.models import WorkerHeartbeat


def _due_timers(harness, count):
    with harness.clock(utcnow() - timedelta(hours=2)):  # the order's one-hour deadline has passed
        for _ in range(count):
            harness.start("order").complete("填写订单", {"amount": 1})
    harness.session.commit()


def _value(registry, name, **labels):
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def _rows(harness):
    harness.session.expire_all()
    return {r.id: r for r in harness.session.scalars(sa.select(WorkerHeartbeat))}


def test_each_sweep_beats_with_what_it_swept(harness, monkeypatch):
    _due_timers(harness, 3)
    monkeypatch.setattr(worker, "BATCH", 2)
    worker.run(harness.engine, once=True, worker_id="host-a:1")
    row = _rows(harness)["host-a:1"]
    # Sweeps of 2, 1 and the empty one that ends `once`.
    assert (row.sweeps, row.timers, row.messages, row.retries) == (3, 3, 0, 0)
    first_beat = row.beat_at
    worker.run(harness.engine, once=True, worker_id="host-a:1")  # the same process id again: a fresh row
    row = _rows(harness)["host-a:1"]
    assert (row.sweeps, row.timers) == (1, 0) and row.beat_at >= first_beat


def test_a_worker_without_beat_writes_no_row(harness):
    worker.run(harness.engine, once=True, beat=False)
    assert _rows(harness) == {}


def test_stale_rows_stay_until_they_are_old_then_go(harness):
    with harness.clock(utcnow() - timedelta(days=3)):
        worker.run(harness.engine, once=True, worker_id="gone-3-days:1")
    with harness.clock(utcnow() - timedelta(days=8)):
        worker.run(harness.engine, once=True, worker_id="gone-8-days:1")
    # Shown as stale, not deleted: ...
    assert set(_rows(harness)) == {"gone-3-days:1", "gone-8-days:1"}
    # ... until a worker starts and the row is older than a week.
    worker.run(harness.engine, once=True, worker_id="new:1")
    assert set(_rows(harness)) == {"gone-3-days:1", "new:1"}
    with harness.engine.transaction() as session:
        beats = {b.worker_id: b for b in heartbeat.read_all(session.connection())}
    assert beats["gone-3-days:1"].stale(60) and not beats["new:1"].stale(60)


def test_readiness_needs_a_fresh_heartbeat_and_the_schema_head(harness):
    factory = harness.engine.session_factory
    with harness.engine.transaction() as session:
        session.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
        session.execute(sa.text("DELETE FROM alembic_version"))
        session.execute(sa.text("INSERT INTO alembic_version VALUES ('rev-b')"))
    try:
        nobody = readiness.check(factory, {"rev-b"}, stale_after=60)
        assert not nobody.ready and nobody.checks["worker"]["error"] == "没有运行过的 worker"
        worker.run(harness.engine, once=True, worker_id="w:1")
        assert readiness.check(factory, {"rev-b"}, stale_after=60).ready
        behind = readiness.check(factory, {"rev-c"}, stale_after=60)
        assert not behind.ready and behind.checks["schema"]["current"] == ["rev-b"]
        with harness.clock(utcnow() + timedelta(seconds=61)):
            stale = readiness.check(factory, {"rev-b"}, stale_after=60)
            assert not stale.ready and stale.checks["worker"]["workers"][0]["stale"] is True
            assert "60 秒内" in stale.checks["worker"]["error"]
            assert readiness.check(factory, {"rev-b"}, stale_after=120).ready  # the threshold is the caller's
    finally:
        with harness.engine.transaction() as session:
            session.execute(sa.text("DROP TABLE alembic_version"))


def test_metrics_show_the_backlog_the_inbox_and_the_lag_of_what_fired(harness):
    registry = metrics.registry(harness.engine.session_factory, stale_after=60)
    harness.start("order")  # waits at 填写订单 in the customer lane
    _due_timers(harness, 2)
    harness.session.commit()
    steps_before = _value(registry, "netsign_step_duration_seconds_count", kind="timer")
    lag_before = _value(registry, "netsign_timer_lag_seconds_count")
    late_before = _value(registry, "netsign_timer_lag_seconds_bucket", le="1800.0")
    assert _value(registry, "netsign_timers_due") == 2
    assert _value(registry, "netsign_inbox_tasks", role="customer") == 1
    worker.run(harness.engine, once=True, worker_id="w:2")
    assert _value(registry, "netsign_timers_due") == 0
    assert _value(registry, "netsign_step_duration_seconds_count", kind="timer") == steps_before + 2
    assert _value(registry, "netsign_timer_lag_seconds_count") == lag_before + 2
    # Due an hour ago: each lag is about an hour, above the 30-minute bucket.
    assert _value(registry, "netsign_timer_lag_seconds_bucket", le="1800.0") == late_before
    assert _value(registry, "netsign_worker_heartbeat_swept_total", worker="w:2", kind="timers") == 2
    assert 0 <= _value(registry, "netsign_worker_heartbeat_age_seconds", worker="w:2") < 60
    assert _value(registry, "netsign_worker_stale", worker="w:2") == 0
    text = generate_latest(registry).decode()
    assert 'netsign_incidents_open{status="open"} 0.0' in text and "netsign_database_up 1.0" in text


def test_a_step_is_timed_by_kind(harness):
    registry = metrics.registry()
    before = _value(registry, "netsign_step_duration_seconds_count", kind="start")
    done_before = _value(registry, "netsign_step_duration_seconds_count", kind="complete")
    harness.start("order").complete("填写订单", {"amount": 1})
    assert _value(registry, "netsign_step_duration_seconds_count", kind="start") == before + 1
    assert _value(registry, "netsign_step_duration_seconds_count", kind="complete") == done_before + 1


def test_open_incidents_are_counted(harness, switches):
    registry = metrics.registry(harness.engine.session_factory, stale_after=60)
    switches.fail = True
    harness.start("order").complete("填写订单", {"amount": 1})
    harness.session.commit()
    assert _value(registry, "netsign_incidents_open", status="open") == 1


def test_a_database_that_does_not_answer_is_a_gauge_not_a_failed_scrape():
    def broken():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    class Factory:
        def connection(self):
            broken()

        def rollback(self):
            pass

    registry = metrics.registry(lambda: Factory(), stale_after=60)
    assert _value(registry, "netsign_database_up") == 0


def test_a_step_binds_its_instance_to_the_log_context_and_forgets_it(harness):
    seen = []
    original = harness.engine.registry.services["process_order"]

    def spy(ctx, **params):
        seen.append(dict(logcontext.current()))
        return original(ctx, **params)

    harness.engine.registry.services["process_order"] = spy
    with logcontext.scope(request_id="r-1"):
        run = harness.start("order").complete("填写订单", {"amount": 1})
        assert logcontext.current() == {"request_id": "r-1"}
    [fields] = seen
    assert fields["request_id"] == "r-1" and fields["instance_id"] == run.instance_id
    assert fields["task"] == "填写订单" and fields["actor"]
