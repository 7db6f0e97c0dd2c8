"""Several worker processes against one database: every due timer fires exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from engine.db import utcnow
from engine.models import AuditEvent, ProcessInstance

ROOT = Path(__file__).resolve().parents[2]
TIMERS = 200


def test_two_workers_fire_200_timers_exactly_once(harness, database_url):
    with harness.clock(utcnow() - timedelta(hours=2)):
        for _ in range(TIMERS):
            case = harness.start("order")
            case.complete("填写订单", {"amount": 1})
    harness.session.commit()
    start_at = time.time() + 1.5
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "tests.engine.timer_worker", database_url, str(start_at)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    counts = [int(w.communicate(timeout=300)[0].strip().splitlines()[-1]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert sum(counts) == TIMERS
    session = harness.session
    session.expire_all()
    fired_per_instance = Counter(session.scalars(
        sa.select(AuditEvent.instance_id).where(AuditEvent.kind == "timer_fired")))
    assert len(fired_per_instance) == TIMERS and set(fired_per_instance.values()) == {1}
    ends = Counter(session.scalars(sa.select(ProcessInstance.end_event)))
    assert ends == {"订单已超时": TIMERS}
