"""The read model: filters, order and keyset pages over the engine's tables."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import BadCursor, InboxState, InstanceStatus, TimerState

BASE = "2026-11-24T10:00:00+08:00"


def test_open_tasks_are_paged_by_key_without_gaps_or_repeats(harness):
    with harness.clock(BASE, tick=False) as clock:
        cases = []
        for _ in range(7):
            cases.append(harness.start("order", actor="alice"))
            clock.shift(timedelta(seconds=1))
        harness.start("order", actor="bob")
    queries = harness.engine.queries
    seen, cursor = [], None
    while True:
        page = queries.open_tasks(started_by="alice", after=cursor, limit=3)
        seen.extend(t.instance_id for t in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [c.id for c in cases]
    newest = queries.open_tasks(started_by="alice", newest_first=True, limit=2)
    assert [t.instance_id for t in newest] == [cases[-1].id, cases[-2].id]
    assert all(t.state == InboxState.READY for t in queries.open_tasks(roles=["customer"], limit=50))
    assert len(queries.open_tasks(roles=["clerk"])) == 0


def test_a_forged_cursor_is_refused_in_words(harness):
    harness.start("order")
    with pytest.raises(BadCursor) as err:
        harness.engine.queries.open_tasks(after="not-a-cursor")
    assert "分页参数无效" in str(err.value)


def test_timers_instances_incidents_and_audit(harness, switches):
    with harness.clock(BASE):
        ok = harness.start("order", actor="alice")
        ok.complete("填写订单", {"amount": 5})
        switches.fail = True
        broken = harness.start("order", actor="alice")
        broken.complete("填写订单", {"amount": 6})
    queries = harness.engine.queries
    [timer] = queries.timers()
    assert timer.instance_id == ok.id and timer.state == TimerState.WAITING
    assert [i.instance_id for i in queries.incidents()] == [broken.id]
    assert queries.unresolved_incident_count() == 1
    assert queries.instance_counts() == {InstanceStatus.RUNNING: 1, InstanceStatus.ERROR: 1}
    assert [i.id for i in queries.instances(business_key_prefix="ORDER-")] == [ok.id]
    assert [i.id for i in queries.instances(status=InstanceStatus.ERROR)] == [broken.id]
    assert [i.id for i in queries.instances(business_key_prefix="%")] == []  # a wildcard is a character
    kinds = [e.kind for e in queries.audit(instance_id=ok.id)]
    assert kinds[0] == "instance_started" and "task_completed" in kinds
    assert [n["name"] for n in queries.completed_nodes(ok.id)][:2] == ["订单已开始", "填写订单"]


def test_started_by_names_who_started_an_instance(harness):
    case = harness.start("order", actor="alice")
    assert harness.engine.queries.started_by(case.id) == "alice"
    assert harness.engine.queries.started_by(999999) is None
