"""The retention policy: finished instances older than N days keep their row and path, not their state."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.errors import NotFound
from engine.models import AuditEvent, InstanceArchive, ProcessInstance
from engine.testing import ProcessHarness

from .test_constructs import _engine_factory

START = datetime.fromisoformat("2026-02-01T00:00:00+00:00")


def _finished(harness, count):
    cases = []
    for _ in range(count):
        case = harness.start("c_call_activity")
        case.complete("复核", {"approved": True})
        assert case.status == "completed"
        cases.append(case)
    return cases


def _audit_rows(harness, case) -> int:
    session = harness.session
    rows = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == case.id))
    session.rollback()
    return int(rows)


@pytest.fixture
def harness(session_factory):
    return ProcessHarness(_engine_factory(session_factory, "c_call_activity.bpmn"))


def test_dry_run_counts_and_apply_archives_in_batches(harness):
    with harness.clock(START):
        old = _finished(harness, 5)
        paths = {case.id: case.path() for case in old}
    with harness.clock(START + timedelta(days=20)):
        young = _finished(harness, 1)[0]
        running = harness.start("c_call_activity")
    with harness.clock(START + timedelta(days=31)):
        dry = harness.engine.archive_finished(30, dry_run=True)
        assert (dry.instances, sorted(dry.instance_ids)) == (5, sorted(c.id for c in old))
        assert dry.audit_rows == sum(_audit_rows(harness, c) for c in old) and dry.state_chars > 0
        assert all(_audit_rows(harness, c) > 0 for c in old)  # a dry run changes nothing
        applied = harness.engine.archive_finished(30, batch=2)
        assert (applied.instances, applied.batches, applied.audit_rows) == (5, 3, dry.audit_rows)
        assert harness.engine.archive_finished(30).instances == 0  # nothing left: each once
    for case in old:
        # The row stays with its outcome and times; the path is kept; the state and audit rows are gone.
        assert (case.status, case.end_event) == ("completed", "完成")
        assert case.path() == paths[case.id] and "复核" in paths[case.id]
        assert _audit_rows(harness, case) == 0
        with pytest.raises(NotFound, match="已归档"):
            harness.engine.load_workflow(case.id)
    session = harness.session
    row = session.get(ProcessInstance, old[0].id)
    assert row.created_at is not None and row.completed_at is not None
    session.rollback()
    # Younger finished instances and running ones are untouched.
    assert _audit_rows(harness, young) > 0 and harness.engine.load_workflow(young.id).is_completed()
    running.complete("复核", {"approved": False})
    assert running.status == "completed"


def test_the_worker_archives_with_a_retention_period(session_factory):
    from engine import worker
    make = _engine_factory(session_factory, "c_call_activity.bpmn")
    harness = ProcessHarness(make)
    with harness.clock(START):
        cases = _finished(harness, 3)
    engine = make()
    engine.retention_days = 30
    with harness.clock(START + timedelta(days=31)):
        total = worker.run(engine, once=True)
    assert total["archived"] == 3
    assert all(_audit_rows(harness, case) == 0 for case in cases)


def test_two_workers_archive_each_instance_once(session_factory):
    make = _engine_factory(session_factory, "c_call_activity.bpmn")
    harness = ProcessHarness(make)
    with harness.clock(START):
        cases = _finished(harness, 12)
    results, errors = [], []

    def archive():
        try:
            results.append(make().archive_finished(30, batch=2).instances)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            session_factory.remove()

    with harness.clock(START + timedelta(days=31)):
        threads = [threading.Thread(target=archive) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors and sum(results) == len(cases)
    session = harness.session
    session.rollback()  # a fresh snapshot, after the workers' commits
    assert session.scalar(sa.select(sa.func.count()).select_from(InstanceArchive)) == len(cases)
    session.rollback()
