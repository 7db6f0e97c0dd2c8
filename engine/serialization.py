"""Instance state without the spec.

SpiffWorkflow's serializer embeds the whole parsed spec in every snapshot
(about half its size, and half the time of a round trip).  The spec belongs to
the definition version, which is stored once and parsed once per process
(see :mod:`engine.specs`), so the state we store drops it and the loader takes
already-parsed spec objects instead.
"""
from __future__ import annotations

import json
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

STATE_FORMAT = "netsign-state-1"


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Like Spiff's converter, minus ``spec``/``subprocess_specs``, which the caller supplies."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("restoring spec-free state needs the parsed spec")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry():
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = SpecFreeWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Money must survive a round trip exactly; floats would not.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return registry


_registry = _build_registry()
_serializer = BpmnWorkflowSerializer(_registry)


def dump_state(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = _registry.convert(workflow)
    finally:
        _registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, cls=_serializer._encoder_cls, ensure_ascii=False, separators=(",", ":"))


def load_state(state: str, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(state)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"unknown instance state format {fmt!r}")
    return _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
