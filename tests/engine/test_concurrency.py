"""Several worker processes against one database: every due timer (and cycle repetition) fires exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from engine import ProcessEngine
from engine.db import utcnow
from engine.models import AuditEvent, ProcessInstance, Timer
from engine.testing import ProcessHarness

from .conformance.runners import make_registry as conformance_registry
from .conformance.scenarios import DIAGRAMS

ROOT = Path(__file__).resolve().parents[2]
TIMERS = 200


def _run_workers(database_url, *extra) -> list[int]:
    start_at = time.time() + 1.5
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "tests.engine.timer_worker", database_url, str(start_at),
                                 *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    counts = [int(w.communicate(timeout=300)[0].strip().splitlines()[-1]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    return counts


def test_two_workers_fire_each_cycle_repetition_exactly_once(session_factory, database_url):
    registry = conformance_registry()
    ProcessEngine(session_factory, registry).deploy(
        {"c_timer_cycle.bpmn": (DIAGRAMS / "c_timer_cycle.bpmn").read_text(encoding="utf-8")})
    harness = ProcessHarness(lambda: ProcessEngine(session_factory, registry))
    instances = 20
    with harness.clock(utcnow() - timedelta(hours=4)):  # all three hourly repetitions are due now
        cases = [harness.start("c_timer_cycle") for _ in range(instances)]
    harness.session.commit()
    counts = _run_workers(database_url, "conformance")
    # SpiffWorkflow catches up on missed repetitions within one step (as it does in memory): one step each.
    assert sum(counts) == instances
    session = harness.session
    session.expire_all()
    assert set(session.scalars(sa.select(Timer.state))) == {"fired"}
    for case in cases:
        workflow = harness.engine.load_workflow(case.id)
        assert len(workflow.get_tasks(spec_name="Remind")) == 3  # R3: three repetitions, not one more


def test_two_workers_fire_200_timers_exactly_once(harness, database_url):
    with harness.clock(utcnow() - timedelta(hours=2)):
        for _ in range(TIMERS):
            case = harness.start("order")
            case.complete("填写订单", {"amount": 1})
    harness.session.commit()
    counts = _run_workers(database_url)
    assert sum(counts) == TIMERS
    session = harness.session
    session.expire_all()
    fired_per_instance = Counter(session.scalars(
        sa.select(AuditEvent.instance_id).where(AuditEvent.kind == "timer_fired")))
    assert len(fired_per_instance) == TIMERS and set(fired_per_instance.values()) == {1}
    ends = Counter(session.scalars(sa.select(ProcessInstance.end_event)))
    assert ends == {"订单已超时": TIMERS}
