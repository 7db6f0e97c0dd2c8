"""Admin pages: definitions and versions, deploy with a validation report first, instances with their
diagram, the whole system's lists (instances, incidents with bulk retry, timers, the audit trail), each
a keyset page whose filters the 「下一页」 link keeps, and the outbound events with their deliveries
(「重新投递」).  Names and words come from handlers/labels.py."""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from handlers.deadlines import beijing
from handlers.i18n import N_
from handlers.labels import INCIDENT_STATUS, INSTANCE_STATUS
from handlers.usecases import Invalid, Refused, admin, lists, outbound
from handlers.usecases import instances as ops

from .auth import roles_required
from .context import actor, services
from .i18n import translate

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required("admin")
def index():
    page = admin.overview(services(), actor())
    return render_template("admin/index.html", definitions=page.definitions, counts=page.counts,
                           incidents=page.incidents, total=page.total, L=page.labels, beijing=beijing)


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
        flash(translate(err.message), "error")
        return redirect(url_for(".deploy"))
    created = [f"{r.process_id} v{r.version}" for r in results if r.created]
    flash(_("已部署新版本：%(versions)s", versions=_("、").join(created) if created else _("无（文件未变化）")), "info")
    return redirect(url_for(".index"))


DAY_LABELS = {"from": N_("日期从"), "to": N_("日期到")}


def _day(arg: str) -> date | None:
    """A filter day (a Beijing day, as the pages show times); a malformed one is refused (422)."""
    text = request.args.get(arg, "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise Invalid(_("%(field)s：日期格式应为 YYYY-MM-DD", field=translate(DAY_LABELS[arg])),
                      {arg: [_("日期格式应为 YYYY-MM-DD")]}) from None
    if not 1900 <= day.year <= 2999:
        raise Invalid(_("%(field)s：日期应在 1900—2999 年之间", field=translate(DAY_LABELS[arg])),
                      {arg: [_("日期应在 1900—2999 年之间")]})
    return day


def _wanted() -> lists.ListFilter:
    args = request.args
    return lists.ListFilter(process=args.get("process") or args.get("process_id"), status=args.get("status"),
                            business_key=args.get("business_key"), kind=args.get("kind"), actor=args.get("actor"),
                            day_from=_day("from"), day_to=_day("to"), after=args.get("after") or None,
                            limit=_limit())


def _limit() -> int:
    text = request.args.get("limit", "")
    if not text:
        return lists.PAGE_SIZE
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 500:
        raise Invalid(_("每页条数：应为 1–500 的整数"), {"limit": [_("应为 1–500 的整数")]})
    return int(text)


def _render_list(template: str, found: lists.AdminList, **extra):
    # The filters as they came, for the 「下一页」 link (which adds ``after``) and the form.
    kept = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template(template, items=found.items, next_cursor=found.next_cursor, total=found.total,
                           L=found.labels, kept=kept, owners=found.instances, beijing=beijing, **extra)


@bp.get("/instances")
@roles_required("admin")
def instances():
    found = lists.instances(services(), actor(), _wanted())
    return _render_list("admin/instances.html", found, statuses=INSTANCE_STATUS)


@bp.get("/incidents")
@roles_required("admin")
def incidents():
    found = lists.incidents(services(), actor(), _wanted())
    return _render_list("admin/incidents.html", found, statuses=INCIDENT_STATUS)


@bp.post("/incidents/retry")
@roles_required("admin")
def retry_selected():
    """Bulk retry: the incidents ticked on the page, and nothing else."""
    chosen = [int(v) for v in request.form.getlist("incident") if v.isascii() and v.isdigit() and len(v) < 10]
    if not chosen:
        flash(_("请先勾选要重试的异常事件"), "error")
    else:
        retried = lists.retry_selected(services(), actor(), chosen)
        flash(_("已重试 %(n)s 个异常事件", n=retried) + (_("（%(n)s 个已解决或不存在）", n=len(chosen) - retried)
                                                    if retried < len(chosen) else ""), "info")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/admin/incidents") else url_for(".incidents"))


@bp.get("/timers")
@roles_required("admin")
def timers():
    return _render_list("admin/timers.html", lists.timers(services(), actor(), _wanted()))


@bp.get("/audit")
@roles_required("admin")
def audit():
    return _render_list("admin/audit.html", lists.audit(services(), actor(), _wanted()), kinds=lists.audit_kinds())


@bp.get("/instances/<int:instance_id>")
@roles_required("admin")
def instance(instance_id):
    page = admin.instance_page(services(), actor(), instance_id)
    # Drawn in the browser by bpmn-js (web/static/build/viewer.js): the path passed and the open tasks.
    diagrams = [(name, {"xml": xml, "done": sorted(page.done), "current": sorted(page.current)})
                for name, xml in page.bpmn_sources.items()]
    unfinished = page.instance.status in ("running", "error", "suspended")
    return render_template("admin/instance.html", instance=page.instance, definition=page.definition,
                           diagrams=diagrams, events=page.events, tasks=page.tasks, timers=page.timers,
                           incidents=page.incidents, L=page.labels, beijing=beijing, unfinished=unfinished,
                           reset_points=ops.reset_points(services(), actor(), instance_id)
                           if page.instance.status in ("running", "error") else [],
                           snapshots=ops.snapshots(services(), actor(), instance_id=instance_id))


@bp.post("/instances/<int:instance_id>/<any(cancel, suspend, resume, reset):operation>")
@roles_required("admin")
def operate(instance_id, operation):
    """取消 / 暂停 / 恢复 / 退回 from the instance page; each one transaction, audited."""
    form, who = request.form, actor()
    if operation == "cancel":
        ops.cancel(services(), who, instance_id, form.get("reason", ""))
    elif operation == "suspend":
        ops.suspend(services(), who, instance_id, form.get("reason", ""))
    elif operation == "resume":
        ops.resume(services(), who, instance_id)
    else:
        ops.reset(services(), who, instance_id, form.get("task_id", ""), form.get("reason", ""))
    flash({"cancel": _("已取消"), "suspend": _("已暂停"), "resume": _("已恢复"), "reset": _("已退回")}[operation], "info")
    return redirect(url_for(".instance", instance_id=instance_id))


@bp.get("/migrations/<process_id>")
@roles_required("admin")
def migration(process_id):
    """Dry-run report of moving the process's unfinished instances to a version (default the newest)."""
    to = request.args.get("to", type=int)
    report = ops.migration_report(services(), actor(), process_id, to)
    return render_template("admin/migration.html", report=report, L=report.labels, beijing=beijing)


@bp.post("/migrations/<process_id>")
@roles_required("admin")
def migrate(process_id):
    ids = [int(v) for v in request.form.getlist("instance_ids") if v.isdigit()]
    outcomes = ops.migrate(services(), actor(), process_id, request.form.get("to", type=int), instance_ids=ids)
    for outcome in outcomes:
        said = _("已从版本 %(from_version)s 迁移到版本 %(to_version)s", from_version=outcome.from_version,
                 to_version=outcome.to_version) if outcome.ok and outcome.to_version else translate(outcome.message)
        flash(_("实例#%(id)s：%(message)s", id=outcome.instance_id, message=said), "info" if outcome.ok else "error")
    return redirect(url_for(".migration", process_id=process_id, to=request.form.get("to")))


@bp.post("/snapshots/<int:snapshot_id>/revert")
@roles_required("admin")
def revert(snapshot_id):
    instance_id = ops.revert(services(), actor(), snapshot_id)
    flash(_("实例#%(id)s已还原到迁移前的版本和状态", id=instance_id), "info")
    return redirect(url_for(".instance", instance_id=instance_id))


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
def retry(incident_id):
    instance_id, _retried = admin.retry_incident(services(), actor(), incident_id)
    flash(_("已重试"), "info")
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
        flash(_("已安排重新投递，后台任务将立即发送"), "info")
    except Refused as err:
        flash(translate(err.message), "error")
    return redirect(url_for(".events", kind=request.args.get("kind", ""),
                            business_key=request.args.get("business_key", "")))
