"""Engine behaviour behind the conformance suite: stalls, cycles, kept messages, shared specs, empty forms."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import ProcessEngine
from engine.errors import FormInvalid
from engine.models import Incident, Message, Timer
from engine.specs import DefinitionError
from engine.testing import ProcessHarness

from .conformance.runners import make_registry
from .conformance.scenarios import DIAGRAMS

START = datetime.fromisoformat("2026-02-01T00:00:00+00:00")


def _engine_factory(session_factory, *files):
    registry = make_registry()

    def make():
        return ProcessEngine(session_factory, registry, backoff=(60, 600))

    make().deploy({name: (DIAGRAMS / name).read_text(encoding="utf-8") for name in files})
    return make


def _open_incidents(harness, case):
    session = harness.session
    session.expire_all()
    return list(session.scalars(sa.select(Incident).where(
        Incident.instance_id == case.id, Incident.status.in_(("open", "failed")))))


def test_a_stalled_instance_becomes_an_incident(session_factory, monkeypatch):
    # Without the multi-instance wiring the parent never hears of its children: nothing is left to do.
    monkeypatch.setattr("engine.specs.wire_runtime_connections", lambda spec, subprocess_specs: None)
    harness = ProcessHarness(_engine_factory(session_factory, "c_mi_parallel_cardinality.bpmn"),
                             restart_each_step=True)
    case = harness.start("c_mi_parallel_cardinality", data={"copies": 1})
    case.complete("抽查", {"result": "合格"})
    assert case.status == "error"
    [incident] = _open_incidents(harness, case)
    assert "停滞" in incident.error and incident.bpmn_id == "Check"


def test_no_true_condition_is_an_incident_with_the_state_stored(session_factory):
    harness = ProcessHarness(_engine_factory(session_factory, "c_no_true_condition.bpmn"), restart_each_step=True)
    case = harness.start("c_no_true_condition")
    result = harness.engine.complete_task(case.task("填写金额").id, {"amount": 50}, "tester")
    assert result.status == "error"
    [incident] = _open_incidents(harness, case)
    assert incident.bpmn_id == "G" and "默认流向" in incident.error and "No conditions satisfied" in incident.error
    workflow = harness.engine.load_workflow(case.id)
    assert workflow.get_tasks(spec_name="Amount")[0].data["amount"] == 50  # the step before the gateway is kept


def test_each_cycle_repetition_fires_once_also_across_restarts(session_factory):
    make = _engine_factory(session_factory, "c_timer_cycle.bpmn")
    harness = ProcessHarness(make, restart_each_step=True)
    with time_machine.travel(START, tick=True) as clock:
        case = harness.start("c_timer_cycle")
        [timer] = case.timers()
        first_due = timer.due_at
        clock.shift(timedelta(hours=1, seconds=5))
        assert harness.fire_timers() == 1
        assert harness.fire_timers() == 0  # the next repetition is not due yet
        [timer] = case.timers()
        assert timer.state == "waiting" and timer.due_at == first_due + timedelta(hours=1)
        clock.shift(timedelta(hours=1))
        assert make().fire_due_timers() == 1 and make().fire_due_timers() == 0
        assert harness.engine.load_workflow(case.id).get_tasks(spec_name="Remind")[0].data["reminders"] >= 1
        clock.shift(timedelta(hours=1))
        harness.fire_timers()
        [timer] = case.timers()
        assert timer.state == "fired"
    reminders = [t for t in harness.engine.load_workflow(case.id).get_tasks(spec_name="Remind")]
    assert len(reminders) == 3  # R3: three repetitions, each exactly once


def test_a_kept_message_nobody_takes_never_fails_a_sweep(session_factory, monkeypatch):
    harness = ProcessHarness(_engine_factory(session_factory, "c_message_correlation.bpmn", "c_event_gateway.bpmn"))
    waiting = harness.start("c_message_correlation", business_key="K-1")
    other = harness.start("c_event_gateway", business_key="K-2")
    waiting.send("c_deposit", {"ref": "A", "amount": 1})
    assert waiting.send("c_balance", {"ref": "B", "amount": 2})  # wrong order: kept, nothing raised
    # Offered, not taken (and no error): nothing counted, so a draining worker does not sweep again for it.
    assert harness.engine.deliver_pending() == 0
    session = harness.session
    assert session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.consumed_at.is_(None))) == 1
    session.rollback()
    # A failing instance in the sweep does not keep the next one from its message.
    session.add(Message(name="c_paid", business_key="K-2", idempotency_key="late", payload={"amount": 3},
                        received_at=START))
    session.commit()
    from engine import messages
    real = messages._take_in

    def flaky(steps, session, instance_id, attempt=None):
        if instance_id == waiting.id:
            raise RuntimeError("boom")
        return real(steps, session, instance_id, attempt)

    monkeypatch.setattr(messages, "_take_in", flaky)
    harness.engine.deliver_pending()
    assert other.status == "completed"


def test_an_event_subprocess_of_one_instance_does_not_start_in_the_next(session_factory):
    harness = ProcessHarness(_engine_factory(session_factory, "c_event_subprocess_non_interrupting.bpmn"))
    first = harness.start("c_event_subprocess_non_interrupting", business_key="K-1")
    first.send("c_note", {"text": "加急"})
    assert "收到备注" in first.path() and first.current_tasks() == ["办理", "阅读备注"]
    second = harness.start("c_event_subprocess_non_interrupting", business_key="K-2")  # same cached spec
    assert second.current_tasks() == ["办理"]
    assert "收到备注" not in second.path()


def test_a_manual_task_takes_its_confirmation_and_refuses_data(session_factory):
    harness = ProcessHarness(_engine_factory(session_factory, "c_manual_task.bpmn"))
    case = harness.start("c_manual_task")
    task = case.task("盖章")
    assert task.form_key == "builtin:empty"
    with pytest.raises(FormInvalid) as refused:
        harness.engine.complete_task(task.id, {"stamp": "x"}, "tester")
    assert "没有表单字段" in str(refused.value.errors)
    case.complete("盖章")
    assert case.current_tasks() == ["归档"]


def test_a_manual_task_naming_an_unknown_form_is_refused(session_factory):
    source = (DIAGRAMS / "c_manual_task.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:manualTask id="Stamp" name="盖章"/>',
        '<bpmn:manualTask id="Stamp" name="盖章"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="stamp_form"/></spiffworkflow:properties>'
        '</bpmn:extensionElements></bpmn:manualTask>')
    engine = ProcessEngine(session_factory, make_registry())
    with pytest.raises(DefinitionError) as refused:
        engine.deploy({"c_manual_task.bpmn": source})
    assert "Stamp" in str(refused.value) and "stamp_form" in str(refused.value)


def test_integer_keys_built_at_run_time_fail_at_the_script(session_factory):
    source = (DIAGRAMS / "c_integer_keys.bpmn").read_text(encoding="utf-8").replace(
        'by_floor = {1: "一层", 2: "二层"}', 'by_floor = {n: "层" for n in range(1, 3)}')
    engine = ProcessEngine(session_factory, make_registry())
    engine.deploy({"c_integer_keys.bpmn": source})
    harness = ProcessHarness(lambda: ProcessEngine(session_factory, make_registry()))
    case = harness.start("c_integer_keys")
    [incident] = _open_incidents(harness, case)
    assert incident.bpmn_id == "Build" and "非字符串键" in incident.error


@pytest.mark.parametrize("script, says", [("by_floor = (1, 2)", "tuple"), ("by_floor = {1, 2}", "set")])
def test_a_value_json_would_change_fails_at_the_script(session_factory, script, says):
    source = (DIAGRAMS / "c_integer_keys.bpmn").read_text(encoding="utf-8").replace(
        'by_floor = {1: "一层", 2: "二层"}', script)
    ProcessEngine(session_factory, make_registry()).deploy({"c_integer_keys.bpmn": source})
    harness = ProcessHarness(lambda: ProcessEngine(session_factory, make_registry()))
    case = harness.start("c_integer_keys")
    [incident] = _open_incidents(harness, case)
    assert incident.bpmn_id == "Build" and says in incident.error and "列表" in incident.error
    session = harness.session
    assert session.scalar(sa.select(sa.func.count()).select_from(Timer)) == 0
    session.rollback()


def test_an_open_task_whose_form_the_registry_lost_is_an_incident(session_factory):
    _engine_factory(session_factory, "c_user_script.bpmn")  # deployed while the form "any" existed
    smaller = make_registry()
    del smaller.forms["any"]
    harness = ProcessHarness(lambda: ProcessEngine(session_factory, smaller))
    case = harness.start("c_user_script")
    [incident] = _open_incidents(harness, case)
    assert incident.bpmn_id == "Enter" and "表单「any」没有注册" in incident.error
