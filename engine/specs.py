"""Reading, checking and caching process definitions.

A *bundle* is the set of files one process needs: its own BPMN file, the files
of the processes it calls, and the DMN files of the decisions it uses.  The
bundle's content hash identifies a definition version; parsed specs are cached
per hash, so a running system parses each version once.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from .dmn_check import check_cell
from .expressions import ExpressionError, check_python
from .due import due_property, is_duration
from .limits import TIMER_KINDS, check_kind, check_limits
from .registry import EMPTY_FORM_KEY, Registry
from .schedules import check_timer_starts
from .storable import KEYS_HINT, literal_non_string_keys
from .wiring import caught_messages, unreceived_messages, wire_runtime_connections

# Uploaded XML is untrusted: no DTDs, no entities, no network.
SAFE_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                  huge_tree=False, remove_comments=False)
DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


class DefinitionError(ValueError):
    """A definition that must not be deployed; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ValidationReport:
    files: list[str] = field(default_factory=list)
    processes: dict[str, str] = field(default_factory=dict)  # process id → name
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_directory(directory: str | Path) -> dict[str, str]:
    """All ``*.bpmn`` and ``*.dmn`` files of a folder, by file name."""
    directory = Path(directory)
    files = sorted([*directory.glob("*.bpmn"), *directory.glob("*.dmn")])
    return {p.name: p.read_text(encoding="utf-8") for p in files}


def content_hash(sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(sources[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _parse_xml(name: str, text: str) -> etree._Element:
    raw = text.encode("utf-8")
    if DOCTYPE.search(raw):
        raise DefinitionError([f"{name}: 含有 DOCTYPE 声明，出于安全原因拒绝（XML 实体可读取服务器文件）"])
    try:
        return etree.fromstring(raw, parser=SAFE_XML_PARSER)
    except etree.XMLSyntaxError as err:
        raise DefinitionError([f"{name}: XML 格式错误: {err}"]) from err


def build_parser(sources: dict[str, str], *, validate: bool = True) -> SpiffBpmnParser:
    """Parse every file of ``sources``; XSD problems of all files are collected, not just the first."""
    parser = SpiffBpmnParser(validator=VALIDATOR if validate else None)
    problems: list[str] = []
    for name in sorted(sources):
        try:
            root = _parse_xml(name, sources[name])
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        except DefinitionError as err:
            problems.extend(err.problems)
        except ValidationException as err:
            problems.append(f"{name}: {err}")
    if problems:
        raise DefinitionError(problems)
    return parser


def _describe(task_spec: Any) -> str:
    kind = type(task_spec).__name__
    label = task_spec.bpmn_name or task_spec.name
    return f"{kind}「{label}」({task_spec.bpmn_id or task_spec.name})"


def form_key_of(task_spec: Any) -> str:
    """The form a person fills in for ``task_spec``.

    A user task names its form (``formKey``) or is bound by its BPMN id; a manual or
    undefined task (``bpmn:manualTask``, ``bpmn:task``) without a form key is a plain
    confirmation with the built-in empty form.
    """
    props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    if props.get("formKey"):
        return str(props["formKey"])
    if isinstance(task_spec, UserTaskMixin):
        return str(task_spec.bpmn_id or task_spec.name)
    return EMPTY_FORM_KEY


def _expressions_of(task_spec: Any) -> Iterator[tuple[str, str, str, str | None]]:
    """Yield (where, source, mode, value kind or None) for every piece of Python a task spec carries.

    The kind (a timer kind, or "cardinality") asks for the bounds of that kind of value too.
    """
    for attr in ("prescript", "postscript"):
        script = getattr(task_spec, attr, None)
        if script:
            yield attr, script, "exec", None
    script = getattr(task_spec, "script", None)
    if isinstance(script, str) and script:
        yield "script", script, "exec", None
    if isinstance(task_spec, ServiceTask):
        for pid, param in task_spec.operation_params.items():
            yield f"参数 {pid}", param["value"], "eval", None
    if isinstance(task_spec, MultiChoice):
        for condition, target in task_spec.cond_task_specs:
            expression = condition.args[0] if hasattr(condition, "args") else condition
            if isinstance(expression, str) and expression:
                yield f"条件（→ {target}）", expression, "eval", None
    due_in = due_property(task_spec)
    if due_in is not None:
        # An ISO duration is checked as a duration timer's value; anything else is an expression.
        yield ("到期时间 dueIn", repr(due_in), "eval", "duration") if is_duration(due_in) else \
            ("到期时间 dueIn", due_in, "eval", None)
    cardinality = getattr(task_spec, "cardinality", None)
    if isinstance(cardinality, str) and cardinality:
        yield "多实例数量", cardinality, "eval", "cardinality"
    loop_condition = getattr(task_spec, "condition", None)
    if isinstance(loop_condition, str) and loop_condition:
        yield "循环/多实例的结束条件", loop_condition, "eval", None
    event_definition: Any = getattr(task_spec, "event_definition", None)
    if isinstance(getattr(event_definition, "expression", None), str) and \
            not isinstance(event_definition, TimerEventDefinition) and event_definition.expression:
        yield "条件事件的表达式", event_definition.expression, "eval", None
    # After an event-based gateway Spiff moves the branches' definitions onto the gateway.
    for definition in getattr(event_definition, "event_definitions", None) or [event_definition]:
        if isinstance(definition, TimerEventDefinition):
            yield (f"定时器「{definition.name}」的表达式", definition.expression, "eval",
                   TIMER_KINDS.get(type(definition).__name__))


def check_source(source: str, mode: str, allowed_names: set[str], kind: str | None = None) -> None:
    """Policy, then what is unbounded on its face; raises :class:`ExpressionError`."""
    if kind is not None:
        check_kind(kind, source)
    tree = check_python(source, mode=mode, extra_names=allowed_names)
    check_limits(tree, source)


def check_definition(parser: SpiffBpmnParser, process_id: str, registry: Registry,
                     received: set[str] | None = None) -> list[str]:
    """Bindings and expression safety of one process and everything it calls; ``received``: the messages
    some process catches (default: those of this process and what it calls)."""
    problems: list[str] = []
    spec = parser.get_spec(process_id)
    specs = {process_id: spec, **parser.get_subprocess_specs(process_id)}
    allowed_names = set(registry.expression_globals)
    for sub_id, sub_spec in specs.items():
        for task_spec in sub_spec.task_specs.values():
            if task_spec.bpmn_id is None:
                continue  # Spiff's own bookkeeping specs (Start, End, …)
            where = f"{sub_spec.file or sub_id}: {_describe(task_spec)}"
            lane = getattr(task_spec, "lane", None)
            if lane is not None and lane not in registry.lane_roles:
                problems.append(f"{where}: 泳道「{lane}」没有对应的角色")
            if isinstance(task_spec, ServiceTask) and task_spec.operation_name not in registry.services:
                problems.append(f"{where}: 服务操作「{task_spec.operation_name}」没有注册处理程序")
            form_key = form_key_of(task_spec) if task_spec.manual else None
            if form_key is not None and form_key != EMPTY_FORM_KEY and form_key not in registry.forms:
                problems.append(f"{where}: 表单「{form_key}」没有注册表单结构")
            for what, source, mode, timer_kind in _expressions_of(task_spec):
                keys = literal_non_string_keys(source) if mode == "exec" else []
                if keys:
                    problems.append(f"{where}: {what} 中的字典使用了非字符串键 {', '.join(keys)}；{KEYS_HINT}")
                try:
                    check_source(source, mode, allowed_names, timer_kind)
                except ExpressionError as err:
                    problems.append(f"{where}: {what} `{source.strip()}` 不安全或无效: {err}")
    problems += check_timer_starts(spec, spec.file or process_id)
    problems += unreceived_messages(specs, caught_messages(specs.values()) if received is None else received)
    problems += _interrupting_event_subprocesses(parser, specs)
    return problems


def _interrupting_event_subprocesses(parser: SpiffBpmnParser, specs: dict[str, Any]) -> list[str]:
    """Event subprocesses drawn as interrupting, which SpiffWorkflow 3.2 runs without interrupting.

    Spiff does not read ``isInterrupting`` (whose BPMN default is true): the main flow
    would go on beside the event subprocess, unlike the drawing.  Deploy says so.
    """
    problems = []
    for process_id in specs:
        process_parser = parser.process_parsers.get(process_id)
        if process_parser is None:
            continue  # an embedded subprocess: searched with the process it belongs to
        where = getattr(process_parser, "filename", None) or process_id
        path = f".//{{{BPMN_NS}}}subProcess[@triggeredByEvent='true']/{{{BPMN_NS}}}startEvent"
        for start in process_parser.node.iterfind(path):
            if start.get("isInterrupting", "true").lower() == "false":
                continue
            sub = start.getparent()
            problems.append(
                f"{where}: 事件子流程「{sub.get('name') or sub.get('id')}」({sub.get('id')}) 的开始事件"
                f"「{start.get('name') or start.get('id')}」是中断式的，但 SpiffWorkflow 3.2 不会中断主流程；"
                f"请把开始事件设为非中断（isInterrupting=\"false\"），或改用附在任务上的中断边界事件")
    return problems


def check_decisions(sources: dict[str, str], registry: Registry) -> list[str]:
    """Every cell of every DMN table, checked as SpiffWorkflow's DMN engine will evaluate it.

    Input entries may be unary tests (``>= 100``) or use ``?`` for the input value;
    see :mod:`engine.dmn_check` for how each cell becomes the run-time expression.
    """
    problems: list[str] = []
    for name in sorted(n for n in sources if n.endswith(".dmn")):
        try:
            root = _parse_xml(name, sources[name])
        except DefinitionError as err:
            problems.extend(err.problems)
            continue
        for table in (e for e in root.iter() if etree.QName(e).localname == "decisionTable"):
            problems.extend(f"{name}: {p}" for p in _check_table(table, registry))
    return problems


def _cell_text(element: Any) -> str:
    # Unstripped, as SpiffWorkflow reads it: only an exact "-" means "any", and " " is an error.
    text_node = next((c for c in element if etree.QName(c).localname == "text"), None)
    return str(text_node.text or "") if text_node is not None else ""


def _check_table(table: Any, registry: Registry) -> list[str]:
    problems = []
    extra = registry.expression_globals
    columns = [next((_cell_text(c) for c in e if etree.QName(c).localname == "inputExpression"), "")
               for e in table if etree.QName(e).localname == "input"]
    for index, expression in enumerate(columns):
        if expression.strip():
            try:
                check_cell("inputExpression", expression, None, extra)
            except ExpressionError as err:
                problems.append(f"决策表输入列 {index + 1} 的表达式 `{expression.strip()}` 不安全或无效: {err}")
    for rule in (e for e in table if etree.QName(e).localname == "rule"):
        entries = [e for e in rule if etree.QName(e).localname == "inputEntry"]
        outputs = [e for e in rule if etree.QName(e).localname == "outputEntry"]
        cells: list[tuple[str, Any, str | None]] = [
            ("inputEntry", e, columns[i] if i < len(columns) else None) for i, e in enumerate(entries)]
        for kind, element, column in cells + [("outputEntry", e, None) for e in outputs]:
            text = _cell_text(element)
            if not text or (kind == "inputEntry" and text == "-"):
                continue
            try:
                check_cell(kind, text, column, extra)
            except ExpressionError as err:
                problems.append(f"决策表单元格 {element.get('id')}（规则 {rule.get('id')}）`{text.strip()}` "
                                f"不安全或无效: {err}")
    return problems


def bundle_for(parser: SpiffBpmnParser, sources: dict[str, str], process_id: str) -> dict[str, str]:
    """The files ``process_id`` needs, out of everything parsed."""
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    names = {spec.file, *(s.file for s in subprocess_specs.values() if s is not None)}
    uses_decisions = any(
        type(ts).__name__ == "BusinessRuleTask"
        for s in [spec, *subprocess_specs.values()] if s is not None
        for ts in s.task_specs.values()
    )
    if uses_decisions:
        names.update(n for n in sources if n.endswith(".dmn"))
    return {n: sources[n] for n in sorted(names) if n in sources}


def _caught_in(parser: SpiffBpmnParser) -> set[str]:
    caught: set[str] = set()
    for process_id in parser.get_process_ids():
        try:
            caught |= caught_messages([parser.get_spec(process_id), *parser.get_subprocess_specs(process_id).values()])
        except ValidationException:
            continue  # reported by the check of that process
    return caught


def check_sources(sources: dict[str, str], registry: Registry, received_elsewhere: Collection[str] = ()
                  ) -> tuple[SpiffBpmnParser | None, ValidationReport]:
    """The one check pipeline of ``validate`` and deploy: the parser (None if the files do not parse)
    and the report of every problem found.  ``received_elsewhere``: messages deployed processes catch."""
    report = ValidationReport(files=sorted(sources))
    try:
        parser = build_parser(sources)
    except DefinitionError as err:
        report.problems.extend(err.problems)
        return None, report
    received = _caught_in(parser) | set(received_elsewhere)
    for process_id in parser.get_process_ids():
        try:
            spec = parser.get_spec(process_id)
            report.processes[process_id] = spec.description or process_id
            report.problems.extend(check_definition(parser, process_id, registry, received))
        except ValidationException as err:
            report.problems.append(f"{process_id}: {err}")
    report.problems.extend(check_decisions(sources, registry))
    return parser, report


def validate_sources(sources: dict[str, str], registry: Registry,
                     received_elsewhere: Collection[str] = ()) -> ValidationReport:
    """Everything a deploy checks, without storing anything."""
    parser, report = check_sources(sources, registry, received_elsewhere)
    if parser is not None and not report.processes:
        report.problems.append("没有找到可执行的流程（isExecutable=\"true\"）")
    return report


# A parsed process spec and the specs of the subprocesses it calls.
SpecPair = tuple[Any, dict[str, Any]]


class SpecCache:
    """Parsed specs by bundle hash; parsing is the expensive part of loading a definition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[tuple[str, str], SpecPair] = {}

    def peek(self, content_hash_: str, process_id: str) -> SpecPair | None:
        return self._specs.get((content_hash_, process_id))

    def get(self, content_hash_: str, process_id: str, sources: dict[str, str]) -> SpecPair:
        key = (content_hash_, process_id)
        found = self._specs.get(key)
        if found is None:
            # Stored sources were validated at deploy time; skip the XSD pass here.
            parser = build_parser(sources, validate=False)
            found = (parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
            wire_runtime_connections(*found)
            with self._lock:
                self._specs[key] = found
        return found
