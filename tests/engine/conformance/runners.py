"""Run a conformance scenario with SpiffWorkflow alone, or through the engine with a restart after every step.

Both runners report the same observation: for every action, the flow nodes it
got past (a multiset of BPMN ids, so parallel branches compare as sets), the
errors it ran into, and at the end the workflow's data, its open and waiting
tasks, and whether it completed.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa
import time_machine
from lxml import etree
from marshmallow import INCLUDE, Schema
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import ProcessEngine, Registry
from engine.models import AuditEvent, Incident, ProcessInstance
from engine.testing import Case, ProcessHarness

from .scenarios import BASE_TIME, DIAGRAMS, Advance, Complete, Scenario, Send


class AnyForm(Schema):
    """The conformance diagrams' form: takes whatever the scenario types."""

    class Meta:
        unknown = INCLUDE


def _add(a, b):
    return {"sum": a + b}


def _create_order(parties):
    return {"order_no": "EO-1", "parties": parties}


def _record_signature(party, agreed):
    return {"party": party, "agreed": agreed}


SERVICES = {"conformance_add": _add, "conformance_create_order": _create_order,
            "conformance_record_signature": _record_signature}
LANES = {"卖方": "seller", "买方": "buyer", "系统": "system", "申请人": "applicant", "审核人": "reviewer"}


def make_registry() -> Registry:
    registry = Registry()
    for lane, role in LANES.items():
        registry.lane(lane, role)
    registry.form("any", AnyForm)
    for name, fn in SERVICES.items():
        registry.service(name)(lambda ctx, _fn=fn, **params: _fn(**params))
    return registry


def sources_of(scenario: Scenario) -> dict[str, str]:
    files = [f"{scenario.diagram}.bpmn", *scenario.extra_files]
    return {name: (DIAGRAMS / name).read_text(encoding="utf-8") for name in files}


# ---------------------------------------------------------------- what both runs report

def all_tasks(workflow):
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def completed_since(workflow, since: float) -> Counter:
    return Counter(t.task_spec.bpmn_id for t in all_tasks(workflow)
                   if t.state == TaskState.COMPLETED and t.last_state_change >= since and t.task_spec.bpmn_id)


def final_state(workflow: BpmnWorkflow) -> dict:
    def describe(task):
        return task.task_spec.bpmn_id, json.dumps(task.data, sort_keys=True, ensure_ascii=False, default=repr)

    tasks = list(all_tasks(workflow))
    return {
        "completed": workflow.is_completed(),
        "data": json.dumps(workflow.data, sort_keys=True, ensure_ascii=False, default=repr),
        "data_types": _types(workflow.data),
        "ready": sorted(describe(t) for t in tasks if t.state == TaskState.READY),
        "waiting": sorted(t.task_spec.bpmn_id or t.task_spec.name for t in tasks if t.state == TaskState.WAITING),
    }


def _types(value):
    """The shape of the data: key types included (an int key turned into a string is a difference)."""
    if isinstance(value, dict):
        return {f"{type(k).__name__}:{k}": _types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_types(v) for v in value]]
    return type(value).__name__


def _matches(task, where: dict | None) -> bool:
    return not where or all(task.data.get(k) == v for k, v in where.items())


# ---------------------------------------------------------------- SpiffWorkflow alone

class _MemoryScriptEngine(PythonScriptEngine):
    def call_service(self, task, operation_name=None, operation_params=None, **_):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        return json.dumps(SERVICES[operation_name](**params))


def _event_definitions(workflow, name):
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                yield definition


def _correlations(workflow, send: Send) -> dict:
    """As a sender with this message's correlation properties would compute them (Spiff's ``throw``)."""
    for definition in _event_definitions(workflow, send.name):
        props = definition.correlation_properties
        if send.correlations is not None:
            return {key: {p.name: send.correlations[p.name] for p in props if key in p.correlation_keys
                          and p.name in send.correlations}
                    for p in props for key in p.correlation_keys}
        return definition.calculate_correlations(workflow.script_engine, props, send.payload)
    return {}


def run_in_memory(scenario: Scenario) -> dict:
    parser = SpiffBpmnParser()
    for name, text in sources_of(scenario).items():
        root = etree.fromstring(text.encode("utf-8"))
        if name.endswith(".dmn"):
            parser.add_dmn_xml(root, filename=name)
        else:
            parser.add_bpmn_xml(root, filename=name)
    spec = parser.get_spec(scenario.diagram)
    subprocess_specs = parser.get_subprocess_specs(scenario.diagram)
    steps, errors, kept = [], [], []

    def engine_steps(workflow):
        try:
            workflow.do_engine_steps()
        except WorkflowException:
            # Spiff leaves the task it failed at in ERROR (whether or not the exception names it).
            errors.extend(t.task_spec.bpmn_id for t in all_tasks(workflow) if t.state == TaskState.ERROR)

    def take_kept(workflow):
        for send in list(kept):
            event = BpmnEvent(MessageEventDefinition(send.name), payload=send.payload,
                              correlations=_correlations(workflow, send))
            if workflow.event_manager.catch(event, internal=False):
                kept.remove(send)
                engine_steps(workflow)

    with time_machine.travel(datetime.fromisoformat(BASE_TIME), tick=True) as traveller:
        since = time.time()
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=_MemoryScriptEngine())
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(scenario.start_data)
        engine_steps(workflow)
        steps.append(completed_since(workflow, since))
        for action in scenario.actions:
            since = time.time()
            if isinstance(action, Advance):
                traveller.shift(timedelta(seconds=action.seconds))
            workflow.refresh_timers()
            engine_steps(workflow)
            if isinstance(action, Complete):
                task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                            if t.task_spec.bpmn_name == action.name and _matches(t, action.where))
                if hasattr(task.task_spec, "add_data_from_form"):
                    task.task_spec.add_data_from_form(task, dict(action.data))
                else:
                    task.data.update(action.data)
                task.run()
                engine_steps(workflow)
            elif isinstance(action, Send):
                kept.append(action)
            take_kept(workflow)
            steps.append(completed_since(workflow, since))
    return {"steps": steps, "errors": sorted(set(errors)), "final": final_state(workflow)}


# ---------------------------------------------------------------- through the engine

def deploy_and_check(session_factory, scenario: Scenario):
    """Deploy the diagram; the engine factory for the harness."""
    registry = make_registry()

    def make():
        return ProcessEngine(session_factory, registry, backoff=(60, 600))

    # At the runs' start time: a timer start event's schedule is computed at deploy, as Spiff computes it
    # when the workflow is created.
    with time_machine.travel(datetime.fromisoformat(BASE_TIME), tick=True):
        make().deploy(sources_of(scenario))
    return make


def _nodes_after(session, instance_id: int, after_id: int) -> tuple[Counter, int]:
    rows = session.execute(sa.select(AuditEvent.id, AuditEvent.details).where(
        AuditEvent.instance_id == instance_id, AuditEvent.kind == "nodes_completed",
        AuditEvent.id > after_id).order_by(AuditEvent.id)).all()
    session.rollback()
    nodes = Counter(n["bpmn_id"] for _, details in rows for n in details["nodes"])
    return nodes, max((r[0] for r in rows), default=after_id)


def _task_id(harness, case, action: Complete) -> str:
    workflow = harness.engine.load_workflow(case.id)
    for row in case.open_tasks():
        if row.name != action.name:
            continue
        task = workflow.get_task_from_id(__import__("uuid").UUID(row.id))
        if task is not None and _matches(task, action.where):
            return row.id
    raise AssertionError(f"no open task {action.name!r} matching {action.where}; open: {case.current_tasks()}")


def _started_by_timer(harness, scenario: Scenario):
    """The instance the worker started for the scenario's timer start event, or None (not yet)."""
    session = harness.session
    ids = list(session.scalars(sa.select(ProcessInstance.id).where(ProcessInstance.process_id == scenario.diagram)))
    session.rollback()
    assert len(ids) <= 1, f"a timer start event started {len(ids)} instances"
    return Case(harness, ids[0]) if ids else None


def run_in_engine(make_engine, scenario: Scenario) -> dict:
    harness = ProcessHarness(make_engine, restart_each_step=True)
    steps = []
    with time_machine.travel(datetime.fromisoformat(BASE_TIME), tick=True) as traveller:
        if scenario.timer_start:
            case = None
            steps.append(Counter())
        else:
            case = harness.start(scenario.diagram, data=dict(scenario.start_data), business_key="CASE-1")
            nodes, last = _nodes_after(harness.session, case.id, 0)
            steps.append(nodes)
        for action in scenario.actions:
            if case is None:
                assert isinstance(action, Advance), "nothing to act on before the timer starts the instance"
                traveller.shift(timedelta(seconds=action.seconds))
                harness.fire_timers()
                case = _started_by_timer(harness, scenario)
                nodes, last = _nodes_after(harness.session, case.id, 0) if case else (Counter(), 0)
                steps.append(nodes)
                continue
            if isinstance(action, Advance):
                traveller.shift(timedelta(seconds=action.seconds))
                harness.fire_timers()
            elif isinstance(action, Complete):
                harness.engine.complete_task(_task_id(harness, case, action), dict(action.data), "tester")
                harness.after_step()
            elif isinstance(action, Send):
                case.send(action.name, action.payload, correlations=action.correlations)
            nodes, last = _nodes_after(harness.session, case.id, last)
            steps.append(nodes)
        workflow = harness.engine.load_workflow(case.id)
        session = harness.session
        incidents = session.scalars(sa.select(Incident).where(
            Incident.instance_id == case.id, Incident.status.in_(("open", "failed")))).all()
        errors = sorted({i.bpmn_id for i in incidents})
        session.rollback()
    return {"steps": steps, "errors": errors, "final": final_state(workflow), "status": case.status}
