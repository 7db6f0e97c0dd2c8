"""Path coverage of diagrams: which sequence flows the tests made instances take.

A flow counts as taken when a task of its target element was reached directly
from a task of its source element in some instance's task tree (SpiffWorkflow's
own bookkeeping tasks in between are skipped).  The flows are read from the
BPMN XML, so the report speaks in the diagram's own ids and names.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from .specs import SAFE_XML_PARSER

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True)
class Flow:
    file: str
    id: str
    source: str
    target: str
    name: str | None


def flows_in(file_name: str, xml: str) -> list[Flow]:
    root = etree.fromstring(xml.encode("utf-8"), parser=SAFE_XML_PARSER)
    return [Flow(file_name, f.get("id"), f.get("sourceRef"), f.get("targetRef"), f.get("name"))
            for f in root.iter(f"{BPMN}sequenceFlow")]


def _nearest_bpmn_ancestor(task: Any) -> Any:
    parent = task.parent
    while parent is not None and not parent.task_spec.bpmn_id:
        parent = parent.parent
    return parent


def taken_pairs(workflow: Any) -> set[tuple[str, str]]:
    """(source element id, target element id) for every step the instance made."""
    return pairs_of(workflow.get_tasks())


def pairs_of(tasks: Iterable[Any]) -> set[tuple[str, str]]:
    """(source element id, target element id) for every step that reached one of ``tasks``."""
    pairs = set()
    for task in tasks:
        if not task.task_spec.bpmn_id or not (task.state & REACHED):
            continue
        parent = _nearest_bpmn_ancestor(task)
        if parent is not None and parent.state == TaskState.COMPLETED:
            pairs.add((parent.task_spec.bpmn_id, task.task_spec.bpmn_id))
    return pairs


class CoverageCollector:
    """Accumulates taken (source, target) pairs per BPMN file name."""

    def __init__(self) -> None:
        self.pairs: dict[str, set[tuple[str, str]]] = {}

    def add_workflow(self, workflow: Any, file_names: Iterable[str]) -> None:
        pairs = taken_pairs(workflow)
        for name in file_names:
            self.pairs.setdefault(name, set()).update(pairs)

    def add_pairs(self, file_name: str | None, tasks: list[Any]) -> None:
        """The steps that reached ``tasks`` (a finished loop pass about to be pruned, engine.history)."""
        if file_name:
            self.pairs.setdefault(file_name, set()).update(pairs_of(tasks))

    def dump(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: sorted(map(list, v)) for k, v in self.pairs.items()}))

    def load(self, path: Path) -> None:
        for name, pairs in json.loads(path.read_text()).items():
            self.pairs.setdefault(name, set()).update(map(tuple, pairs))


@dataclass
class FileCoverage:
    file: str
    flows: list[Flow]
    covered: set[str]

    @property
    def missing(self) -> list[Flow]:
        return [f for f in self.flows if f.id not in self.covered]

    @property
    def percent(self) -> float:
        return 100.0 * len(self.covered) / len(self.flows) if self.flows else 100.0


def report(sources: dict[str, str], collector: CoverageCollector) -> list[FileCoverage]:
    result = []
    for name in sorted(n for n in sources if n.endswith(".bpmn")):
        flows = flows_in(name, sources[name])
        pairs = collector.pairs.get(name, set())
        covered = {f.id for f in flows if (f.source, f.target) in pairs}
        result.append(FileCoverage(name, flows, covered))
    return result


def format_text(coverage: list[FileCoverage]) -> str:
    lines = ["BPMN sequence-flow coverage"]
    for fc in coverage:
        lines.append(f"  {fc.file:32} {len(fc.covered):3}/{len(fc.flows):<3} {fc.percent:5.1f}%")
        for flow in fc.missing:
            label = f" 「{flow.name}」" if flow.name else ""
            lines.append(f"      not taken: {flow.id} {flow.source} → {flow.target}{label}")
    return "\n".join(lines)
