"""Timer start events: deploy registers a schedule, the worker starts one instance per due moment, exactly
once, with two workers and after downtime; a newer version replaces the schedule; a computed time is refused."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from engine import ProcessEngine
from engine.db import utcnow
from engine.models import AuditEvent, ProcessInstance, ProcessSchedule
from engine.specs import DefinitionError

from .test_concurrency import _run_workers

HERE = Path(__file__).parent
SCHEDULES = HERE / "diagrams_schedules"
BASE = datetime.fromisoformat("2026-11-24T10:00:00+08:00")


def _sources(*names):
    return {f"{n}.bpmn": (SCHEDULES / f"{n}.bpmn").read_text(encoding="utf-8") for n in names}


def _instances(session_factory, process_id):
    session = session_factory()
    session.expire_all()
    rows = session.execute(sa.select(ProcessInstance.status, ProcessInstance.created_at)
                           .where(ProcessInstance.process_id == process_id).order_by(ProcessInstance.id)).all()
    session.rollback()
    return rows


def test_a_cycle_starts_one_instance_per_repetition_and_no_more(session_factory, registry):
    engine = ProcessEngine(session_factory, registry)
    with time_machine.travel(BASE, tick=False) as clock:
        engine.deploy(_sources("hourly_report"))
        assert engine.fire_due_timers() == 0
        clock.shift(timedelta(hours=1) - timedelta(seconds=1))
        assert engine.fire_due_timers() == 0
        clock.shift(timedelta(seconds=1))
        assert engine.fire_due_timers() == 1
        assert engine.fire_due_timers() == 0  # the same moment never twice
        [first] = _instances(session_factory, "hourly_report")
        assert first.status == "completed" and first.created_at == BASE + timedelta(hours=1)
        # Downtime: the two repetitions left were missed; the next sweep starts one instance for each.
        clock.shift(timedelta(hours=5))
        assert engine.fire_due_timers() == 2
        clock.shift(timedelta(days=1))
        assert engine.fire_due_timers() == 0  # R3: three, then done
        assert [r.status for r in _instances(session_factory, "hourly_report")] == ["completed"] * 3
        session = session_factory()
        [schedule] = session.scalars(sa.select(ProcessSchedule)).all()
        assert (schedule.state, schedule.started) == ("done", 3)
        fired = session.scalars(sa.select(AuditEvent).where(AuditEvent.kind == "timer_start_fired")
                                .order_by(AuditEvent.id)).all()
        assert [e.details["due_at"] for e in fired] == [
            (BASE + timedelta(hours=h)).astimezone(fired[0].at.tzinfo).isoformat() for h in (1, 2, 3)]


def test_an_unbounded_cycle_catches_up_after_downtime_within_the_sweep_limit(session_factory, registry):
    engine = ProcessEngine(session_factory, registry)
    with time_machine.travel(BASE, tick=False) as clock:
        engine.deploy(_sources("minutely_sweep"))
        clock.shift(timedelta(minutes=10))
        assert engine.fire_due_timers(limit=4) == 4
        assert engine.fire_due_timers() == 6
        assert engine.fire_due_timers() == 0
        assert len(_instances(session_factory, "minutely_sweep")) == 10


def test_a_newer_version_replaces_the_schedule(session_factory, registry):
    engine = ProcessEngine(session_factory, registry)
    with time_machine.travel(BASE, tick=False) as clock:
        engine.deploy(_sources("hourly_report"))
        clock.shift(timedelta(minutes=30))
        changed = _sources("hourly_report")["hourly_report.bpmn"].replace('"R3/PT1H"', '"R2/PT2H"')
        engine.deploy({"hourly_report.bpmn": changed})
        clock.shift(timedelta(minutes=30))
        assert engine.fire_due_timers() == 0  # the old version's hour passed: it no longer starts anything
        clock.shift(timedelta(hours=2))
        assert engine.fire_due_timers() == 1
        session = session_factory()
        states = session.scalars(sa.select(ProcessSchedule.state).order_by(ProcessSchedule.id)).all()
        assert states == ["replaced", "waiting"]
        [instance] = session.scalars(sa.select(ProcessInstance)).all()
        assert instance.definition.version == 2


def test_a_computed_timer_start_is_refused_naming_the_element(session_factory, registry):
    engine = ProcessEngine(session_factory, registry)
    computed = _sources("hourly_report")["hourly_report.bpmn"].replace('"R3/PT1H"', 'every')
    with pytest.raises(DefinitionError) as refused:
        engine.deploy({"hourly_report.bpmn": computed})
    assert "定时开始事件「每小时」(Ev_start)" in str(refused.value) and "字符串常量" in str(refused.value)


def test_two_workers_start_each_repetition_exactly_once(session_factory, registry, database_url):
    engine = ProcessEngine(session_factory, registry)
    with time_machine.travel(utcnow() - timedelta(minutes=30), tick=True):
        engine.deploy(_sources("twenty_checks"))
    session_factory().commit()
    counts = _run_workers(database_url)
    assert sum(counts) == 20
    assert [r.status for r in _instances(session_factory, "twenty_checks")] == ["completed"] * 20
