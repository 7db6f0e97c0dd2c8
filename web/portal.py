"""Citizen portal: 统一认证登录 (sandbox), 用户关联, 首页, 待办业务, starting flows, task forms, the contract page."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import EngineError, FormInvalid, StepResult
from engine.db import utcnow
from handlers.adapters.identity import Identity
from handlers.deadlines import beijing
from handlers.i18n import N_
from handlers.usecases import (
    STAFF_ROLES,
    Invalid,
    Refused,
    accounts,
    citizen,
    supervision,
    tasks,
)

from . import forms_render
from .auth import login_failed, login_required, sign_in, sign_out
from .context import actor, services
from .i18n import translate

bp = Blueprint("portal", __name__)

SUBMIT_LABELS = {"supervision_online": N_("下一步"), "supervision_branch": N_("下一步"), "property_query": N_("查询"), "confirm_property": N_("签订合同"), "submit_confirm": N_("提交"),
                 "generate_order": N_("生成电子合同订单"), "final_submit": N_("提交"), "cancel_select": N_("下一步"),
                 "cancel_reason": N_("提交"), "business_type": N_("下一步")}
CITIZEN_LANES = ("卖方", "买方")


def cancel_order_question() -> str:
    return _("确定注销电子合同订单吗？注销后已完成的签名作废；如需修改合同，请到「待办业务」选择「修改合同」，"
             "修改完成后重新生成电子合同订单；如需终止合同，请选择「删除合同」。")


# ---------------------------------------------------------------- sign-in (sandbox unified identity)

@bp.get("/login")
def login():
    return render_template("portal/login.html", mainland=accounts.scannable_accounts(services()))


def _refused_to_login(err: Refused | Invalid):
    login_failed()  # counts towards the lockout (web/auth.py)
    flash(translate(err.message), "error")
    return redirect(url_for(".login"))


@bp.post("/login/yss")
def login_yss():
    """粤省事 scan, simulated: the sandbox platform returns the scanned person's identity."""
    try:
        account = accounts.sign_in_scanned(services(), request.form.get("unified_id"))
    except Refused as err:
        return _refused_to_login(err)
    return _after_unified_login(account)


@bp.post("/login/legal-person")
def login_legal_person():
    """法人登录: a unit sells a home in its own name; it signs in with its 统一社会信用代码."""
    try:
        account = accounts.sign_in_legal_person(services(), request.form.get("uscc", ""),
                                                request.form.get("password", ""))
    except (Refused, Invalid) as err:
        return _refused_to_login(err)
    return _after_unified_login(account)


def _to_association(identity: Identity):
    """Signed in on the platform, no netsign account linked yet: 用户关联 (guide 1.1 (五))."""
    session["unified_identity"] = accounts.identity_to_session(identity)
    return redirect(url_for(".associate"))


@bp.post("/login/yss-new")
def login_yss_new():
    """A person the platform knows but who has no netsign account yet: go to the association page."""
    try:
        identity, existing = accounts.identify_new_person(services(), request.form.get("name", ""),
                                                          request.form.get("id_number", ""))
    except Invalid as err:
        return _refused_to_login(err)
    session["unified_identity"] = {"unified_id": identity.unified_id, "name": identity.name,
                                   "id_number": identity.id_number}
    if existing is not None:
        return _after_unified_login(existing)
    return redirect(url_for(".associate"))


@bp.route("/associate", methods=["GET", "POST"])
def associate():
    """用户关联: 「关联现有账号」 (ID number + password → 「关联本地用户」) or 「无网签账号，创建个人网签账号」."""
    identity = session.get("unified_identity")
    if identity is None:
        return redirect(url_for(".login"))
    if request.method == "POST":
        try:
            account = accounts.associate(services(), Identity(**identity), link=request.form.get("action") == "link",
                                         id_number=request.form.get("id_number", ""),
                                         password=request.form.get("password", ""))
        except Refused as err:
            login_failed()
            flash(translate(err.message), "error")
            return render_template("portal/associate.html", identity=identity), err.status
        session.pop("unified_identity", None)
        return _after_unified_login(account)
    return render_template("portal/associate.html", identity=identity)


@bp.post("/login/password")
def login_password():
    """账号密码 (HK/Macau/Taiwan, foreign users) and staff accounts."""
    try:
        account = accounts.sign_in_password(services(), request.form.get("username", ""),
                                            request.form.get("password", ""))
    except Refused as err:
        return _refused_to_login(err)
    if isinstance(account, Identity):
        return _to_association(account)
    if account.login_kind == accounts.STAFF_KIND:
        sign_in(account)
        return redirect(url_for("inbox.index") if set(account.role_list()) & set(STAFF_ROLES)
                        else url_for("admin.index"))
    return _after_unified_login(account)


def _after_unified_login(account):
    if isinstance(account, Identity):
        return _to_association(account)
    sign_in(account)
    flash(_("统一身份认证成功：%(name)s", name=account.name), "info")
    return redirect(request.args.get("next") or url_for(".home"))


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for(".login"))


# ---------------------------------------------------------------- pages

@bp.get("/")
@login_required
def home():
    me = actor()
    if not me.is_citizen:
        return redirect(url_for("inbox.index") if me.staff_roles else url_for("admin.index"))
    page = citizen.home(services(), me)
    return render_template("portal/home.html", contracts=page.contracts, orders=page.orders, beijing=beijing,
                           deadlines=page.deadlines, startable=citizen.STARTABLE, tasks=page.tasks)


@bp.get("/todo")
@login_required
def todo():
    items = citizen.todo(services(), actor(), overdue=bool(request.args.get("overdue")))  # 「已逾期」
    return render_template("portal/todo.html", items=items, now=utcnow(), beijing=beijing)


@bp.post("/task/<task_id>/withdraw")
@login_required
def withdraw(task_id):
    """「撤回申请」 from 待办."""
    try:
        flash(translate(citizen.withdraw(services(), actor(), task_id)), "info")
    except (Refused, EngineError) as err:
        flash(translate(err.message), "error")
    return redirect(url_for(".todo"))


@bp.post("/contract/<contract_no>/withdraw-cancellation")
@login_required
def withdraw_cancellation(contract_no):
    """「撤回注销申请」 from the contract page, also while the parties are signing."""
    try:
        flash(translate(citizen.withdraw_cancellation(services(), actor(), contract_no)), "info")
    except (Refused, EngineError) as err:
        flash(translate(err.message), "error")
    return redirect(url_for(".contract", contract_no=contract_no))


@bp.post("/start/<process_id>")
@login_required
def start(process_id):
    return _next_page(citizen.start_flow(services(), actor(), process_id))


def _next_page(result: StepResult):
    mine = [t for t in result.ready_tasks if t["lane"] in CITIZEN_LANES]
    if mine:
        return redirect(url_for(".task", task_id=mine[0]["id"]))
    if result.ready_tasks:  # the case moved to the window
        flash(_("已提交。请买卖双方本人持有效身份证件（原件）到中山市房地产交易管理事务中心业务窗口办理。"), "info")
    if citizen.contract_key(result.business_key):
        return redirect(url_for(".contract", contract_no=result.business_key))
    if result.end_event:
        reason = citizen.refusal_reason(services(), actor(), result)
        message = _("业务已结束：%(event)s", event=translate(result.end_event))
        if reason:
            message += _("。原因：%(reason)s", reason=translate(reason))
        flash(message, "error" if reason else "info")
    return redirect(url_for(".home"))


@bp.route("/task/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    page = tasks.task_page(services(), actor(), task_id)
    schema = page.schema
    # A form with a 「确定」 (guide: 「提交」 then 「确定」) asks before it completes: a <dialog> with JS,
    # the same page with the question and its 「确定」 button without.
    asks = "confirmed" in schema().fields
    values, form_errors, asking = page.prefill, None, False
    errors: dict = {}
    if request.method == "POST":
        values = forms_render.parse(schema, request.form)
        errors = schema().validate({**values, "confirmed": True}) if asks and not values.get("confirmed") else {}
        if errors:
            form_errors = _("请按提示修改后重新提交")
        elif asks and not values.get("confirmed"):
            asking = True
        else:
            try:
                return _next_page(tasks.complete_task(services(), actor(), task_id, values))
            except FormInvalid as err:
                errors = err.errors
                # A message about no field of the form (e.g. 「资金监管协议尚未签署完成」) is said on its own.
                loose = [m for k, v in errors.items() if k not in schema().fields for m in forms_render.messages(v)]
                form_errors = _("；").join(translate(m) for m in loose) or _("请按提示修改后重新提交")
            except EngineError as err:
                flash(translate(err.message), "error")
                return redirect(url_for(".home"))
    fields = [f for f in forms_render.describe(schema, values, errors) if f.name != "confirmed"]
    for f in fields:
        f.readonly = f.name in page.shown.readonly
    return render_template("portal/task.html", task=page.task, fields=fields, contract=page.contract,
                           hint=page.hint, form_errors=form_errors, asks=asks, asking=asking, shown=page.shown,
                           beijing=beijing,
                           submit_label=SUBMIT_LABELS.get(page.task.form_key, N_("保存并继续"))), 422 if errors else 200


@bp.get("/contract/<contract_no>")
@login_required
def contract(contract_no):
    page = citizen.contract_page(services(), actor(), contract_no, with_qr=bool(request.args.get("qr")))
    return render_template("portal/contract.html", contract=page.contract, order=page.order, codes=page.codes,
                           tasks=page.tasks, beijing=beijing, is_owner=page.is_owner, deadline=page.deadline,
                           paused=page.paused, cancel_question=cancel_order_question(),
                           online=page.contract.channel == "线上",
                           cancelling_order=page.order is not None and page.order.purpose == "注销")


@bp.get("/contract/<contract_no>/signed.pdf")
@login_required
def signed_contract(contract_no):
    """The signed contract (已签约) as a PDF: 备案编号, 备案日期, the signatures, the terms, the next step."""
    try:
        filename, pdf = citizen.signed_contract(services(), actor(), contract_no)
    except Refused as err:
        flash(translate(err.message), "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/contract/<contract_no>/supervision-manual.pdf")
@login_required
def supervision_manual(contract_no):
    """《用户操作手册》 of the chosen bank's fund supervision, with the contract's facts."""
    try:
        filename, pdf = supervision.supervision_manual(services(), actor(), contract_no)
    except Refused as err:
        flash(translate(err.message), "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/contract/<contract_no>/cancel-order")
@login_required
def confirm_cancel_order(contract_no):
    """「注销电子合同订单」 without JS: the question on a page of its own, 「确定」 posts."""
    page = citizen.contract_page(services(), actor(), contract_no)
    return render_template("portal/confirm.html", contract=page.contract, question=cancel_order_question(),
                           action=url_for(".cancel_order", contract_no=page.contract.contract_no))


@bp.post("/contract/<contract_no>/cancel-order")
@login_required
def cancel_order(contract_no):
    """「注销电子合同订单」: a message to the waiting instance; the diagram decides what follows."""
    try:
        citizen.cancel_order(services(), actor(), contract_no)
    except Refused as err:
        flash(translate(err.message), "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    flash(_("电子合同订单已注销"), "info")
    return redirect(url_for(".todo"))


@bp.post("/contract/<contract_no>/cancel-online")
@login_required
def cancel_online(contract_no):
    """「存量房合同注销线上」: starts the cancellation flow; the diagram checks whether it is allowed."""
    try:
        result = citizen.start_online_cancellation(services(), actor(), contract_no)
    except Refused as err:  # one cancellation at a time
        flash(translate(err.message), "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    if result.end_event:
        flash(_("%(event)s：请查看合同状态与说明（线下备案的合同请到窗口办理线下注销）", event=translate(result.end_event)), "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    return _next_page(result)
