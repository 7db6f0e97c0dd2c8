"""The steps a person causes: start an instance, complete one of its user tasks.

Both run in one transaction through :class:`engine.step.Steps`; a completion is
checked under the instance lock (roles, assignee, four-eyes, the task still
open), validated against the task's form, and only then run.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from marshmallow import ValidationError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import logcontext, messaging, snapshot, store
from .assignment import check_four_eyes
from .db import utcnow
from .errors import ClosedByTimer, Conflict, FormInvalid, NotAllowed, NotFound
from .registry import json_safe
from .status import InstanceStatus
from .step import Step, StepContext, StepResult, Steps
from .store import InstanceRecord


def start(steps: Steps, process_id: str, actor: str, data: dict[str, Any] | None,
          business_key: str | None) -> StepResult:
    with steps.transaction() as session:
        definition = steps.definitions.latest(session.connection(), process_id)
        return start_in(steps, session, definition, process_id, actor, data, business_key)


def start_in(steps: Steps, session: Any, definition: Any, process_id: str, actor: str, data: dict[str, Any] | None,
             business_key: str | None, *, fired_start: str | None = None) -> StepResult:
    """Start an instance of ``definition`` in the caller's transaction; ``fired_start``: the BPMN id of a
    timer start event whose time has come (the schedule's), which the instance passes at once."""
    conn = session.connection()
    spec, subprocess_specs = steps.definitions.specs_for(conn, definition.id)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    now = utcnow()
    instance = InstanceRecord(
        id=0, definition_id=definition.id, process_id=process_id, business_key=business_key,
        status=InstanceStatus.RUNNING, end_event=None, started_by=actor, version=1, completed_at=None)
    # Inserted now (handlers need its id), with its real state written at the end of the step.
    instance.id = store.insert_instance(
        conn, definition_id=definition.id, process_id=process_id, business_key=business_key,
        status=InstanceStatus.RUNNING, state="", started_by=actor, created_at=now, updated_at=now, version=1)
    step = steps.begin(session, instance, workflow, actor, "start", snapshot.Snapshot())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    if fired_start is not None:
        for task in workflow.get_tasks(spec_name=fired_start):
            task._set_internal_data(event_fired=True)
    step.audit("instance_started", process_id=process_id, version=definition.version)
    step.run_engine()
    return steps.finish(step)


def complete(steps: Steps, task_id: str, data: dict[str, Any], actor: str,
             roles: Iterable[str] | None) -> StepResult:
    """Complete a READY task; a deadline that passed first wins (see :class:`ClosedByTimer`)."""
    closed: list[str] = []
    with steps.transaction() as session:
        row, locked = store.lock_task(session.connection(), str(task_id))
        if row is None:
            raise NotFound("任务不存在")
        logcontext.bind(task=row.name, task_id=row.id)
        if locked is not None and locked.status == InstanceStatus.SUSPENDED:
            raise Conflict(f"该业务已被管理员暂停，暂不能办理「{row.name}」；恢复后可继续办理")
        if locked is not None and locked.status == InstanceStatus.CANCELLED:
            raise Conflict(f"该业务已被管理员取消，不能再办理「{row.name}」")
        with steps.on(session, row.instance_id, actor, "complete_task", instance=locked) as step:
            _check_actor(row, actor, roles)
            was_ready = row.id in step.before.ready_user_tasks
            # A deadline that passed before this step wins over the person's late click.
            if step.fire_due_timers():
                step.do_engine_steps()
            task = step.workflow.get_task_from_id(UUID(row.id))
            if was_ready and step.fired_timers and (task is None or task.state != TaskState.READY):
                # The timer closed the task: keep what it did (the step commits), then say so below,
                # rather than rolling the timer back and leaving the case to the worker's next sweep.
                closed = _fired_timer_names(step)
                step.run_engine()
            else:
                task = _open_task(step, row, task, actor)
                updates = _validated(steps, step, row, task, data)
                messaging.add_form_data(task, json_safe(updates))
                task.run()
                step.completed_by[row.id] = actor
                step.audit("task_completed", task_id=row.id, bpmn_id=row.bpmn_id, name=row.name)
                step.run_engine()
    assert step.result is not None
    if closed:
        raise ClosedByTimer(row.name, closed, step.result.end_event)
    return step.result


def _fired_timer_names(step: Step) -> list[str]:
    """The fired timers that closed the task (a non-interrupting one, say a reminder, did not; it is
    named only if nothing else fired)."""
    names: list[str] = []
    beside: list[str] = []
    for timer_id in sorted(step.fired_timers):
        timer, due_at = step.before.timers[timer_id]
        spec = timer.task_spec
        step.audit("timer_due", task_id=timer_id, bpmn_id=spec.bpmn_id, name=spec.bpmn_name,
                   due_at=due_at.isoformat())
        (names if getattr(spec, "cancel_activity", True) else beside).append(spec.bpmn_name or spec.bpmn_id)
    return names or beside


def _check_actor(row: Any, actor: str, roles: Iterable[str] | None) -> None:
    if roles is not None and row.role not in set(roles):
        raise NotAllowed(f"您没有办理「{row.name}」的权限")
    if row.assignee and row.assignee != actor:
        raise NotAllowed(f"任务「{row.name}」已由其他人员认领")


def _open_task(step: Step, row: Any, task: Any, actor: str) -> Any:
    if task is None or task.state != TaskState.READY:
        raise Conflict(f"任务「{row.name}」已处理或已取消，请刷新页面")
    check_four_eyes(step.conn, task.task_spec, row, actor)
    return task


def _validated(steps: Steps, step: Step, row: Any, task: Any, data: dict[str, Any]) -> Any:
    """The form's data, validated by its schema and its hook (which sees the case, the schema does not)."""
    binding = steps.registry.binding(row.form_key)
    try:
        validated = binding.schema().load(data or {})
        if binding.on_submit is not None:
            return binding.on_submit(StepContext(step, dict(task.data)), validated) or {}
        return validated
    except ValidationError as err:
        raise FormInvalid(err.messages) from err

