"""What an analyst does in the editor: open a deployed file or its draft, check a change as deploy would
(every problem tied to the elements it names), save or discard a draft, see the change against the running
version, and deploy it as a new version with who and why in the audit."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import sqlalchemy as sa
from lxml import etree

from engine import DefinitionError, validate_sources
from engine.db import utcnow
from engine.diagram_diff import DiagramDiff, diff_diagrams
from engine.models import DefinitionDraft

from ..bootstrap import Services
from .admin import MAX_DEPLOY_BYTES, _lint
from .errors import Invalid, NotFound
from .policy import ADMIN_ROLE, Actor

_FILE_NAME = re.compile(r"^[\w.-]+\.(bpmn|dmn)$")


@dataclass
class EditorFile:
    name: str
    kind: str  # "bpmn" | "dmn"
    processes: list[tuple[str, str, int]]  # (process id, name, newest version) defined in the file
    draft: DefinitionDraft | None = None


@dataclass
class Problem:
    message: str
    elements: list[str] = field(default_factory=list)  # ids of the file's elements the message names


@dataclass
class EditorCheck:
    problems: list[Problem]
    lint: list[str]


@dataclass
class RunningDiff:
    version: int | None  # newest version of the file's first process (None for a DMN table)
    diff: DiagramDiff


def files(services: Services, actor: Actor) -> list[EditorFile]:
    """Every deployed BPMN/DMN file, with the processes it defines and its draft."""
    actor.require(ADMIN_ROLE)
    newest: dict[str, tuple[str, int]] = {}
    for definition in services.queries.definitions():
        newest[definition.process_id] = (definition.name, definition.version)
    drafts = {d.file_name: d for d in services.session.scalars(sa.select(DefinitionDraft))}
    listed = []
    for name, xml in sorted(services.queries.deployed_sources().items()):
        ids = _process_ids(xml) if name.endswith(".bpmn") else []
        processes = [(pid, *newest[pid]) for pid in ids if pid in newest]
        listed.append(EditorFile(name, name.rsplit(".", 1)[1], processes, drafts.pop(name, None)))
    listed += [EditorFile(name, name.rsplit(".", 1)[1], [], draft) for name, draft in sorted(drafts.items())]
    return listed


def source(services: Services, actor: Actor, file_name: str, which: str = "current") -> str:
    """The file's text: ``draft``, ``deployed`` (the running text) or ``current`` (the draft if there is one)."""
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    if which in ("draft", "current"):
        draft = _draft(services, name)
        if draft is not None:
            return draft.xml
        if which == "draft":
            raise NotFound(f"「{name}」没有草稿")
    deployed = services.queries.deployed_sources().get(name)
    if deployed is None:
        raise NotFound(f"「{name}」尚未部署")
    return deployed


def check(services: Services, actor: Actor, file_name: str, xml: str) -> EditorCheck:
    """The deploy check of the running files with this one replaced; nothing is stored."""
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    _checked_size(xml)
    bundle = {**services.queries.deployed_sources(), name: xml}
    report = validate_sources(bundle, services.registry)
    ids = _element_ids(xml)
    problems = [Problem(message, _named(message, ids)) for message in report.problems]
    return EditorCheck(problems, _lint(services.settings.bpmnlint, {name: xml}))


def save_draft(services: Services, actor: Actor, file_name: str, xml: str) -> DefinitionDraft:
    """Keep the change for later (any admin may go on with it); the XML must parse, nothing more."""
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    _checked_size(xml)
    _element_ids(xml)
    with services.unit_of_work() as session:
        draft = session.scalars(sa.select(DefinitionDraft).where(DefinitionDraft.file_name == name)).first()
        if draft is None:
            draft = DefinitionDraft(file_name=name, xml=xml, saved_by=actor.ref, saved_at=utcnow())
            session.add(draft)
        else:
            draft.xml, draft.saved_by, draft.saved_at = xml, actor.ref, utcnow()
    return draft


def discard_draft(services: Services, actor: Actor, file_name: str) -> None:
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    with services.unit_of_work() as session:
        session.execute(sa.delete(DefinitionDraft).where(DefinitionDraft.file_name == name))


def against_running(services: Services, actor: Actor, file_name: str, xml: str) -> RunningDiff:
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    running = services.queries.deployed_sources().get(name)
    if running is None:
        raise NotFound(f"「{name}」尚未部署，没有运行版本可比较")
    try:
        diff = diff_diagrams(running, xml)
    except etree.XMLSyntaxError as err:
        raise Invalid(f"文件不是有效的 XML：{err}") from err
    ids = _process_ids(running) if name.endswith(".bpmn") else []
    versions = [d.version for d in services.queries.definitions(process_id=ids[0])] if ids else []
    return RunningDiff(max(versions) if versions else None, diff)


def deploy(services: Services, actor: Actor, file_name: str, xml: str, reason: str) -> list:
    """Deploy the running files with this one replaced; the draft of the file is gone afterwards."""
    actor.require(ADMIN_ROLE)
    name = _checked_name(file_name)
    _checked_size(xml)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写部署原因", {"reason": ["请填写部署原因"]})
    bundle = {**services.queries.deployed_sources(), name: xml}
    try:
        results = services.engine.deploy(bundle, actor=actor.ref, reason=reason[:500])
    except DefinitionError as err:
        ids = _element_ids(xml)
        raise Invalid("部署失败：" + "；".join(err.problems),
                      {"problems": [{"message": m, "elements": _named(m, ids)} for m in err.problems]}) from err
    discard_draft(services, actor, name)
    return results



def _draft(services: Services, name: str) -> DefinitionDraft | None:
    return services.session.scalars(sa.select(DefinitionDraft).where(DefinitionDraft.file_name == name)).first()


def _checked_name(file_name: str) -> str:
    name = PurePosixPath(file_name or "").name
    if name != file_name or not _FILE_NAME.match(name):
        raise NotFound(f"文件「{file_name}」不存在")
    return name


def _checked_size(xml: str) -> None:
    if not isinstance(xml, str) or not xml.strip():
        raise Invalid("文件内容为空", {"xml": ["文件内容为空"]})
    if len(xml.encode("utf-8")) > MAX_DEPLOY_BYTES:
        raise Invalid("文件超过 2MB", {"xml": ["文件超过 2MB"]})


def _element_ids(xml: str) -> set[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as err:
        raise Invalid(f"文件不是有效的 XML：{err}", {"xml": [str(err)]}) from err
    return {str(e.get("id")) for e in root.iter() if isinstance(e.tag, str) and e.get("id")}


def _named(message: str, ids: set[str]) -> list[str]:
    """The element ids a problem's message mentions (the engine names elements as 「name」(id))."""
    return sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", message))


def _process_ids(xml: str) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    return [str(p.get("id")) for p in root.iter("{*}process") if p.get("isExecutable") == "true"]
