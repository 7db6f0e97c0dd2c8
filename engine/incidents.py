"""Incidents: failed service tasks and failed worker steps, their backoff, and their retries.

A task left in ERROR by a step has one unresolved incident with the error, the
number of attempts and the time of the next retry (``backoff`` seconds after the
attempt, then ``failed``: an administrator decides).  A worker step that fails as
a whole (rolled back) gets one too, on the element it acted on (:func:`record_failure`).
The worker's sweep and the administrator's retry button run the step again; a step
that no longer has the task in ERROR, or that succeeds, resolves the incident.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState

from . import snapshot, store
from .db import utcnow
from .status import UNRESOLVED, IncidentStatus, InstanceStatus

if TYPE_CHECKING:
    from .step import Step, Steps

log = logging.getLogger(__name__)

# Seconds to wait before retry number n of a failing service task (then: give up).
DEFAULT_BACKOFF = (30, 120, 600, 3600, 6 * 3600)


def _schedule(values: dict[str, Any], now: datetime, backoff: tuple[int, ...]) -> None:
    if values["attempts"] <= len(backoff):
        values["status"] = IncidentStatus.OPEN
        values["next_retry_at"] = now + timedelta(seconds=backoff[values["attempts"] - 1])
    else:
        values["status"] = IncidentStatus.FAILED
        values["next_retry_at"] = None


def sync(step: Step, errored: dict[str, Any], now: datetime, backoff: tuple[int, ...]) -> list[str]:
    """Open, update and resolve the instance's incidents (``errored``: task id → task that cannot go on);
    ``"task: error"`` of each unresolved one."""
    conn, instance = step.conn, step.instance
    unresolved = store.unresolved_incidents(conn, instance.id)
    for row in unresolved:
        if row.task_id not in errored:
            store.update_incident(conn, row.id, status=IncidentStatus.RESOLVED, resolved_at=now)
            step.audit("incident_resolved", task_id=row.task_id, incident=row.id)
    by_task = {row.task_id: row for row in unresolved}
    found = []
    for task_id, task in errored.items():
        error = step.failures.get(task.id)
        row = by_task.get(task_id)
        if row is None:
            spec: Any = task.task_spec
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
        attempt = Attempt()
        try:
            retried += _retry_one(steps, inc_id, instance_id, actor, attempt)
        except Exception as err:
            # The step rolled back; the incident records the failure and waits for its next retry time.
            record_failure(steps, instance_id, attempt, err)
    return retried


def _retry_one(steps: Steps, inc_id: int, instance_id: int, actor: str, attempt: Attempt) -> int:
    with steps.transaction() as session:
        conn = session.connection()
        locked = store.lock_instance(conn, instance_id, skip_locked=True)
        if locked is None:
            return 0  # another worker is on this instance
        incident = store.incident(conn, inc_id)
        if incident.status not in UNRESOLVED:
            return 0
        attempt.element = Element(incident.task_id, incident.bpmn_id, incident.task_name)
        with steps.on(session, instance_id, actor, "retry", instance=locked) as step:
            attempt.step = step
            _rerun(step, incident)
    return 1


def _rerun(step: Step, incident: Any) -> None:
    # A failed step's incident may name no task (the instance as a whole): then the step just runs again.
    task = step.workflow.get_task_from_id(UUID(incident.task_id)) if incident.task_id else None
    if task is not None and task.state == TaskState.ERROR:
        if isinstance(task.task_spec, CatchingEvent):
            _rewait(step, task)
        else:
            task._set_state(TaskState.READY)
    step.audit("incident_retried", task_id=incident.task_id, incident=incident.id, attempt=incident.attempts + 1)
    step.run_engine()


def _rewait(step: Step, task: Any) -> None:
    """Run a failed catch event (a timer whose time could not be computed, …) again: it computes what it
    waits for and waits.  Made READY it would run as if its event had come: a timer would fire at once."""
    task._set_state(TaskState.WAITING)
    try:
        task.task_spec._update(task)
    except Exception as err:  # noqa: BLE001 - it fails again: the incident counts the attempt
        task._set_state(TaskState.ERROR)
        step.failures[task.id] = str(err)


# ---------------------------------------------------------------- a worker's step that failed as a whole


@dataclass(frozen=True)
class Element:
    task_id: str  # "" when no element of the diagram could be named
    bpmn_id: str
    name: str


INSTANCE = Element("", "", "流程实例")


class Attempt:
    """What a worker sweep knows about one instance's step, for the incident if the step fails."""

    def __init__(self) -> None:
        self.step: Step | None = None
        self.element: Element | None = None  # what the sweep acted on (the timer, the retried task)
        self.instance_id: int | None = None  # the instance and timer a timer sweep claimed
        self.timer_id: int | None = None


def record_failure(steps: Steps, instance_id: int, attempt: Attempt, err: Exception) -> None:
    """After a worker's step on an instance rolled back: open (or count on) an incident for it,
    in a transaction of its own, with the error and the element, and the next retry by backoff.

    The sweeps pass over what such an incident holds until it is due (the timer sweep skips the
    timer, the message sweep the instance); the incident sweep retries it.
    """
    log.error("instance %s: step failed, recorded as an incident", instance_id, exc_info=err)
    culprit = _culprit(attempt.step, err)
    element = attempt.element or culprit or INSTANCE
    error = f"{type(err).__name__}: {err}"
    if culprit is not None and _unstorable(err):
        error += (f"（「{culprit.name}」({culprit.bpmn_id}) 写入的流程数据无法保存：请修改该元素，"
                  f"只写入字符串、数字、布尔值、列表或字典）")
    try:
        with steps.transaction() as session:
            _open_or_count(session.connection(), instance_id, element, error, steps.backoff)
    except Exception:
        log.exception("instance %s: the incident for a failed step could not be recorded", instance_id)


def _open_or_count(conn: Any, instance_id: int, element: Element, error: str, backoff: tuple[int, ...]) -> None:
    now = utcnow()
    row = next((r for r in store.unresolved_incidents(conn, instance_id) if r.task_id == element.task_id), None)
    values: dict[str, Any] = {"error": error, "attempts": row.attempts + 1 if row is not None else 1}
    _schedule(values, now, backoff)
    if row is not None:
        store.update_incident(conn, row.id, **values)
    else:
        store.insert_incident(conn, instance_id=instance_id, task_id=element.task_id, bpmn_id=element.bpmn_id,
                              task_name=element.name, created_at=now, **values)
        store.insert_audit(conn, [{"instance_id": instance_id, "task_id": element.task_id or None,
                                   "kind": "incident_opened", "actor": "worker", "at": now,
                                   "details": {"error": error, "bpmn_id": element.bpmn_id}}])
    store.set_instance_status(conn, instance_id, InstanceStatus.ERROR)


def _unstorable(err: Exception) -> bool:
    return isinstance(err, (TypeError, ValueError)) and "serializ" in str(err)


def _culprit(step: Step | None, err: Exception) -> Element | None:
    """The element a failed step points at: the task of a task error, else the first task the step
    completed whose data cannot be stored."""
    task: Any = getattr(err, "task", None)
    if task is None and step is not None and _unstorable(err):
        done = (step.after or snapshot.take(step.workflow, since=step.started)).completed_since
        task = next((t for t in done if not _storable(t.data)), None)
    if task is None:
        return None
    spec = task.task_spec
    return Element(str(task.id), str(spec.bpmn_id or spec.name), str(spec.bpmn_name or spec.bpmn_id or spec.name))


_PLAIN = (str, int, float, bool, type(None), Decimal, datetime, date, time, timedelta)


def _storable(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _storable(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_storable(v) for v in value)
    return isinstance(value, _PLAIN)
