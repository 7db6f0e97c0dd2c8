"""Instance state without the spec, written incrementally.

SpiffWorkflow's serializer embeds the whole parsed spec in every snapshot
(about half its size, and half the time of a round trip).  The spec belongs to
the definition version, which is stored once and parsed once per process
(see :mod:`engine.specs`), so the state we store drops it and the loader takes
already-parsed spec objects instead.

A step changes a handful of tasks, yet a full dump converts and encodes every
task of the tree again (it grows to ~70 tasks over the online-signing flow).
:func:`dump_state` therefore keeps, per workflow object, the JSON text of each
task that cannot change without something we can see changing too, and splices
those texts into the document:

* finished tasks (COMPLETED, CANCELLED): their state, data, children and parent
  are settled; the fragment is reused while state, ``last_state_change``,
  ``triggered``, children and the identity and size of their own and their
  parent's data stay the same;
* predicted tasks (FUTURE, LIKELY, MAYBE) that carry no data of their own:
  their JSON depends only on the above and on the *names* of the parent's keys.

Every other task (READY, WAITING, STARTED, ERROR, or predicted with data) is
converted afresh.  The result is the same document Spiff's converter would
write; ``VERIFY_INCREMENTAL`` (on in the test suite) checks that on every dump.
"""
from __future__ import annotations

import json
import os
import weakref
from json.encoder import c_make_encoder  # type: ignore[attr-defined]  # CPython's C speedup, untyped
from json.encoder import encode_basestring
from typing import Any
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

STATE_FORMAT = "netsign-state-1"

# Compare every incremental dump with a full one and fail loudly on a difference.
VERIFY_INCREMENTAL = os.environ.get("NETSIGN_VERIFY_STATE") == "1"

_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_PREDICTED = TaskState.FUTURE | TaskState.PREDICTED_MASK


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Like Spiff's converter, minus ``spec``/``subprocess_specs``, which the caller supplies."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        if spec is None:
            raise ValueError("restoring spec-free state needs the parsed spec")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry() -> Any:
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = SpecFreeWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Money must survive a round trip exactly; floats would not.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return registry


_registry = _build_registry()
_serializer = BpmnWorkflowSerializer(_registry)


def converter_registry() -> Any:
    """The serializer's converter registry: what SpiffWorkflow's ``SpecDiff`` compares task specs with."""
    return _registry
_encoder = _serializer._encoder_cls(ensure_ascii=False, separators=(",", ":"))
_TASK_TYPENAME = _registry.typenames[Task]
_NO_DELTA = '{"updates":{},"deletions":[]}'
# Task spec → its name as JSON; specs live as long as their (cached) definition version.
_spec_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


if c_make_encoder is not None:
    # The C encoder, made once: ``JSONEncoder.encode`` builds a new one on every call, which is
    # half the cost of encoding the small dicts a task consists of.  Task data is JSON-like
    # (no cycles), so the cycle check is off, as that is what lets one encoder be reused.
    _c_encoder = c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", False, False, True)

    def _encode(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring(value)
        return "".join(_c_encoder(value, 0))
else:  # pragma: no cover - CPython always has the C encoder
    _encode = _encoder.encode


def _fingerprint(task: Any, state: int) -> tuple[Any, ...]:
    """What the JSON of a finished or empty predicted task depends on (see the module docstring)."""
    parent = task.parent
    if parent is None:
        return (state, task.last_state_change, task.triggered, id(task.data), len(task.data),
                len(task.internal_data))
    parent_data = parent.data
    key = (state, task.last_state_change, task.triggered, id(task.data), len(task.data),
           len(task.internal_data), id(parent_data), len(parent_data))
    if state & _FINISHED:
        return key
    # An empty predicted task is written as "delete every key of the parent": the names matter.
    return key + tuple(parent_data)


class _Ids(dict[UUID, str]):
    """UUID → its text, kept with a workflow: ``str(UUID)`` is Python code, a dict lookup is not."""

    def __missing__(self, key: UUID) -> str:
        text = self[key] = str(key)
        return text


def _task_json(task: Any, ids: _Ids) -> str:
    """The JSON Spiff's ``TaskConverter`` would write for ``task``, built without its registry detour.

    Data is stored as a delta against the parent's, as Spiff does; a test compares
    both converters over every diagram (``VERIFY_INCREMENTAL``).
    """
    parent = task.parent
    if parent is None:
        data, delta = _encode(task.data), "{}"
    else:
        parent_data, own = parent.data, task.data
        updates = {k: v for k, v in own.items() if k not in parent_data or v != parent_data[k]}
        deletions = [k for k in parent_data if k not in own]
        data = "{}"
        delta = _encode({"updates": updates, "deletions": deletions}) if updates or deletions else _NO_DELTA
    children = ",".join(f'"{ids[child]}"' for child in task._children)
    parent_id = f'"{ids[task._parent]}"' if parent is not None else "null"
    internal = _encode(_registry.clean(task.internal_data)) if task.internal_data else "{}"
    spec_name = _spec_names.get(task.task_spec)
    if spec_name is None:
        spec_name = _spec_names[task.task_spec] = _encode(task.task_spec.name)
    return (f'{{"id":"{ids[task.id]}","parent":{parent_id},'
            f'"children":[{children}],"last_state_change":{task.last_state_change!r},"state":{task.state},'
            f'"task_spec":{spec_name},"triggered":{"true" if task.triggered else "false"},'
            f'"internal_data":{internal},"data":{data},"delta":{delta},"typename":"{_TASK_TYPENAME}"}}')


def _tasks_json(tasks: dict[UUID, Any], old: dict[Any, Any], new: dict[Any, Any], ids: _Ids) -> str:
    """``{"<task id>": {...}, ...}``, reusing the text of tasks that did not change."""
    parts = []
    for task_id, task in tasks.items():
        state = task.state
        if state & _FINISHED or (state & _PREDICTED and not task.data and not task.internal_data):
            key = _fingerprint(task, state)
            cached = old.get(task_id)
            # Children are compared as a list of the same UUID objects: identity checks.
            if cached is not None and cached[0] == key and cached[1] == task._children:
                new[task_id] = cached
                parts.append(cached[2])
                continue
            part = f'"{ids[task_id]}":{_task_json(task, ids)}'
            new[task_id] = (key, list(task._children), part)
        else:
            part = f'"{ids[task_id]}":{_task_json(task, ids)}'
        parts.append(part)
    return "{" + ",".join(parts) + "}"


def _object_json(head: dict[str, Any], **members: str) -> str:
    """``head`` encoded, with already-encoded ``members`` added."""
    text = _encode(head)
    extra = ",".join(f'"{name}":{value}' for name, value in members.items())
    return f"{text[:-1]},{extra}}}" if head else f"{{{extra}}}"


def _workflow_head(workflow: Any) -> dict[str, Any]:
    """Every attribute Spiff's WorkflowConverter writes, except the tasks."""
    return {
        "data": _registry.convert(_registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "root": str(workflow.task_tree.id),
        "typename": _registry.typenames[type(workflow)],
    }


def _dump_incremental(workflow: BpmnWorkflow) -> str:
    # The task text of the previous dump of this very workflow object (none after a load).
    old = getattr(workflow, "_netsign_fragments", None) or {}
    new: dict[Any, Any] = {}
    ids = getattr(workflow, "_netsign_ids", None)
    if ids is None or len(ids) > 4 * len(workflow.tasks) + 200:  # start afresh now and then: dropped tasks
        ids = workflow._netsign_ids = _Ids()
    subprocesses = []
    for sub_id, sub in workflow.subprocesses.items():
        if sub.completed:
            # A finished subprocess never changes again: reuse its whole text.
            key = (len(sub.tasks), sub.last_task)
            # Keyed apart from tasks: a subprocess has the id of the call activity's task.
            cached = old.get(("subprocess", sub_id))
            if cached is not None and cached[0] == key:
                new[("subprocess", sub_id)] = cached
                subprocesses.append(cached[2])
                continue
        head = _workflow_head(sub)
        head["parent_task_id"] = str(sub.parent_task_id)
        head["spec"] = sub.spec.name
        part = f'"{sub_id}":' + _object_json(head, tasks=_tasks_json(sub.tasks, old, new, ids))
        if sub.completed:
            new[("subprocess", sub_id)] = (key, None, part)
        subprocesses.append(part)
    head = _workflow_head(workflow)
    head["bpmn_events"] = [_registry.convert(event) for event in workflow.bpmn_events]
    head["format"] = STATE_FORMAT
    text = _object_json(head, tasks=_tasks_json(workflow.tasks, old, new, ids),
                        subprocesses="{" + ",".join(subprocesses) + "}")
    workflow._netsign_fragments = new
    return text


def _dump_full(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = _registry.convert(workflow)
    finally:
        _registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, cls=_serializer._encoder_cls, ensure_ascii=False, separators=(",", ":"))


def dump_state(workflow: BpmnWorkflow) -> str:
    # Encoder mode: the registry converts objects one level deep and the JSON encoder does the rest,
    # as Spiff's own serialize_json does.
    _registry._encoder_mode = True
    try:
        text = _dump_incremental(workflow)
    finally:
        _registry._encoder_mode = False
    if VERIFY_INCREMENTAL:
        full = _dump_full(workflow)
        if json.loads(text) != json.loads(full):
            raise AssertionError("incremental state differs from a full dump")
    return text


def load_state(state: str, spec: Any, subprocess_specs: Any) -> BpmnWorkflow:
    dct = json.loads(state)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"unknown instance state format {fmt!r}")
    return _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
