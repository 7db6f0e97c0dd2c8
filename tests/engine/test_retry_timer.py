"""Retrying the incident of a timer whose time could not be computed runs the timer again: it computes its
time and waits for it; it does not fire at once (SpiffWorkflow runs a READY catch event as caught)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import time_machine

from engine import ProcessEngine
from engine.specs import read_directory

HERE = Path(__file__).parent
BASE = datetime.fromisoformat("2026-11-24T10:00:00+08:00")


def test_retrying_a_failed_timer_waits_for_its_time_instead_of_firing(session_factory, registry):
    broken = {"yes": True}

    def wait_for():
        if broken["yes"]:
            raise RuntimeError("期限服务不可用")
        return "PT2H"

    registry.expression_globals["wait_for"] = wait_for
    engine = ProcessEngine(session_factory, registry, backoff=(10, 60))
    engine.deploy(read_directory(HERE / "diagrams_retry"))
    with time_machine.travel(BASE, tick=False) as clock:
        started = engine.start("flaky_timer", "tester")
        assert started.status == "error"
        [incident] = engine.queries.incidents(instance_id=started.instance_id)
        assert incident.bpmn_id == "Wait"

        clock.shift(timedelta(seconds=10))
        assert engine.retry_incidents() == 1  # still broken: counted, nothing fired
        session_factory().expire_all()
        [incident] = engine.queries.incidents(instance_id=started.instance_id)
        assert (incident.attempts, engine.queries.instance(started.instance_id).status) == (2, "error")

        broken["yes"] = False
        clock.shift(timedelta(seconds=60))
        assert engine.retry_incidents() == 1
        session_factory().expire_all()
        instance = engine.queries.instance(started.instance_id)
        assert (instance.status, instance.end_event) == ("running", None)  # waits; did not fire
        [timer] = engine.queries.timers(instance_id=started.instance_id)
        assert timer.due_at == datetime.fromisoformat("2026-11-24T02:01:10+00:00") + timedelta(hours=2)
        assert engine.queries.incidents(instance_id=started.instance_id).items == []

        clock.shift(timedelta(hours=2))
        assert engine.fire_due_timers() == 1
        session_factory().expire_all()
        assert engine.queries.instance(started.instance_id).end_event == "结束"
