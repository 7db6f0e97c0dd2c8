"""Admin pages: definitions and versions, deploy with a validation report first, instances with their
diagram, timers (Beijing time), incidents with retry, the audit trail, and the outbound events with
their deliveries (「重新投递」)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from handlers.deadlines import beijing
from handlers.usecases import Refused, admin, outbound

from .auth import roles_required
from .context import actor, services
from .diagram import render_svg

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required("admin")
def index():
    page = admin.overview(services(), actor())
    return render_template("admin/index.html", definitions=page.definitions, counts=page.counts,
                           incidents=page.incidents, beijing=beijing)


@bp.route("/deploy", methods=["GET", "POST"])
@roles_required("admin")
def deploy():
    if request.method == "GET":
        return render_template("admin/deploy.html", report=None)
    uploads = [(f.filename or "", f.read(admin.MAX_DEPLOY_BYTES + 1)) for f in request.files.getlist("files")]
    check = admin.check_deploy(services(), actor(), uploads)
    return render_template("admin/deploy.html", report=check.report, problems=check.problems, lint=check.lint,
                           token=check.token, files=check.files), 200 if check.token else 422


@bp.post("/deploy/confirm")
@roles_required("admin")
def deploy_confirm():
    try:
        results = admin.confirm_deploy(services(), actor(), request.form.get("token", ""))
    except Refused as err:
        flash(err.message, "error")
        return redirect(url_for(".deploy"))
    created = [f"{r.process_id} v{r.version}" for r in results if r.created]
    flash("已部署新版本：" + ("、".join(created) if created else "无（文件未变化）"), "info")
    return redirect(url_for(".index"))


@bp.get("/instances")
@roles_required("admin")
def instances():
    page = admin.instances(services(), actor(), process_id=request.args.get("process_id"),
                           status=request.args.get("status"),
                           business_key_prefix=request.args.get("business_key"),
                           after=request.args.get("after"), limit=50)
    return render_template("admin/instances.html", instances=page.items, next_cursor=page.next_cursor,
                           beijing=beijing)


@bp.get("/instances/<int:instance_id>")
@roles_required("admin")
def instance(instance_id):
    page = admin.instance_page(services(), actor(), instance_id)
    diagrams = []
    for name, xml in page.bpmn_sources.items():
        svg = render_svg(xml, done=page.done, current=page.current)
        diagrams.append((name, Markup(svg) if svg else None))
    return render_template("admin/instance.html", instance=page.instance, definition=page.definition,
                           diagrams=diagrams, events=page.events, tasks=page.tasks, timers=page.timers,
                           incidents=page.incidents, beijing=beijing)


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
def retry(incident_id):
    instance_id, _ = admin.retry_incident(services(), actor(), incident_id)
    flash("已重试", "info")
    return redirect(url_for(".instance", instance_id=instance_id))


@bp.get("/events")
@roles_required("admin")
def events():
    page = outbound.events(services(), actor(), kind=request.args.get("kind"),
                           business_key=request.args.get("business_key"), after=request.args.get("after"))
    return render_template("admin/events.html", events=page.events.items, deliveries=page.deliveries,
                           next_cursor=page.events.next_cursor, beijing=beijing)


@bp.post("/deliveries/<int:delivery_id>/retry")
@roles_required("admin")
def retry_delivery(delivery_id):
    try:
        outbound.retry_delivery(services(), actor(), delivery_id)
        flash("已安排重新投递，后台任务将立即发送", "info")
    except Refused as err:
        flash(err.message, "error")
    return redirect(url_for(".events", kind=request.args.get("kind", ""),
                            business_key=request.args.get("business_key", "")))
