"""Staff inbox (工作台): tasks of my roles, claim/release/hand over, the task page with the case,
the materials checklist from the DMN table, print buttons, uploads, approve/reject, history."""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import EngineError, FormInvalid
from engine.db import utcnow
from handlers.deadlines import beijing
from handlers.i18n import N_
from handlers.labels import labels_for
from handlers.usecases import STAFF_ROLES, Invalid, Refused, accounts, tasks

from . import forms_render
from .auth import roles_required
from .context import actor, services
from .i18n import translate

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


DAY_LABELS = {"from": N_("到达日期从"), "to": N_("到达日期到")}


def _day(arg: str) -> date | None:
    """A filter day; a malformed one, or one the calendar cannot go past (9999-12-31), is refused (422)."""
    if not request.args.get(arg):
        return None
    try:
        day = datetime.strptime(request.args[arg], "%Y-%m-%d").date()
    except ValueError:
        raise Invalid(_("%(field)s：日期格式应为 YYYY-MM-DD", field=translate(DAY_LABELS[arg])),
                      {arg: [_("日期格式应为 YYYY-MM-DD")]}) from None
    if not 1900 <= day.year <= 2999:
        raise Invalid(_("%(field)s：日期应在 1900—2999 年之间", field=translate(DAY_LABELS[arg])),
                      {arg: [_("日期应在 1900—2999 年之间")]})
    return day


@bp.get("/")
@roles_required(*STAFF_ROLES)
def index():
    wanted = tasks.InboxFilter(process=request.args.get("process"), task=request.args.get("task"),
                               contract_no=request.args.get("contract_no"), mine=bool(request.args.get("mine")),
                               created_from=_day("from"), created_to=_day("to"),
                               newest_first=request.args.get("sort") == "newest",
                               overdue=bool(request.args.get("overdue")), after=request.args.get("after"))
    page = tasks.staff_inbox(services(), actor(), wanted)
    kept = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template("inbox/index.html", tasks=page.items, next_cursor=page.next_cursor, kept=kept,
                           L=labels_for(services()), now=utcnow(), beijing=beijing,
                           names=accounts.staff_names(services()),
                           colleagues=accounts.colleagues(services(), actor(), STAFF_ROLES))


@bp.post("/start-offline-cancellation")
@roles_required("clerk")
def start_offline_cancellation():
    """Both parties came to the window to cancel: the clerk opens 「存量房合同注销线下」."""
    result = tasks.start_offline_cancellation(services(), actor())
    return redirect(url_for(".task", task_id=result.ready_tasks[0]["id"]))


@bp.post("/<task_id>/claim")
@roles_required(*STAFF_ROLES)
def claim(task_id):
    action = request.form.get("action", "claim")
    try:
        if action == "release":
            tasks.release(services(), actor(), task_id)
        elif action == "handover":
            tasks.hand_over(services(), actor(), task_id, request.form.get("to", ""))
        else:
            tasks.claim(services(), actor(), task_id)
    except EngineError as err:
        flash(translate(err.message), "error")
    return redirect(url_for(".task", task_id=task_id) if action == "claim" else url_for(".index"))


def _posted_files(materials: list[str]) -> dict[str, tuple[str, bytes]]:
    files = {}
    for index, material in enumerate(materials):
        file = request.files.get(f"material-{index}")
        if file and file.filename:
            files[material] = (file.filename, file.read())
    return files


@bp.route("/<task_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def task(task_id):
    page = tasks.staff_task_page(services(), actor(), task_id)
    values: dict = {}
    errors: dict = {}
    if request.method == "POST":
        values = forms_render.parse(page.schema, request.form)
        try:
            result = tasks.complete_with_uploads(services(), actor(), task_id, values,
                                                 _posted_files(page.materials))
            done = _("「%(task)s」已办理", task=translate(page.task.name))
            ended = _("，业务结束：%(end)s", end=translate(result.end_event)) if result.end_event else ""
            flash(done + ended, "info")
            return redirect(url_for(".index"))
        except (Invalid, FormInvalid) as err:
            errors = err.errors
        except EngineError as err:
            flash(translate(err.message), "error")
            return redirect(url_for(".index"))
    fields = forms_render.describe(page.schema, values, errors)
    upload_errors = errors.get("uploads") if isinstance(errors.get("uploads"), dict) else {}
    return render_template("inbox/task.html", task=page.task, fields=fields, contract=page.contract,
                           materials=page.materials, uploads=page.uploads, upload_errors=upload_errors,
                           history=page.history, prints=page.prints,
                           L=labels_for(services(), [e.actor for e in page.history]), refusal=page.data.get("window_refusal"),
                           review_reason=page.data.get("review_reason"),
                           other_errors={k: v for k, v in errors.items() if k != "uploads"}), 422 if errors else 200


@bp.route("/reset-password", methods=["GET", "POST"])
@roles_required("clerk")
def reset_password():
    """A forgotten password is reset only in person, by a window clerk who checked the original ID."""
    new_password = None
    if request.method == "POST":
        try:
            new_password = accounts.reset_password(services(), actor(), request.form.get("id_number", ""),
                                                   request.form.get("id_checked") == "on")
        except Refused as err:
            flash(translate(err.message), "error")
    return render_template("inbox/reset_password.html", new_password=new_password)


@bp.get("/print/<contract_no>/<form_key>")
@roles_required(*STAFF_ROLES)
def print_form(contract_no, form_key):
    filename, pdf = tasks.print_form(services(), actor(), contract_no, form_key)
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f"inline; filename={filename}"})
