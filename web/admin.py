"""Admin pages: definitions and versions, deploy with a validation report first, instances with their
diagram, timers (Beijing time), incidents with retry, and the audit trail."""
from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from engine import DefinitionError, validate_sources
from engine.models import AuditEvent, Incident, InboxTask, ProcessDefinition, ProcessInstance, Timer
from handlers.deadlines import beijing

from .app import get_engine
from .auth import current_actor, roles_required
from .config import ROOT, VAR
from .diagram import render_svg
from .extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
MAX_DEPLOY_BYTES = 2 * 1024 * 1024
PENDING = VAR / "pending-deploys"


@bp.get("/")
@roles_required("admin")
def index():
    definitions = db.session.scalars(sa.select(ProcessDefinition).order_by(
        ProcessDefinition.process_id, ProcessDefinition.version.desc())).all()
    counts = dict(db.session.execute(sa.select(ProcessInstance.status, sa.func.count()).group_by(
        ProcessInstance.status)).all())
    incidents = db.session.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.status != "resolved"))
    return render_template("admin/index.html", definitions=definitions, counts=counts, incidents=incidents,
                           beijing=beijing)


def _lint(sources: dict[str, str]) -> list[str]:
    """bpmnlint (recommended rules) over the uploaded BPMN files, when the project's node tools exist."""
    lint = ROOT / "node_modules" / ".bin" / "bpmnlint"
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


@bp.route("/deploy", methods=["GET", "POST"])
@roles_required("admin")
def deploy():
    if request.method == "GET":
        return render_template("admin/deploy.html", report=None)
    sources, problems = {}, []
    for file in request.files.getlist("files"):
        name = Path(file.filename or "").name
        data = file.read(MAX_DEPLOY_BYTES + 1)
        if not name.endswith((".bpmn", ".dmn")):
            problems.append(f"{name or '（未命名）'}：只接受 .bpmn 和 .dmn 文件")
        elif len(data) > MAX_DEPLOY_BYTES:
            problems.append(f"{name}：文件超过 2MB")
        else:
            try:
                sources[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"{name}：不是 UTF-8 编码的文本")
    if not sources and not problems:
        problems.append("请选择要部署的 BPMN/DMN 文件")
    # Files already deployed that the upload does not replace (called processes, decision tables).
    current = {}
    for d in db.session.scalars(sa.select(ProcessDefinition).order_by(ProcessDefinition.version)):
        current.update(d.sources)
    bundle = {**current, **sources}
    report = validate_sources(bundle, current_app.extensions["netsign_registry"]) if sources else None
    lint = _lint(sources) if sources else []
    token = None
    if report is not None and report.ok and not problems:
        PENDING.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        (PENDING / f"{token}.json").write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return render_template("admin/deploy.html", report=report, problems=problems, lint=lint, token=token,
                           files=sorted(sources)), 200 if token else 422


@bp.post("/deploy/confirm")
@roles_required("admin")
def deploy_confirm():
    token = request.form.get("token", "")
    path = PENDING / f"{token}.json"
    if not token.isalnum() or not path.exists():
        abort(404)
    sources = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    try:
        results = get_engine().deploy(sources, actor=current_actor())
    except DefinitionError as err:
        flash("部署失败：" + "；".join(err.problems), "error")
        return redirect(url_for(".deploy"))
    created = [f"{r.process_id} v{r.version}" for r in results if r.created]
    flash("已部署新版本：" + ("、".join(created) if created else "无（文件未变化）"), "info")
    return redirect(url_for(".index"))


@bp.get("/instances")
@roles_required("admin")
def instances():
    query = sa.select(ProcessInstance).order_by(ProcessInstance.id.desc())
    for key in ("process_id", "status"):
        if request.args.get(key):
            query = query.where(getattr(ProcessInstance, key) == request.args[key])
    if request.args.get("business_key"):
        query = query.where(ProcessInstance.business_key.contains(request.args["business_key"].strip().upper()))
    page = max(1, request.args.get("page", 1, type=int))
    rows = db.session.scalars(query.limit(50).offset((page - 1) * 50)).all()
    return render_template("admin/instances.html", instances=rows, page=page, beijing=beijing)


@bp.get("/instances/<int:instance_id>")
@roles_required("admin")
def instance(instance_id):
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        abort(404)
    definition = db.session.get(ProcessDefinition, instance.definition_id)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)).all()
    done = {node["bpmn_id"] for e in events if e.kind == "nodes_completed" for node in e.details["nodes"]}
    tasks = db.session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance_id)
                               .order_by(InboxTask.created_at)).all()
    current = {t.bpmn_id for t in tasks if t.state == "READY"}
    diagrams = []
    for name, xml in sorted(definition.sources.items()):
        if name.endswith(".bpmn"):
            svg = render_svg(xml, done=done, current=current)
            diagrams.append((name, Markup(svg) if svg else None))
    timers = db.session.scalars(sa.select(Timer).where(Timer.instance_id == instance_id)).all()
    incidents = db.session.scalars(sa.select(Incident).where(Incident.instance_id == instance_id)).all()
    return render_template("admin/instance.html", instance=instance, definition=definition, diagrams=diagrams,
                           events=events, tasks=tasks, timers=timers, incidents=incidents, beijing=beijing)


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
def retry(incident_id):
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        abort(404)
    instance_id = incident.instance_id
    get_engine().retry_incidents(incident_id=incident_id, actor=current_actor())
    flash("已重试", "info")
    return redirect(url_for(".instance", instance_id=instance_id))


def init_app(app):
    app.register_blueprint(bp)
