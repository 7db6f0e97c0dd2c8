"""The engine's promises, on a small generic diagram: steps, inbox, timers, messages, incidents."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import FormInvalid
from engine.models import AuditEvent, InboxTask

BASE = "2026-11-24T10:00:00+08:00"


def test_happy_path_by_message(harness):
    with harness.clock(BASE):
        case = harness.start("order")
        assert case.current_tasks() == ["填写订单"]
        case.complete("填写订单", {"amount": 5})
        assert case.business_key == f"ORDER-{case.id}"
        assert case.current_tasks() == []
        assert case.send("paid", {"ref": "x"}) is True
    assert case.status == "completed"
    assert case.end_event == "订单已支付"
    assert [t.state for t in case.timers()] == ["cancelled"]
    assert "付款已收到" in case.path()


def test_bad_form_input_changes_nothing(harness):
    case = harness.start("order")
    before = case._instance().state, case._instance().version
    with pytest.raises(FormInvalid) as err:
        case.complete("填写订单", {"amount": 0})
    assert "amount" in err.value.errors
    with pytest.raises(FormInvalid) as err:
        case.complete("填写订单", {})
    assert err.value.errors["amount"] == ["金额为必填项"]
    assert (case._instance().state, case._instance().version) == before
    assert case.current_tasks() == ["填写订单"]


def test_timer_fires_at_due_time_not_a_second_earlier(harness):
    with harness.clock(BASE, tick=False) as clock:
        case = harness.start("order")
        case.complete("填写订单", {"amount": 5})
        [timer] = case.timers()
        clock.shift(timedelta(hours=1) - timedelta(seconds=1))
        assert harness.fire_timers() == 0
        assert case.status == "running"
        clock.shift(timedelta(seconds=1))
        assert harness.fire_timers() == 1
        assert harness.fire_timers() == 0
    assert case.end_event == "订单已超时"
    assert [t.state for t in case.timers()] == ["fired"]


def test_early_and_duplicate_messages(harness):
    case = harness.start("order")
    key = f"ORDER-{case.id}"
    # Arrives before the process waits for it (even before the key is set on the instance).
    assert case.send("paid", {"n": 1}, key=key, idempotency_key="cb-1") is True
    assert case.send("paid", {"n": 1}, key=key, idempotency_key="cb-1") is False
    assert case.status == "running"
    case.complete("填写订单", {"amount": 5})
    assert case.end_event == "订单已支付"


def test_failing_handler_opens_incident_and_undoes_its_writes(harness, switches):
    switches.fail = True
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    session = harness.session
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.kind == "handler_side_effect")) == 0
    [incident] = case.incidents()
    assert incident.status == "open" and incident.attempts == 1 and "下游系统不可用" in incident.error
    assert case.status == "error"
    # The user's form was kept; the task is done.
    assert case.current_tasks() == []
    # Not due yet: nothing retried.
    assert harness.retry_incidents() == 0
    switches.fail = False
    assert harness.retry_incidents(only_due=False) == 1
    [incident] = case.incidents()
    assert incident.status == "resolved"
    assert case.status == "running"
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.kind == "handler_side_effect")) == 1


def test_incident_gives_up_after_backoff(harness, switches):
    switches.fail = True
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    harness.retry_incidents(only_due=False)
    harness.retry_incidents(only_due=False)
    [incident] = case.incidents()
    assert incident.attempts == 3 and incident.status == "failed" and incident.next_retry_at is None
    assert harness.retry_incidents() == 0


def test_restart_after_every_step_reaches_same_end(engine_factory):
    from engine.testing import ProcessHarness
    harness = ProcessHarness(engine_factory, restart_each_step=True)
    case = harness.start("order")
    case.complete("填写订单", {"amount": 7})
    case.send("paid", {})
    assert case.end_event == "订单已支付"


def test_inbox_rows_follow_the_workflow(harness):
    case = harness.start("order")
    [row] = case.open_tasks()
    assert (row.name, row.role, row.form_key, row.state) == ("填写订单", "customer", "order_form", "READY")
    case.complete("填写订单", {"amount": 3}, actor="alice")
    session = harness.session
    session.expire_all()
    done = session.get(InboxTask, row.id)
    assert (done.state, done.completed_by) == ("COMPLETED", "alice")


def test_role_and_claim_rules(harness):
    from engine import NotAllowed
    case = harness.start("order")
    task = case.task("填写订单")
    with pytest.raises(NotAllowed):
        harness.engine.complete_task(task.id, {"amount": 1}, "bob", roles=["clerk"])
    harness.engine.claim(task.id, "alice", roles=["customer"])
    with pytest.raises(NotAllowed):
        harness.engine.complete_task(task.id, {"amount": 1}, "bob", roles=["customer"])
    harness.engine.complete_task(task.id, {"amount": 1}, "alice", roles=["customer"])


def test_a_message_outlives_a_step_that_fails_to_take_it_in(harness, monkeypatch):
    from engine import store
    from engine.models import Message
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    version = case._instance().version
    real_save = store.save_instance

    def broken_save(*args, **kwargs):
        raise RuntimeError("database went away mid-step")

    monkeypatch.setattr(store, "save_instance", broken_save)
    with pytest.raises(RuntimeError, match="went away"):
        harness.engine.deliver_message("paid", case.business_key, {"ref": "x"}, "cb-42")
    # The step was undone, the message was kept, and a repeat of the callback is still recognised.
    assert case.status == "running" and case._instance().version == version
    session = harness.session
    session.expire_all()
    kept = session.scalar(sa.select(Message).where(Message.idempotency_key == "cb-42"))
    assert kept is not None and kept.consumed_at is None
    assert harness.engine.deliver_message("paid", case.business_key, {"ref": "x"}, "cb-42") is False
    monkeypatch.setattr(store, "save_instance", real_save)
    assert harness.engine.deliver_pending() == 1
    assert case.end_event == "订单已支付"


def test_a_step_whose_commit_fails_is_forgotten_by_the_engine(harness, engine_factory, monkeypatch):
    """Two engines (two processes) on one instance: one's commit fails, the other completes the task."""
    from sqlalchemy.orm import Session
    case = harness.start("order")
    first, second = harness.engine, engine_factory()
    task_id = case.task("填写订单").id
    real_commit = Session.commit

    def commit_fails_once(self):
        monkeypatch.setattr(Session, "commit", real_commit)
        raise RuntimeError("connection lost at commit")

    monkeypatch.setattr(Session, "commit", commit_fails_once)
    with pytest.raises(RuntimeError, match="connection lost"):
        first.complete_task(task_id, {"amount": 5}, "alice")
    second.complete_task(task_id, {"amount": 7}, "bob")
    # The row is now at the version the failed step would have written; the first engine must
    # still read the instance again instead of trusting what it had in memory.
    first.deliver_message("paid", f"ORDER-{case.id}", {}, "cb-1")
    assert case.end_event == "订单已支付"
    assert case.data()["amount"] == 7


def test_the_same_callback_delivered_twice_at_once_is_taken_once(harness, engine_factory):
    import threading
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    engines = [engine_factory(), engine_factory()]  # two web processes
    barrier, results, errors = threading.Barrier(2), [], []

    def deliver(engine):
        try:
            barrier.wait()
            results.append(engine.deliver_message("paid", case.business_key, {"ref": "x"}, "cb-twice"))
        except Exception as err:  # noqa: BLE001 - the test reports any failure
            errors.append(err)
        finally:
            engine.session_factory.remove()

    threads = [threading.Thread(target=deliver, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sorted(results) == [False, True]
    assert case.end_event == "订单已支付"


def test_a_step_after_the_deadline_keeps_the_timer_and_says_which_closed_the_task(harness):
    """The late click does not roll the due timer back: the timer's path is committed in that step,
    and the caller learns which timer closed the task and how the instance ended."""
    from engine import ClosedByTimer, Conflict

    with harness.clock(BASE, tick=False) as clock:
        case = harness.start("deadline")
        task = case.task("限期填写")
        clock.shift(timedelta(hours=1, seconds=1))  # the worker has not swept yet
        with pytest.raises(ClosedByTimer) as err:
            harness.engine.complete_task(task.id, {"amount": 5}, "tester")
        assert isinstance(err.value, Conflict) and err.value.status == 409
        assert err.value.timers == ["逾期未填"] and err.value.end_event == "已作废"
        assert err.value.message == "已超过办理期限，「逾期未填」已处理：已作废"
        assert case.status == "completed" and case.end_event == "已作废"
        assert [t.state for t in case.timers()] == ["fired"]
        assert harness.fire_timers() == 0
        # Asked again, the task is simply gone.
        with pytest.raises(Conflict, match="已处理或已取消"):
            harness.engine.complete_task(task.id, {"amount": 5}, "tester")


def test_a_step_before_the_deadline_is_unchanged(harness):
    with harness.clock(BASE, tick=False) as clock:
        case = harness.start("deadline")
        clock.shift(timedelta(minutes=59))
        case.complete("限期填写", {"amount": 5})
    assert case.end_event == "按时填写"
