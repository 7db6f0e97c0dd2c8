"""How data from outside enters a workflow: form data into a task, and a kept message into a waiting catch.

Both follow what SpiffWorkflow does in memory: a user task with
``spiffworkflow:variableName`` takes the form as one variable, and a message
carries the correlation properties its receiver's correlation key is matched on.
"""
from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _BaseMessageDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

log = logging.getLogger(__name__)


def add_form_data(task: Any, data: dict[str, Any]) -> None:
    """Put validated form data into ``task``: under its ``variableName`` when it has one."""
    variable = getattr(task.task_spec, "variable", None)
    if variable:
        task.set_data(**{variable: data})
    else:
        task.data.update(data)


def _receiving_definitions(workflow: Any, name: str) -> list[Any]:
    """Message definitions named ``name`` that some catch of this workflow's specs uses."""
    cache: dict[str, list[Any]] | None = getattr(workflow.spec, "_netsign_receivers", None)
    if cache is None:
        cache = {}
        for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values() if spec is not None else ():
                if not isinstance(task_spec, CatchingEvent):
                    continue
                definition = getattr(task_spec, "event_definition", None)
                for item in getattr(definition, "event_definitions", None) or [definition]:
                    if isinstance(item, _BaseMessageDefinition):
                        cache.setdefault(item.name, []).append(item)
        workflow.spec._netsign_receivers = cache  # the spec is cached per definition version
    return cache.get(name, [])


def correlations_for(workflow: Any, name: str, payload: dict[str, Any],
                     given: dict[str, Any] | None) -> dict[str, Any]:
    """``{correlation key: {property: value}}`` for a message, as Spiff's BpmnEvent carries them.

    ``given`` maps property names to values; without it the receiver's retrieval
    expressions are applied to the payload, which is what the sending side of a
    diagram does when it throws the message.
    """
    for definition in _receiving_definitions(workflow, name):
        props = definition.correlation_properties
        if not props:
            continue
        if given is not None:
            correlations: dict[str, Any] = {}
            for prop in props:
                if prop.name in given:
                    for key in prop.correlation_keys:
                        correlations.setdefault(key, {})[prop.name] = given[prop.name]
            return correlations
        try:
            calculated: dict[str, Any] = definition.calculate_correlations(workflow.script_engine, props, payload or {})
            return calculated
        except Exception as err:  # noqa: BLE001 - a payload without the property correlates with nothing
            log.info("message %s: correlation not computed from payload: %s", name, err)
            return {}
    return {}


def deliver(workflow: Any, message: Any) -> bool:
    """Hand a kept message to the workflow; False (message stays kept) when no catch takes it."""
    correlations = correlations_for(workflow, message.name, message.payload, message.correlations)
    event = BpmnEvent(MessageEventDefinition(message.name), payload=message.payload, correlations=correlations)
    caught: int = workflow.event_manager.catch(event, internal=False)
    return caught > 0


def trigger_message_names(workflow: Any) -> set[str]:
    """Messages that would start one of the workflow's event subprocesses."""
    names: set[str] | None = getattr(workflow.spec, "_netsign_trigger_messages", None)
    if names is None:
        names = set()
        start = workflow.spec.start
        for spec_name in start.trigger_specs if isinstance(start, BpmnStartTask) else ():
            sub_spec = workflow.subprocess_specs.get(spec_name)
            for start_event in getattr(sub_spec, "bpmn_start_events", None) or ():
                definition = getattr(start_event, "event_definition", None)
                if isinstance(definition, _BaseMessageDefinition):
                    names.add(definition.name)
        workflow.spec._netsign_trigger_messages = names
    return names
