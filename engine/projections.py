"""What a step writes besides the state: the difference of the inbox and timer rows, and the audit trail.

Inbox and timer rows are projections of the workflow: the step compares the
snapshot taken when it began with the one taken at its end and writes only the
difference, so lists and sweeps never deserialize a workflow and no query is
needed to find out what changed.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState

from . import store
from .due import due_at
from .registry import Registry, json_safe
from .snapshot import Snapshot
from .specs import form_key_of
from .status import InboxState, TimerState

if TYPE_CHECKING:
    from .step import Step


def audit_completed_nodes(step: Step, after: Snapshot) -> None:
    """One row for every flow node the step got past, in order (they share the step's time)."""
    if after.completed_since:
        step.audit("nodes_completed", nodes=[
            {"bpmn_id": task.task_spec.bpmn_id, "name": task.task_spec.bpmn_name}
            for task in after.completed_since])


def end_event_name(workflow: Any) -> str | None:
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        spec = task.task_spec
        if type(spec).__name__ == "EndEvent" and task.workflow is workflow:
            return str(spec.bpmn_name or spec.bpmn_id)
    return None


def write_inbox(step: Step, after: Snapshot, now: datetime, registry: Registry) -> None:
    """Write the difference between the READY user tasks before and after the step."""
    instance, workflow = step.instance, step.workflow
    before = step.before.ready_user_tasks
    closed = []
    for task_id in before.keys() - after.ready_user_tasks.keys():
        # The task object the step began with: it may have left the tree since (a finished loop iteration
        # is pruned, engine.history; a reset or a migration dropped its branch), and its state is what the
        # step made of it.
        task = before[task_id]
        if task.state == TaskState.COMPLETED:
            closed.append({"b_id": task_id, "state": InboxState.COMPLETED, "completed_at": now,
                           "completed_by": step.completed_by.get(task_id, step.actor)})
        else:
            closed.append({"b_id": task_id, "state": InboxState.CANCELLED, "completed_at": now,
                           "completed_by": step.actor})
            step.audit("task_cancelled", task_id=task_id, bpmn_id=task.task_spec.bpmn_id)
    if closed:
        store.close_inbox(step.conn, closed)
    if instance.business_key != step.business_key_before:
        store.rekey_inbox(step.conn, instance.id, instance.business_key)
    new_rows = []
    for task_id in after.ready_user_tasks.keys() - before.keys() - step.reopened:
        task = after.ready_user_tasks[task_id]
        spec = task.task_spec
        new_rows.append({
            "id": task_id, "instance_id": instance.id, "process_id": instance.process_id,
            "business_key": instance.business_key, "bpmn_id": spec.bpmn_id,
            "name": spec.bpmn_name or spec.bpmn_id, "lane": spec.lane,
            "role": registry.role_for_lane(spec.lane), "form_key": form_key_of(spec),
            "state": InboxState.READY, "created_at": now,
            "due_at": due_at(task, now, workflow.script_engine)})
    if new_rows:
        store.insert_inbox(step.conn, new_rows)



def write_timers(step: Step, after: Snapshot, now: datetime) -> None:
    """Close the timer rows that fired or were cancelled; add the ones the step started."""
    before = step.before.timers
    closed = []
    rescheduled: list[dict[str, Any]] = [
        {"b_task_id": task_id, "due_at": due} for task_id, (_, due) in after.timers.items()
        if task_id in before and before[task_id][1] != due]
    for row in rescheduled:
        moved_id: str = row["b_task_id"]
        moved: Any = after.timers[moved_id][0]
        # A cycle's repetition fired and the same task waits for the next one; any other timer whose due
        # time changed was computed again (a migration to a diagram with another timer expression).
        cycle = isinstance(moved._get_internal_data("event_value"), dict)
        step.audit("timer_fired" if cycle else "timer_rescheduled", task_id=moved_id,
                   bpmn_id=moved.task_spec.bpmn_id, name=moved.task_spec.bpmn_name,
                   **({} if cycle else {"due_at": row["due_at"].isoformat()}))
    if rescheduled:
        store.reschedule_timers(step.conn, rescheduled)
    for task_id in before.keys() - after.timers.keys():
        fired = task_id in step.fired_timers
        closed.append({"b_task_id": task_id, "state": TimerState.FIRED if fired else TimerState.CANCELLED,
                       "fired_at": now if fired else None})
        if fired:
            task: Any = before[task_id][0]
            step.audit("timer_fired", task_id=task_id, bpmn_id=task.task_spec.bpmn_id,
                       name=task.task_spec.bpmn_name)
    new_rows = []
    for task_id, (waiting, due) in after.timers.items():
        if task_id not in before:
            spec: Any = waiting.task_spec
            new_rows.append({"instance_id": step.instance.id, "process_id": step.instance.process_id,
                             "task_id": task_id, "bpmn_id": spec.bpmn_id,
                             "name": spec.bpmn_name or spec.bpmn_id, "due_at": due,
                             "state": TimerState.WAITING})
    if closed:
        store.close_timers(step.conn, closed)
    if new_rows:
        store.insert_timers(step.conn, new_rows)


def write_audit(step: Step, now: datetime) -> None:
    if step.events:
        store.insert_audit(step.conn, [
            {"instance_id": step.instance.id, "task_id": task_id, "kind": kind, "actor": step.actor,
             "at": now, "details": json_safe(details)} for kind, task_id, details in step.events])
