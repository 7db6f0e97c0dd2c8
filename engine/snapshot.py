"""What the outside world can see of a workflow, gathered in one pass over its tasks.

The engine compares the snapshot taken when a step begins with the one taken
when it ends, and writes only the difference to the inbox and timer tables:
no query is needed to find out what changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState

from .messaging import trigger_message_names


@dataclass
class Snapshot:
    # Task id → Task: every READY task a person completes (user, manual and undefined tasks).
    ready_user_tasks: dict[str, Any] = field(default_factory=dict)
    timers: dict[str, tuple[Any, datetime]] = field(default_factory=dict)  # task id → (Task, due)
    errored: dict[str, Any] = field(default_factory=dict)
    waits_for_message: bool = False
    message_names: set[str] = field(default_factory=set)  # messages a WAITING event would catch
    completed_since: list[Any] = field(default_factory=list)  # tasks completed after ``since``
    waiting_events: int = 0  # WAITING catching events of any kind (timers, messages, signals, …)
    ready_automatic: list[Any] = field(default_factory=list)  # READY tasks SpiffWorkflow runs by itself


def _definitions(task_spec: Any) -> list[Any]:
    definition = getattr(task_spec, "event_definition", None)
    # An event-based gateway carries its branches' definitions.
    return getattr(definition, "event_definitions", None) or ([definition] if definition else [])


def _all_tasks(workflow: Any) -> Iterator[Any]:
    # The task dicts directly: Spiff's tree iterator costs ~3x more for the same tasks.
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def timer_due(task: Any) -> datetime | None:
    """When a WAITING timer task is due (aware UTC), or None when it has nothing left to fire.

    A date or duration timer stores its moment as text; a cycle stores a dict with the
    next repetition and how many are left (``cycles`` is -1 for an unbounded cycle).
    """
    value = task._get_internal_data("event_value")
    if not value:
        return None
    if isinstance(value, dict):
        if value.get("cycles") == 0 or not value.get("next"):
            return None
        value = value["next"]
    due: datetime = TimerEventDefinition.get_datetime(value)
    return due


def take(workflow: Any, since: float | None = None) -> Snapshot:
    snap = Snapshot()
    ready_user_tasks = []
    for task in _all_tasks(workflow):
        state = task.state
        if state == TaskState.READY:
            if task.task_spec.manual:
                ready_user_tasks.append(task)
            else:
                snap.ready_automatic.append(task)
        elif state == TaskState.WAITING:
            spec = task.task_spec
            if isinstance(spec, CatchingEvent):
                snap.waiting_events += 1
                for definition in _definitions(spec):
                    if isinstance(definition, TimerEventDefinition):
                        due = timer_due(task)
                        if due is not None:
                            snap.timers[str(task.id)] = (task, due)
                    elif isinstance(definition, MessageEventDefinition):
                        snap.waits_for_message = True
                        snap.message_names.add(definition.name)
        elif state == TaskState.ERROR:
            snap.errored[str(task.id)] = task
        elif state == TaskState.COMPLETED and since is not None and task.last_state_change >= since \
                and task.task_spec.bpmn_id:
            snap.completed_since.append(task)
    triggers = trigger_message_names(workflow)
    if triggers:  # an event subprocess waits for its start message as long as the instance runs
        snap.waits_for_message = True
        snap.message_names |= triggers
    if len(ready_user_tasks) > 1:
        # Several open forms (parallel branches): list them in the diagram's order, as Spiff walks the tree.
        ready_user_tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    snap.ready_user_tasks = {str(task.id): task for task in ready_user_tasks}
    snap.completed_since.sort(key=lambda t: t.last_state_change)
    return snap
