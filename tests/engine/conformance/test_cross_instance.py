"""A send task's message reaches a receiver in ANOTHER instance of the same business key, through the
engine's own message delivery (kept in the thrower's transaction, offered after its commit), exactly as
SpiffWorkflow's own collaboration does in memory (the sender's ``get_events()`` given to the receiver)."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import ProcessEngine
from engine.models import Message
from engine.testing import ProcessHarness

from .runners import _MemoryScriptEngine, final_state, make_registry
from .scenarios import BASE_TIME, DIAGRAMS

FILES = ("c_handover_sender.bpmn", "c_handover_throw.bpmn", "c_handover_receiver.bpmn")
SENDERS = ("c_handover_sender", "c_handover_throw")  # a send task; an intermediate message throw event
FORM = {"boxes": 3, "note": "急件"}


def _sources():
    return {name: (DIAGRAMS / name).read_text(encoding="utf-8") for name in FILES}


def _in_memory(receiver_first: bool, sender_id: str) -> dict:
    parser = SpiffBpmnParser()
    for text in _sources().values():
        parser.add_bpmn_xml(etree.fromstring(text.encode("utf-8")))

    def new(process_id):
        workflow = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id),
                                script_engine=_MemoryScriptEngine())
        workflow.do_engine_steps()
        return workflow

    receiver = new("c_handover_receiver") if receiver_first else None
    sender = new(sender_id)
    [task] = sender.get_tasks(state=TaskState.READY, manual=True)
    task.task_spec.add_data_from_form(task, dict(FORM))
    task.run()
    sender.do_engine_steps()
    [event] = sender.get_events()
    receiver = receiver or new("c_handover_receiver")
    assert receiver.event_manager.catch(event, internal=False) == 1
    receiver.do_engine_steps()
    return {"sender": final_state(sender), "receiver": final_state(receiver)}


def _through_engine(session_factory, receiver_first: bool, sender_id: str) -> dict:
    registry = make_registry()

    def make():
        return ProcessEngine(session_factory, registry)

    harness = ProcessHarness(make, restart_each_step=True)
    with time_machine.travel(datetime.fromisoformat(BASE_TIME), tick=True):
        harness.engine.deploy(_sources())
        receiver = harness.start("c_handover_receiver", business_key="HO-1") if receiver_first else None
        sender = harness.start(sender_id, business_key="HO-1")
        sender.complete("填写交接单", dict(FORM))
        if receiver is None:
            assert sender.status == "completed"
            receiver = harness.start("c_handover_receiver", business_key="HO-1")
        # Taken once: a second receiver of the same key waits for a message of its own.
        other = harness.start("c_handover_receiver", business_key="HO-1")
        assert (receiver.status, other.status) == ("completed", "running")
        session = harness.session
        [message] = session.scalars(sa.select(Message)).all()
        assert (message.instance_id, message.sender_instance_id, message.business_key) == \
            (receiver.id, sender.id, "HO-1")
        assert message.expires_at is not None
        session.rollback()
        return {"sender": final_state(harness.engine.load_workflow(sender.id)),
                "receiver": final_state(harness.engine.load_workflow(receiver.id))}


@pytest.mark.parametrize("sender_id", SENDERS)
def test_a_thrown_message_reaches_the_waiting_receiver_of_another_instance(session_factory, sender_id):
    expected = _in_memory(True, sender_id)
    assert expected["receiver"]["completed"]
    assert _through_engine(session_factory, True, sender_id) == expected


@pytest.mark.parametrize("sender_id", SENDERS)
def test_a_receiver_that_comes_later_takes_the_kept_message_in(session_factory, sender_id):
    assert _through_engine(session_factory, False, sender_id) == _in_memory(False, sender_id)


def test_deploy_refuses_a_sender_whose_message_no_deployed_process_receives(session_factory):
    from engine.specs import DefinitionError

    engine = ProcessEngine(session_factory, make_registry())
    sender = {"c_handover_sender.bpmn": _sources()["c_handover_sender.bpmn"]}
    with pytest.raises(DefinitionError) as refused:
        engine.deploy(sender)
    assert "SendTask「交给档案室」(Send)" in str(refused.value) and "c_handover" in str(refused.value)
    assert not engine.validate(sender).ok
    # Once a receiver is deployed, the sender may be deployed on its own.
    engine.deploy({"c_handover_receiver.bpmn": _sources()["c_handover_receiver.bpmn"]})
    assert engine.validate(sender).ok
    assert [r.process_id for r in engine.deploy(sender)] == ["c_handover_sender"]
