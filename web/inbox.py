"""Staff inbox (工作台): tasks of my roles, claim/release/hand over, the task page with the case,
the materials checklist from the DMN table, print buttons, uploads, approve/reject, history."""
from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from engine import EngineError, FormInvalid
from engine.models import AuditEvent, InboxTask
from handlers.documents import FORMS as PRINT_FORMS
from handlers.models import Account, Contract, Upload
from handlers.uploads import UploadError, store_upload

from . import forms_render
from .app import get_engine
from .auth import current_actor, roles_required
from .extensions import db

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
STAFF = ("clerk", "reviewer")
PRINTS_FOR = {"offline_signing": ["filing_application", "sale_contract", "supervision_waiver"],
              "offline_cancellation": ["cancellation_application", "termination_agreement", "sale_contract"]}


@bp.get("/")
@roles_required(*STAFF)
def index():
    query = sa.select(InboxTask).where(InboxTask.state == "READY", InboxTask.role.in_(g.roles & set(STAFF)))
    if request.args.get("process"):
        query = query.where(InboxTask.process_id == request.args["process"])
    if request.args.get("task"):
        query = query.where(InboxTask.name == request.args["task"])
    if request.args.get("contract_no"):
        query = query.where(InboxTask.business_key == request.args["contract_no"].strip().upper())
    if request.args.get("mine"):
        query = query.where(InboxTask.assignee == current_actor())
    from datetime import datetime, time, timedelta
    from handlers.deadlines import BEIJING
    for arg, op in (("from", "__ge__"), ("to", "__lt__")):
        if request.args.get(arg):
            try:
                day = datetime.strptime(request.args[arg], "%Y-%m-%d").date()
            except ValueError:
                flash("日期格式应为 YYYY-MM-DD", "error")
                continue
            bound = datetime.combine(day + timedelta(days=1 if arg == "to" else 0), time(0), tzinfo=BEIJING)
            query = query.where(getattr(InboxTask.created_at, op)(bound))
    order = InboxTask.created_at.desc() if request.args.get("sort") == "newest" else InboxTask.created_at
    tasks = db.session.scalars(query.order_by(order).limit(200)).all()
    staff = db.session.scalars(sa.select(Account).where(Account.login_kind == "工作人员")).all()
    names = {a.id: a.name for a in staff}
    colleagues = [a for a in staff if a.id != g.account.id and set(a.role_list()) & set(STAFF)]
    return render_template("inbox/index.html", tasks=tasks, names=names, colleagues=colleagues)


@bp.post("/start-offline-cancellation")
@roles_required("clerk")
def start_offline_cancellation():
    """Both parties came to the window to cancel: the clerk opens 「存量房合同注销线下」."""
    result = get_engine().start("offline_cancellation", current_actor())
    return redirect(url_for(".task", task_id=result.ready_tasks[0]["id"]))


def _staff_task(task_id: str) -> InboxTask:
    task = db.session.get(InboxTask, task_id)
    if task is None or task.state != "READY":
        abort(404)
    if task.role not in g.roles:
        abort(403)
    return task


@bp.post("/<task_id>/claim")
@roles_required(*STAFF)
def claim(task_id):
    _staff_task(task_id)
    action = request.form.get("action", "claim")
    engine, actor = get_engine(), current_actor()
    try:
        if action == "release":
            engine.release(task_id, actor, g.roles)
        elif action == "handover":
            engine.hand_over(task_id, request.form.get("to", ""), actor, g.roles)
        else:
            engine.claim(task_id, actor, g.roles)
    except EngineError as err:
        flash(err.message, "error")
    return redirect(url_for(".task", task_id=task_id) if action == "claim" else url_for(".index"))


def _task_data(task: InboxTask) -> dict:
    workflow = get_engine().load_workflow(task.instance_id)
    spiff_task = workflow.get_task_from_id(UUID(task.id))
    return dict(spiff_task.data) if spiff_task else {}


@bp.route("/<task_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def task(task_id):
    row = _staff_task(task_id)
    registry = current_app.extensions["netsign_registry"]
    schema = registry.binding(row.form_key).schema
    data = _task_data(row)
    contract = db.session.scalars(sa.select(Contract).where(Contract.contract_no == row.business_key)).first() \
        if row.business_key else None
    materials = data.get("materials") or []
    values, errors = {}, {}
    if request.method == "POST":
        values = forms_render.parse(schema, request.form)
        try:
            if "uploads" in schema().fields:
                values["uploads"] = _store_files(contract, materials)
            db.session.commit()
            result = get_engine().complete_task(row.id, values, current_actor(), roles=g.roles)
            flash(f"「{row.name}」已办理" + (f"，业务结束：{result.end_event}" if result.end_event else ""), "info")
            return redirect(url_for(".index"))
        except UploadError as err:
            db.session.rollback()
            errors = {"uploads": {err.field: [err.message]}}
        except FormInvalid as err:
            errors = err.errors
        except EngineError as err:
            flash(err.message, "error")
            return redirect(url_for(".index"))
    uploads = {}
    if contract is not None:
        for upload in db.session.scalars(sa.select(Upload).where(Upload.contract_id == contract.id).order_by(Upload.id)):
            uploads[upload.material] = upload
    history = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.instance_id == row.instance_id, AuditEvent.kind.in_(
            ("instance_started", "task_completed", "window_intake", "window_refused", "reviewed",
             "materials_uploaded", "contract_filed", "contract_cancelled", "task_claimed", "task_released")))
        .order_by(AuditEvent.id)).all()
    # The waiver is printed only when fund supervision was declined (the same fact the DMN table uses).
    prints = [(key, PRINT_FORMS[key][0]) for key in PRINTS_FOR.get(row.process_id, [])
              if contract is not None and (key != "supervision_waiver" or contract.fund_supervised is False)]
    fields = forms_render.describe(schema, values, errors)
    upload_errors = errors.get("uploads") if isinstance(errors.get("uploads"), dict) else {}
    return render_template("inbox/task.html", task=row, fields=fields, contract=contract, materials=materials,
                           uploads=uploads, upload_errors=upload_errors, history=history, prints=prints,
                           refusal=data.get("window_refusal"), review_reason=data.get("review_reason"),
                           other_errors={k: v for k, v in errors.items() if k != "uploads"}), 422 if errors else 200


def _store_files(contract: Contract | None, materials: list[str]) -> dict:
    """Store files posted for each material; the form refers to the newest upload of each."""
    if contract is None:
        return {}
    for index, material in enumerate(materials):
        file = request.files.get(f"material-{index}")
        if file and file.filename:
            store_upload(db.session, contract_id=contract.id, material=material, filename=file.filename,
                         data=file.read(), uploader=current_actor(), upload_dir=current_app.config["UPLOAD_DIR"],
                         max_bytes=current_app.config["UPLOAD_MAX_BYTES"], field=material)
    latest = {}
    for upload in db.session.scalars(sa.select(Upload).where(Upload.contract_id == contract.id).order_by(Upload.id)):
        latest[upload.material] = upload.id
    return latest


@bp.route("/reset-password", methods=["GET", "POST"])
@roles_required("clerk")
def reset_password():
    """A forgotten password is reset only in person, by a window clerk who checked the original ID."""
    new_password = None
    if request.method == "POST":
        id_number = request.form.get("id_number", "").strip().upper()
        account = db.session.scalars(sa.select(Account).where(
            Account.id_number == id_number, Account.login_kind != "工作人员")).first()
        if request.form.get("id_checked") != "on":
            flash("请先核验本人有效身份证件原件", "error")
        elif account is None:
            flash("未找到该证件号码的网签账号", "error")
        else:
            import secrets
            new_password = secrets.token_urlsafe(6)
            account.set_password(new_password)
            db.session.add(AuditEvent(kind="password_reset", actor=current_actor(),
                                      details={"account_id": account.id}))
            db.session.commit()
    return render_template("inbox/reset_password.html", new_password=new_password)


@bp.get("/print/<contract_no>/<form_key>")
@roles_required(*STAFF)
def print_form(contract_no, form_key):
    if form_key not in PRINT_FORMS:
        abort(404)
    contract = db.session.scalars(sa.select(Contract).where(Contract.contract_no == contract_no)).first()
    if contract is None:
        abort(404)
    title, render = PRINT_FORMS[form_key]
    return Response(render(contract), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={form_key}-{contract_no}.pdf"})


def init_app(app):
    app.register_blueprint(bp)
