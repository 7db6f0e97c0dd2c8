"""The analysts' editor in the admin pages: bpmn-js / dmn-js (built from npm into web/static/build by
`make setup`, nothing from a CDN), with the check, drafts, the difference to the running version and deploy
answered as JSON to the page's script."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from handlers.deadlines import beijing
from handlers.usecases import editor

from .auth import roles_required
from .context import actor, services

bp = Blueprint("editor", __name__, url_prefix="/admin/editor")


def _posted_xml() -> str:
    body = request.get_json(silent=True) or {}
    xml = body.get("xml")
    return xml if isinstance(xml, str) else ""


@bp.get("/")
@roles_required("admin")
def index():
    return render_template("admin/editor_index.html", files=editor.files(services(), actor()), beijing=beijing)


@bp.get("/<file_name>")
@roles_required("admin")
def edit(file_name):
    which = request.args.get("source", "current")
    editor.source(services(), actor(), file_name, which)  # 404 before drawing a page around nothing
    urls = {"xml": url_for(".xml", file_name=file_name, source=which),
            "check": url_for(".check", file_name=file_name), "draft": url_for(".save_draft", file_name=file_name),
            "diff": url_for(".diff", file_name=file_name), "deploy": url_for(".deploy", file_name=file_name)}
    return render_template("admin/editor.html", file_name=file_name, kind=file_name.rsplit(".", 1)[1],
                           urls=urls, which=which)


@bp.get("/<file_name>/xml")
@roles_required("admin")
def xml(file_name):
    text = editor.source(services(), actor(), file_name, request.args.get("source", "current"))
    return text, 200, {"Content-Type": "application/xml; charset=utf-8"}


@bp.post("/<file_name>/check")
@roles_required("admin")
def check(file_name):
    result = editor.check(services(), actor(), file_name, _posted_xml())
    return {"problems": [{"message": p.message, "elements": p.elements} for p in result.problems],
            "lint": result.lint}


@bp.post("/<file_name>/draft")
@roles_required("admin")
def save_draft(file_name):
    draft = editor.save_draft(services(), actor(), file_name, _posted_xml())
    return {"saved_at": beijing(draft.saved_at), "saved_by": draft.saved_by}


@bp.post("/<file_name>/draft/discard")
@roles_required("admin")
def discard_draft(file_name):
    editor.discard_draft(services(), actor(), file_name)
    return {"message": _("草稿已删除")}


@bp.post("/<file_name>/diff")
@roles_required("admin")
def diff(file_name):
    result = editor.against_running(services(), actor(), file_name, _posted_xml())
    as_json = lambda changes: [{"id": c.id, "label": c.label, "what": c.what} for c in changes]  # noqa: E731
    return {"version": result.version, "added": as_json(result.diff.added),
            "changed": as_json(result.diff.changed), "removed": as_json(result.diff.removed)}


@bp.post("/<file_name>/deploy")
@roles_required("admin")
def deploy(file_name):
    body = request.get_json(silent=True) or {}
    results = editor.deploy(services(), actor(), file_name, _posted_xml(), str(body.get("reason") or ""))
    created = [r for r in results if r.created]
    message = _("已部署新版本：%(versions)s", versions=_("、").join(f"{r.process_id} v{r.version}" for r in created)) \
        if created else _("内容与运行版本相同，没有部署新版本")
    # Running contracts stay on their version until moved: the next step is the migration's dry run.
    links = [{"label": _("迁移运行中的实例到 %(process)s v%(version)s（先演练）", process=r.process_id, version=r.version),
              "url": url_for("admin.migration", process_id=r.process_id, to=r.definition_id)} for r in created]
    links.append({"label": _("查看流程实例"), "url": url_for("admin.instances")})
    return {"message": message, "versions": [{"process_id": r.process_id, "version": r.version} for r in created],
            "links": links}
