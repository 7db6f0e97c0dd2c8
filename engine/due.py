"""Due dates of user tasks, declared in the diagram.

A user task may carry ``<spiffworkflow:property name="dueIn" value="…"/>``: an ISO 8601 duration from the
moment the task becomes ready (``P3D``, ``PT4H``), or a Python expression over the task data (checked at
deploy like every other expression) that gives an aware datetime, an ISO date-time string or a timedelta.
The inbox row keeps the due time (UTC); lists show it, mark what is overdue and filter by it.  What
happens when a task is overdue is the diagram's business too: a non-interrupting boundary timer on the
task (notify, hand on), never code.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

log = logging.getLogger(__name__)

PROPERTY = "dueIn"


def due_property(task_spec: Any) -> str | None:
    props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    value = props.get(PROPERTY)
    return str(value).strip() if value else None


def is_duration(value: str) -> bool:
    return value.startswith("P")


def duration(value: str, start: datetime) -> timedelta:
    parsed = TimerEventDefinition.parse_iso_duration(value)
    delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
    return delta


def due_at(task: Any, now: datetime, script_engine: Any) -> datetime | None:
    """When the ready ``task`` is due, or None (no ``dueIn``, or a value that gives no time: logged)."""
    value = due_property(task.task_spec)
    if value is None:
        return None
    try:
        if is_duration(value):
            return now + duration(value, now)
        result = script_engine.evaluate(task, value)
        if isinstance(result, timedelta):
            return now + result
        if isinstance(result, str):
            result = datetime.fromisoformat(result)
        if isinstance(result, datetime) and result.tzinfo is not None:
            return result
        raise ValueError(f"gives {result!r}, not a time with its zone")
    except Exception as err:  # noqa: BLE001 - a due date never stops the step; the task has none
        log.warning("task %s: dueIn %r: %s", task.task_spec.bpmn_id, value, err)
        return None
