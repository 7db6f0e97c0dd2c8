"""Every worker sweep survives an instance that fails: the instance gets an incident (error and element,
written after its step rolled back), waits for the incident's retry time, and the sweep goes on."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from engine import ProcessEngine, store
from engine.db import utcnow
from engine.specs import read_directory

HERE = Path(__file__).parent
BASE = datetime.fromisoformat("2026-11-24T10:00:00+08:00")
BACKOFF = (10, 60)


@pytest.fixture
def engine(session_factory, registry):
    engine = ProcessEngine(session_factory, registry, backoff=BACKOFF)
    engine.deploy({**read_directory(HERE / "diagrams"), **read_directory(HERE / "diagrams_sweeps")})
    return engine


def _incident(engine, instance_id):
    engine.session_factory().expire_all()
    [incident] = engine.queries.incidents(instance_id=instance_id)
    return incident


def _poison(monkeypatch, instance_ids: set[int]):
    """Make every step of these instances fail as it is written (a fault no deploy check foresees)."""
    real_save = store.save_instance

    def save(conn, record, state, now):
        if record.id in instance_ids:
            raise RuntimeError("状态无法写入数据库")
        return real_save(conn, record, state, now)

    monkeypatch.setattr(store, "save_instance", save)


def test_a_poisoned_timer_gets_an_incident_and_every_other_due_timer_fires_in_the_same_sweep(engine, monkeypatch):
    with time_machine.travel(BASE, tick=False) as clock:
        poisoned = engine.start("ticker", "tester").instance_id  # due first
        healthy = [engine.start("ticker", "tester").instance_id for _ in range(500)]
        clock.shift(timedelta(hours=1))
        _poison(monkeypatch, {poisoned})

        assert engine.fire_due_timers(limit=1000) == 500

        assert engine.queries.instance_counts() == {"completed": 500, "error": 1}
        assert engine.queries.instance(healthy[-1]).end_event == "结束"
        incident = _incident(engine, poisoned)
        assert (incident.bpmn_id, incident.task_name, incident.status, incident.attempts) == \
            ("Wait", "一小时后", "open", 1)
        assert "RuntimeError: 状态无法写入数据库" in incident.error
        assert incident.next_retry_at == utcnow() + timedelta(seconds=BACKOFF[0])
        [timer] = engine.queries.timers(instance_id=poisoned)
        assert timer.state == "waiting"  # the failed step left nothing behind

        # Backoff through the incident: the next sweeps leave the timer alone ...
        assert engine.fire_due_timers(limit=1000) == 0
        assert _incident(engine, poisoned).attempts == 1
        # ... until the incident is due: its retry fails again and is counted, with the next wait.
        clock.shift(timedelta(seconds=BACKOFF[0]))
        assert engine.retry_incidents() == 0
        incident = _incident(engine, poisoned)
        assert (incident.attempts, incident.status) == (2, "open")
        assert incident.next_retry_at == utcnow() + timedelta(seconds=BACKOFF[1])
        clock.shift(timedelta(seconds=BACKOFF[1]))
        assert engine.retry_incidents() == 0
        assert (_incident(engine, poisoned).attempts, _incident(engine, poisoned).status) == (3, "failed")


def test_a_script_that_makes_unstorable_data_fails_at_its_task_not_at_the_sweep(engine):
    """The issue's poison (`x = range(3)` after a timer): an incident naming the script task, the rest stored."""
    with time_machine.travel(BASE, tick=False) as clock:
        poisoned = engine.start("poisoned_timer", "tester").instance_id
        healthy = engine.start("ticker", "tester").instance_id
        clock.shift(timedelta(hours=1))
        assert engine.fire_due_timers() == 2
        incident = _incident(engine, poisoned)
        assert (incident.bpmn_id, incident.task_name) == ("Unstorable", "写入无法保存的数据")
        assert "range" in incident.error
        assert engine.queries.instance(healthy).status == "completed"
        assert [t.state for t in engine.queries.timers(instance_id=poisoned, state=None)] == ["fired"]


def test_a_step_that_failed_once_is_retried_through_its_incident_and_resolves_it(engine, monkeypatch):
    real_save = store.save_instance
    with time_machine.travel(BASE, tick=False) as clock:
        failing, other = (engine.start("ticker", "tester").instance_id for _ in range(2))
        clock.shift(timedelta(hours=1))

        def save_fails_for_one(conn, record, state, now):
            if record.id == failing:
                raise RuntimeError("数据库连接中断")
            return real_save(conn, record, state, now)

        monkeypatch.setattr(store, "save_instance", save_fails_for_one)
        assert engine.fire_due_timers() == 1
        monkeypatch.setattr(store, "save_instance", real_save)
        incident = _incident(engine, failing)
        assert (incident.bpmn_id, incident.error) == ("Wait", "RuntimeError: 数据库连接中断")
        assert engine.queries.instance(other).status == "completed"

        clock.shift(timedelta(seconds=BACKOFF[0]))
        assert engine.retry_incidents() == 1
        engine.session_factory().expire_all()
        assert engine.queries.instance(failing).status == "completed"
        [resolved] = engine.queries.incidents(instance_id=failing, statuses=None)
        assert resolved.status == "resolved"


def test_the_incident_sweep_goes_on_past_a_retry_that_fails(engine, switches, monkeypatch):
    with time_machine.travel(BASE, tick=False) as clock:
        poisoned = engine.start("ticker", "tester").instance_id
        clock.shift(timedelta(hours=1))
        _poison(monkeypatch, {poisoned})
        assert engine.fire_due_timers() == 0
        switches.fail = True
        order = engine.start("order", "tester")
        engine.complete_task(order.ready_tasks[0]["id"], {"amount": 5}, "tester")
        switches.fail = False

        assert engine.retry_incidents(only_due=False) == 1

        assert _incident(engine, poisoned).attempts == 2
        engine.session_factory().expire_all()
        assert engine.queries.instance(order.instance_id).status == "running"
        assert engine.queries.incidents(instance_id=order.instance_id).items == []


def test_the_kept_message_sweep_goes_on_past_an_instance_that_fails(engine, monkeypatch):
    with time_machine.travel(BASE, tick=False) as clock:
        poisoned = engine.start("poke", "tester", business_key="K-1").instance_id
        healthy = engine.start("poke", "tester", business_key="K-2").instance_id
        _poison(monkeypatch, {poisoned})
        # Kept while their instances were busy: only the sweep offers them now.
        with engine.steps.transaction() as session:
            for key in ("K-1", "K-2"):
                store.insert_message(session.connection(), name="poke", business_key=key, payload={},
                                     idempotency_key=f"poke-{key}", received_at=utcnow())

        assert engine.deliver_pending() == 1

        engine.session_factory().expire_all()
        assert engine.queries.instance(healthy).status == "completed"
        incident = _incident(engine, poisoned)
        assert incident.attempts == 1 and "RuntimeError: 状态无法写入数据库" in incident.error
        # The message is still kept, and the sweep leaves the instance alone until the incident is due.
        assert engine.deliver_pending() == 0
        assert _incident(engine, poisoned).attempts == 1
        clock.shift(timedelta(seconds=BACKOFF[0]))
        assert engine.retry_incidents() == 0
        assert _incident(engine, poisoned).attempts == 2
