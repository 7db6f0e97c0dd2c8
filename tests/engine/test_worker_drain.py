"""The worker drains a backlog: it sweeps again at once while timers are due, and ``once`` fires
everything due, however many batches that takes."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from engine import worker
from engine.db import utcnow
from engine.models import AuditEvent, Timer

DUE = 12


def _due_timers(harness, count=DUE):
    with harness.clock(utcnow() - timedelta(hours=2)):  # the order's one-hour deadline has passed
        for _ in range(count):
            harness.start("order").complete("填写订单", {"amount": 1})
    harness.session.commit()


def _fired(harness):
    harness.session.expire_all()
    return harness.session.scalar(sa.select(sa.func.count()).where(AuditEvent.kind == "timer_fired"))


def test_a_running_worker_fires_the_whole_backlog_before_it_first_sleeps(harness, monkeypatch):
    _due_timers(harness)
    monkeypatch.setattr(worker, "BATCH", 5)  # the backlog takes three sweeps
    naps, sweeps = [], []
    monkeypatch.setattr(worker, "_sleep", lambda seconds, stop: naps.append(seconds))
    total = worker.run(harness.engine, interval=3600, stop=lambda: bool(naps), after_sweep=sweeps.append)
    # Without draining it would fire one batch and sleep an hour before the next.
    assert _fired(harness) == DUE and total["timers"] == DUE
    assert [s["timers"] for s in sweeps] == [5, 5, 2, 0] and naps == [3600]


def test_once_drains_more_than_its_batch_and_stops_at_its_limit(harness, monkeypatch):
    _due_timers(harness)
    monkeypatch.setattr(worker, "BATCH", 5)
    assert worker.run(harness.engine, once=True, limit=7)["timers"] == 7
    assert _fired(harness) == 7
    assert worker.run(harness.engine, once=True)["timers"] == DUE - 7
    harness.session.expire_all()
    assert set(harness.session.scalars(sa.select(Timer.state))) == {"fired"}


def test_one_call_fires_every_due_timer_not_just_those_it_saw_first(harness):
    _due_timers(harness)
    assert harness.engine.fire_due_timers(limit=None) == DUE
    assert harness.engine.fire_due_timers(limit=None) == 0


def test_the_drain_benchmark_runs_and_fires_each_timer_once(database_url):
    """bench/worker_drain.py on a tiny backlog: every run fires all of it; two workers, no duplicate."""
    root = Path(__file__).resolve().parents[2]
    on_postgres = database_url.startswith("postgresql")  # the PostgreSQL part only in that run of the suite
    command = [sys.executable, str(root / "bench" / "worker_drain.py"), "-n", "6", "--rounds", "1",
               "--postgres", database_url if on_postgres else ""]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT sqlite_ratio=(\d+\.\d\d) postgres_ratio=(\d+\.\d\d|skipped) "
                         r"two_workers_duplicates=(\d+|skipped)", last)
    assert match, last
    assert match.group(3) == ("0" if on_postgres else "skipped")


def test_a_worker_on_a_database_not_set_up_says_so_in_one_line(tmp_path, registry, caplog):
    """`netsign serve` before `netsign init`: each sweep logs one line (no traceback) and the worker goes on."""
    import logging

    from engine import ProcessEngine
    from engine.testing import create_sa_engine, new_session_factory
    from engine.worker import run

    empty = new_session_factory(create_sa_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    with caplog.at_level(logging.ERROR, logger="engine.worker"):
        assert run(ProcessEngine(empty, registry), once=True) == {"timers": 0, "messages": 0, "retries": 0,
                                                                  "expired": 0, "events": 0, "archived": 0}
    [record] = [r for r in caplog.records if r.name == "engine.worker"]
    assert "database unavailable" in record.getMessage() and "no such table" in record.getMessage()
    assert record.exc_info is None
