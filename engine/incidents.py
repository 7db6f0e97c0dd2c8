"""Failed service tasks: the incident rows a step keeps in line with its errored tasks, backoff, and retries.

A task left in ERROR by a step has one unresolved incident with the error, the
number of attempts and the time of the next retry (``backoff`` seconds after the
attempt, then ``failed``: an administrator decides).  The worker's sweep and the
administrator's retry button run the task again; a step that no longer has the
task in ERROR resolves its incident.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from . import store
from .db import utcnow
from .snapshot import Snapshot
from .status import UNRESOLVED, IncidentStatus

if TYPE_CHECKING:
    from .step import Step, Steps

# Seconds to wait before retry number n of a failing service task (then: give up).
DEFAULT_BACKOFF = (30, 120, 600, 3600, 6 * 3600)


def _schedule(values: dict[str, Any], now: datetime, backoff: tuple[int, ...]) -> None:
    if values["attempts"] <= len(backoff):
        values["status"] = IncidentStatus.OPEN
        values["next_retry_at"] = now + timedelta(seconds=backoff[values["attempts"] - 1])
    else:
        values["status"] = IncidentStatus.FAILED
        values["next_retry_at"] = None


def sync(step: Step, after: Snapshot, now: datetime, backoff: tuple[int, ...]) -> list[str]:
    """Open, update and resolve the instance's incidents; ``"task: error"`` of each unresolved one."""
    conn, instance = step.conn, step.instance
    unresolved = store.unresolved_incidents(conn, instance.id)
    for row in unresolved:
        if row.task_id not in after.errored:
            store.update_incident(conn, row.id, status=IncidentStatus.RESOLVED, resolved_at=now)
            step.audit("incident_resolved", task_id=row.task_id, incident=row.id)
    by_task = {row.task_id: row for row in unresolved}
    found = []
    for task_id, task in after.errored.items():
        error = step.failures.get(task.id)  # type: ignore[attr-defined]
        row = by_task.get(task_id)
        if row is None:
            spec: Any = task.task_spec  # type: ignore[attr-defined]
            values: dict[str, Any] = {
                "instance_id": instance.id, "task_id": task_id, "bpmn_id": spec.bpmn_id,
                "task_name": spec.bpmn_name or spec.bpmn_id, "error": error or "未知错误", "attempts": 1,
                "status": IncidentStatus.OPEN, "next_retry_at": None, "created_at": now}
            step.audit("incident_opened", task_id=task_id, error=values["error"])
        else:
            values = {"task_name": row.task_name, "error": row.error, "attempts": row.attempts,
                      "status": row.status, "next_retry_at": row.next_retry_at}
            if error is not None:
                values.update(attempts=row.attempts + 1, error=error)
        if error is not None or values["next_retry_at"] is None:
            _schedule(values, now, backoff)
        if row is None:
            store.insert_incident(conn, **values)
        elif values != {"task_name": row.task_name, "error": row.error, "attempts": row.attempts,
                        "status": row.status, "next_retry_at": row.next_retry_at}:
            store.update_incident(conn, row.id, **values)
        found.append(f"{values['task_name']}: {values['error']}")
    return found


def retry(steps: Steps, limit: int, *, only_due: bool, incident_id: int | None, actor: str) -> int:
    """Run failed service tasks again, one instance per transaction; on success the incident is resolved."""
    with steps.transaction() as session:
        candidates = store.retry_candidates(session.connection(), utcnow(), limit,
                                            only_due=only_due, incident_id=incident_id)
    retried = 0
    for inc_id, instance_id in candidates:
        with steps.transaction() as session:
            conn = session.connection()
            locked = store.lock_instance(conn, instance_id, skip_locked=True)
            if locked is None:
                continue  # another worker is on this instance
            incident = store.incident(conn, inc_id)
            if incident.status not in UNRESOLVED:
                continue
            with steps.on(session, instance_id, actor, "retry", instance=locked) as step:
                _rerun(step, incident)
            retried += 1
    return retried


def _rerun(step: Step, incident: Any) -> None:
    task = step.workflow.get_task_from_id(UUID(incident.task_id))
    if task is not None and task.state == TaskState.ERROR:
        task._set_state(TaskState.READY)
    step.audit("incident_retried", task_id=incident.task_id, incident=incident.id, attempt=incident.attempts + 1)
    step.run_engine()
