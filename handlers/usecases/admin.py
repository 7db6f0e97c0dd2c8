"""What an administrator does: deploy diagrams (a validation report first, then confirm), look at
definitions and one instance (its diagram, tasks, timers, incidents, audit), and retry an incident; the
lists of the whole system are in :mod:`.lists`."""
from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine import DefinitionError, InboxState, InstanceStatus, Page, Total, ValidationReport, validate_sources
from engine.models import AuditEvent, Incident, InboxTask, ProcessDefinition, ProcessInstance, Timer

from ..bootstrap import Services
from ..labels import Labels, deploy_problem, labels_for
from .errors import NotFound, Refused
from .policy import ADMIN_ROLE, Actor

MAX_DEPLOY_BYTES = 2 * 1024 * 1024


@dataclass
class Overview:
    definitions: list[ProcessDefinition]
    counts: dict[str, Total]  # per status, counted up to a cap
    incidents: int
    total: Total  # every instance, estimated
    labels: Labels


@dataclass
class DeployCheck:
    """What an upload would deploy, and everything wrong with it; ``token`` confirms it when all is well."""

    files: list[str]
    problems: list[str] = field(default_factory=list)
    report: ValidationReport | None = None
    lint: list[str] = field(default_factory=list)
    token: str | None = None


@dataclass
class InstancePage:
    instance: ProcessInstance
    definition: ProcessDefinition
    bpmn_sources: dict[str, str]
    done: set[str]  # BPMN ids of the nodes passed
    current: set[str]  # BPMN ids of the open user tasks
    events: list[AuditEvent]
    tasks: list[InboxTask]
    timers: list[Timer]
    incidents: list[Incident]
    labels: Labels


def overview(services: Services, actor: Actor) -> Overview:
    actor.require(ADMIN_ROLE)
    queries = services.queries
    definitions = queries.definitions(newest_first=True)
    return Overview(definitions, queries.instance_counts_capped(list(InstanceStatus)),
                    queries.unresolved_incident_count(), queries.instance_total_estimate(),
                    labels_for(services, [d.deployed_by for d in definitions]))


def definitions(services: Services, actor: Actor) -> list[ProcessDefinition]:
    actor.require(ADMIN_ROLE)
    return services.queries.definitions()


def definitions_of(services: Services, actor: Actor, process_id: str) -> list[ProcessDefinition]:
    """The versions of one process, newest first."""
    actor.require(ADMIN_ROLE)
    return services.queries.definitions(process_id=process_id, newest_first=True)


def instances(services: Services, actor: Actor, *, process_id: str | None = None, status: str | None = None,
              business_key: str | None = None, business_key_prefix: str | None = None,
              after: str | None = None, limit: int = 50, total: bool = False) -> Page[ProcessInstance]:
    actor.require(ADMIN_ROLE)
    return services.queries.instances(process_id=process_id or None, status=status or None,
                                      business_key=business_key or None,
                                      business_key_prefix=(business_key_prefix or "").strip().upper() or None,
                                      after=after, limit=limit, total=total)


def instance_page(services: Services, actor: Actor, instance_id: int) -> InstancePage:
    actor.require(ADMIN_ROLE)
    queries = services.queries
    instance = queries.instance(instance_id)
    if instance is None:
        raise NotFound(f"流程实例#{instance_id}不存在")
    definition = queries.definition(instance.definition_id)
    assert definition is not None  # an instance always keeps its definition row
    tasks = queries.tasks_of_instance(instance_id)
    events = list(queries.audit(instance_id=instance_id, limit=500))
    refs = [instance.started_by, *(e.actor for e in events), *(t.completed_by or t.assignee for t in tasks),
            *(e.details.get("assignee") for e in events if isinstance(e.details, dict))]
    return InstancePage(
        instance, definition, {n: x for n, x in sorted(definition.sources.items()) if n.endswith(".bpmn")},
        done={node["bpmn_id"] for node in queries.completed_nodes(instance_id)},
        current={t.bpmn_id for t in tasks if t.state == InboxState.READY},
        events=events, tasks=tasks,
        timers=list(queries.timers(state=None, instance_id=instance_id, limit=500)),
        incidents=list(queries.incidents(statuses=None, instance_id=instance_id, limit=500)),
        labels=labels_for(services, refs))


def retry_incident(services: Services, actor: Actor, incident_id: int) -> tuple[int, int]:
    """Retry one incident now; returns (its instance id, how many were retried: 0 or 1)."""
    actor.require(ADMIN_ROLE)
    incident = services.queries.incident(incident_id)
    if incident is None:
        raise NotFound(f"异常事件#{incident_id}不存在")
    instance_id = incident.instance_id
    return instance_id, services.engine.retry_incidents(incident_id=incident_id, actor=actor.ref)


def check_deploy(services: Services, actor: Actor, uploads: list[tuple[str, bytes]]) -> DeployCheck:
    """Validate uploaded BPMN/DMN files with what is deployed (XSD, DOCTYPE, bindings, expressions,
    bpmnlint); nothing is stored, but a clean upload is kept under a token for :func:`confirm_deploy`."""
    actor.require(ADMIN_ROLE)
    sources, problems = _read_uploads(uploads)
    check = DeployCheck(files=sorted(sources), problems=problems)
    if not sources:
        if not problems:
            check.problems.append("请选择要部署的 BPMN/DMN 文件")
        return check
    # Files already deployed that the upload does not replace (called processes, decision tables).
    bundle = {**services.queries.deployed_sources(), **sources}
    check.report = validate_sources(bundle, services.registry)
    check.report.problems = [deploy_problem(p, bundle) for p in check.report.problems]
    check.lint = _lint(services.settings.bpmnlint, sources)
    if check.report.ok and not problems:
        pending = Path(services.settings.pending_deploy_dir)
        pending.mkdir(parents=True, exist_ok=True)
        check.token = secrets.token_hex(16)
        (pending / f"{check.token}.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return check


def _read_uploads(uploads: list[tuple[str, bytes]]) -> tuple[dict[str, str], list[str]]:
    sources, problems = {}, []
    for filename, data in uploads:
        name = Path(filename or "").name
        if not name.endswith((".bpmn", ".dmn")):
            problems.append(f"{name or '（未命名）'}：只接受 .bpmn 和 .dmn 文件")
        elif len(data) > MAX_DEPLOY_BYTES:
            problems.append(f"{name}：文件超过 2MB")
        else:
            try:
                sources[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"{name}：不是 UTF-8 编码的文本")
    return sources, problems


def _lint(bpmnlint: str, sources: dict[str, str]) -> list[str]:
    """bpmnlint (recommended rules) over the uploaded BPMN files, when the project's node tools exist."""
    lint = Path(bpmnlint)
    bpmn = {n: x for n, x in sources.items() if n.endswith(".bpmn")}
    if not lint.exists() or not bpmn:
        return []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, xml in bpmn.items():
            path = Path(folder) / Path(name).name
            path.write_text(xml, encoding="utf-8")
            paths.append(str(path))
        (Path(folder) / ".bpmnlintrc").write_text('{"extends": "bpmnlint:recommended"}')
        result = subprocess.run([str(lint), *paths], cwd=folder, capture_output=True, text=True, timeout=60)
    return [line.strip() for line in (result.stdout + result.stderr).splitlines()
            if line.strip() and ("error" in line or "warning" in line) and "problems" not in line]


def confirm_deploy(services: Services, actor: Actor, token: str) -> list:
    """Deploy what :func:`check_deploy` kept under ``token`` (once)."""
    actor.require(ADMIN_ROLE)
    path = Path(services.settings.pending_deploy_dir) / f"{token}.json"
    if not token.isalnum() or not path.exists():
        raise NotFound("部署确认已失效，请重新上传文件")
    sources = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    try:
        return services.engine.deploy(sources, actor=actor.ref)
    except DefinitionError as err:
        raise Refused("部署失败：" + "；".join(deploy_problem(p, sources) for p in err.problems)) from err


def seed(services: Services) -> None:
    """The demo accounts and sandbox registry homes (``netsign init --demo``); idempotent."""
    from ..demo import seed_demo

    with services.unit_of_work() as session:
        seed_demo(session)
