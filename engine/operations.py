"""What an administrator does to one instance: cancel it with a reason, suspend and resume it, reset it
to an earlier task.  Each operation is one transaction under the instance lock, audited.

- **cancel**: SpiffWorkflow's ``BpmnWorkflow.cancel``; the step's projections close the open inbox rows
  (CANCELLED) and the waiting timers (cancelled); the instance ends with status ``cancelled``.  The
  registry's lifecycle listeners hear of it in the same step (:meth:`Registry.on_lifecycle`): the business
  rows the instance held (a contract, an order, a claim) follow it, or the cancel is refused as a whole.
- **suspend**: the status ``suspended`` holds everything without touching the workflow: the timer sweep,
  the incident retries and message delivery pass over it (messages stay kept), and completing one of its
  tasks is refused with a Chinese error.
- **resume**: back to running (or error, with an open incident) in a step that fires the timers that fell
  due meanwhile, once, and takes in the messages kept for it.
- **reset**: ``BpmnWorkflow.reset_from_task_id`` to a task the instance has completed; the inbox, the
  timers and the audit follow the workflow as after any step.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from . import store
from .db import utcnow
from .errors import Conflict, NotFound
from .registry import CANCELLED
from .status import LIVE, UNFINISHED, IncidentStatus, InstanceStatus
from .step import Step, StepContext, StepResult, Steps
from .store import InstanceRecord

MAX_REASON = 500


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Conflict("请填写原因")
    if len(text) > MAX_REASON:
        raise Conflict(f"原因不能超过 {MAX_REASON} 个字")
    return text


def _lock(conn: Any, instance_id: int, allowed: tuple[str, ...], what: str) -> InstanceRecord:
    instance = store.lock_instance(conn, instance_id)
    if instance is None:
        raise NotFound(f"流程实例#{instance_id}不存在")
    if instance.status not in allowed:
        raise Conflict(f"流程实例#{instance_id}当前状态为「{status_label(instance.status)}」，不能{what}")
    return instance


STATUS_LABELS: dict[str, str] = {InstanceStatus.RUNNING: "运行中", InstanceStatus.ERROR: "有异常",
                 InstanceStatus.COMPLETED: "已结束", InstanceStatus.SUSPENDED: "已暂停",
                 InstanceStatus.CANCELLED: "已取消"}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def cancel(steps: Steps, instance_id: int, actor: str, reason: str) -> StepResult:
    """End an unfinished instance: every open task and timer is cancelled."""
    text = _reason(reason)
    with steps.transaction() as session:
        instance = _lock(session.connection(), instance_id, UNFINISHED, "取消")
        with steps.on(session, instance_id, actor, "cancel", instance=instance) as step:
            step.workflow.cancel()
            step.final_status = InstanceStatus.CANCELLED
            step.audit("instance_cancelled", reason=text, previous_status=instance.status)
            _tell_listeners(steps, step, CANCELLED, reason=text, previous_status=instance.status)
        # Nothing of a cancelled instance is retried: its incidents are closed with it.
        for row in store.unresolved_incidents(session.connection(), instance_id):
            store.update_incident(session.connection(), row.id, status=IncidentStatus.RESOLVED,
                                  resolved_at=utcnow(), next_retry_at=None)
    assert step.result is not None
    return step.result


def _tell_listeners(steps: Steps, step: Step, event: str, **details: Any) -> None:
    """The business code's listeners, in this step: their writes and audit rows commit with it."""
    for listener in steps.registry.lifecycle_listeners:
        listener(StepContext(step, {}), event, **details)


def suspend(steps: Steps, instance_id: int, actor: str, reason: str = "") -> None:
    """Hold a running instance; its workflow state is left exactly as it is."""
    with steps.transaction() as session:
        conn = session.connection()
        instance = _lock(conn, instance_id, LIVE, "暂停")
        store.set_instance_status(conn, instance_id, InstanceStatus.SUSPENDED)
        store.insert_audit(conn, [{"instance_id": instance_id, "task_id": None, "kind": "instance_suspended",
                                   "actor": actor, "at": utcnow(),
                                   "details": {"reason": (reason or "").strip()[:MAX_REASON],
                                               "previous_status": instance.status}}])


def resume(steps: Steps, instance_id: int, actor: str) -> StepResult:
    """Let a suspended instance go on: timers that fell due meanwhile fire now (once each)."""
    with steps.transaction() as session:
        conn = session.connection()
        instance = _lock(conn, instance_id, (InstanceStatus.SUSPENDED,), "恢复")
        # An instance with an unresolved incident goes back to error (its retry sweep takes it up again).
        instance.status = InstanceStatus.ERROR if store.unresolved_incidents(conn, instance_id) \
            else InstanceStatus.RUNNING
        with steps.on(session, instance_id, actor, "resume", instance=instance) as step:
            step.audit("instance_resumed")
            step.run_engine()
    assert step.result is not None
    return step.result


def reset(steps: Steps, instance_id: int, task_id: str, actor: str, reason: str = "") -> StepResult:
    """Go back to ``task_id``, a task the instance completed: it and what follows it run again."""
    with steps.transaction() as session:
        instance = _lock(session.connection(), instance_id, LIVE, "退回")
        with steps.on(session, instance_id, actor, "reset", instance=instance) as step:
            task = _completed_task(step.workflow, task_id)
            spec = task.task_spec
            step.workflow.reset_from_task_id(task.id)
            step.audit("instance_reset", task_id=str(task.id), bpmn_id=spec.bpmn_id,
                       name=spec.bpmn_name, reason=(reason or "").strip()[:MAX_REASON])
            step.run_engine()
            assert step.after is not None
            again = step.after.ready_user_tasks.keys() - step.before.ready_user_tasks.keys()
            step.reopened = store.reopen_inbox(step.conn, again, utcnow()) if again else set()
    assert step.result is not None
    return step.result


def _completed_task(workflow: Any, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, TaskNotFoundException):
        task = None
    if task is None:
        raise NotFound("要退回到的任务不存在")
    if task.state != TaskState.COMPLETED or not task.task_spec.bpmn_id:
        raise Conflict(f"只能退回到已完成的任务，「{task.task_spec.bpmn_name or task.task_spec.bpmn_id}」尚未完成")
    return task


def reset_points(workflow: Any) -> list[dict[str, str]]:
    """The completed tasks an instance can be reset to (user and service tasks, in the order they ran)."""
    points = []
    tasks = sorted((t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                    if t.task_spec.bpmn_id and t.task_spec.bpmn_name
                    and type(t.task_spec).__name__ in _RESETTABLE), key=lambda t: t.last_state_change)
    for task in tasks:
        points.append({"task_id": str(task.id), "bpmn_id": task.task_spec.bpmn_id, "name": task.task_spec.bpmn_name})
    return points


_RESETTABLE = {"UserTask", "ManualTask", "ServiceTask", "ScriptTask", "BusinessRuleTask", "NoneTask"}
