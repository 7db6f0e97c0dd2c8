"""Connections SpiffWorkflow makes between task specs while a workflow runs, made once when a spec is loaded.

SpiffWorkflow connects some specs only when the workflow first needs them: a
multi-instance or loop task subscribes to its child's completion when it
creates the first child, and an event subprocess is linked to the start and end
of its process when its event first arrives.  Spiff's own serializer stores
the spec with every state, connections included.  The engine stores the state
without the spec and parses each definition version once (``engine.specs``),
so a reloaded instance would meet a spec that never saw those connections: a
multi-instance task would wait for children whose completion nobody reports,
and an event subprocess would fail with "No input task connected".

Every one of these connections depends on the spec alone, so the engine makes
them all as soon as a definition version is parsed: the same wiring whatever
state is loaded on it, before or after a restart.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask


def _process_specs(spec: Any, subprocess_specs: dict[str, Any]) -> list[Any]:
    return [s for s in [spec, *subprocess_specs.values()] if s is not None]


def wire_runtime_connections(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """Make the run-time connections of every loop, multi-instance task and event subprocess."""
    for process_spec in _process_specs(spec, subprocess_specs):
        for task_spec in list(process_spec.task_specs.values()):
            if isinstance(task_spec, LoopTask):
                # As LoopTask.create_child does on its first child.
                child = process_spec.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)
        start = process_spec.start
        if not isinstance(start, BpmnStartTask):
            continue
        for name in start.trigger_specs:
            trigger = process_spec.task_specs.get(name)
            if trigger is None or start.name in trigger._inputs:
                continue
            # As BpmnStartTask.trigger_wf does on the first event, except that the start task does not
            # list the event subprocess among its outputs: the spec is shared by every instance of the
            # version, and a new instance must not start the event subprocess along with its main flow.
            trigger._inputs.append(start.name)
            trigger.connect(process_spec.end)


def _message_definitions(task_spec: Any) -> Iterator[Any]:
    definition = getattr(task_spec, "event_definition", None)
    # An event-based gateway (and a multiple event) carries its branches' definitions.
    for item in getattr(definition, "event_definitions", None) or [definition]:
        if isinstance(item, MessageEventDefinition):
            yield item


def caught_messages(process_specs: Iterable[Any]) -> set[str]:
    """Names of the messages some catch (event, receive task, event subprocess start) of these specs waits for."""
    caught: set[str] = set()
    for process_spec in process_specs:
        for task_spec in process_spec.task_specs.values() if process_spec is not None else ():
            if isinstance(task_spec, CatchingEvent):
                caught.update(definition.name for definition in _message_definitions(task_spec))
    return caught


def unreceived_messages(specs: dict[str, Any], received: set[str]) -> list[str]:
    """Send tasks and throw events whose message no deployed process receives (deploy refuses them).

    ``received``: the messages some process of the bundle or of the deployed definitions catches.  A
    message no catch of its own instance takes is kept for the other instances of its business key
    (:func:`engine.messages.keep_thrown`); one that nothing anywhere receives would silently go nowhere.
    """
    problems = []
    for process_id, process_spec in specs.items():
        for task_spec in process_spec.task_specs.values() if process_spec is not None else ():
            if not isinstance(task_spec, ThrowingEvent):
                continue
            for definition in _message_definitions(task_spec):
                if definition.name in received:
                    continue
                label = task_spec.bpmn_name or task_spec.bpmn_id
                problems.append(f"{process_spec.file or process_id}: {type(task_spec).__name__}「{label}」"
                                f"({task_spec.bpmn_id}): 发送任务或抛出事件的消息没有任何流程接收（消息「{definition.name}」）："
                                f"本次部署和已部署的流程中都没有接收该消息的事件或接收任务；"
                                f"请先部署接收方流程，或改用服务任务调用外部系统")
    return problems
