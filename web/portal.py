"""Citizen portal: 统一认证登录 (sandbox), 用户关联, 首页, 待办业务, starting flows, task forms, the contract page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from engine import EngineError, FormInvalid, StepResult
from engine.db import utcnow
from handlers.adapters.identity import Identity
from handlers.deadlines import beijing
from handlers.usecases import Invalid, Refused, STAFF_ROLES, accounts, citizen, tasks

from . import forms_render
from .auth import login_failed, login_required, sign_in, sign_out
from .context import actor, services

bp = Blueprint("portal", __name__)

SUBMIT_LABELS = {"property_query": "查询", "confirm_property": "签订合同", "submit_confirm": "提交",
                 "generate_order": "生成电子合同订单", "final_submit": "提交", "cancel_select": "下一步",
                 "cancel_reason": "提交", "business_type": "下一步"}
CITIZEN_LANES = ("卖方", "买方")


# ---------------------------------------------------------------- sign-in (sandbox unified identity)

@bp.get("/login")
def login():
    return render_template("portal/login.html", mainland=accounts.scannable_accounts(services()))


def _refused_to_login(err: Refused | Invalid):
    login_failed()  # counts towards the lockout (web/auth.py)
    flash(err.message, "error")
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
            flash(err.message, "error")
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
    if account.login_kind == accounts.STAFF_KIND:
        sign_in(account)
        return redirect(url_for("inbox.index") if set(account.role_list()) & set(STAFF_ROLES)
                        else url_for("admin.index"))
    return _after_unified_login(account)


def _after_unified_login(account):
    sign_in(account)
    flash(f"统一身份认证成功：{account.name}", "info")
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
                           startable=citizen.STARTABLE, tasks=page.tasks)


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
        flash(citizen.withdraw(services(), actor(), task_id), "info")
    except (Refused, EngineError) as err:
        flash(err.message, "error")
    return redirect(url_for(".todo"))


@bp.post("/contract/<contract_no>/withdraw-cancellation")
@login_required
def withdraw_cancellation(contract_no):
    """「撤回注销申请」 from the contract page, also while the parties are signing."""
    try:
        flash(citizen.withdraw_cancellation(services(), actor(), contract_no), "info")
    except (Refused, EngineError) as err:
        flash(err.message, "error")
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
        flash("已提交。请买卖双方本人持有效身份证件（原件）到中山市房地产交易管理事务中心业务窗口办理。", "info")
    if citizen.contract_key(result.business_key):
        return redirect(url_for(".contract", contract_no=result.business_key))
    if result.end_event:
        flash(f"业务已结束：{result.end_event}", "info")
    return redirect(url_for(".home"))


@bp.route("/task/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    page = tasks.task_page(services(), actor(), task_id)
    schema = page.schema
    confirm_only = set(schema().fields) == {"confirmed"}
    values, errors, form_errors = page.prefill, {}, None
    if request.method == "POST":
        values = forms_render.parse(schema, request.form)
        if confirm_only:
            values["confirmed"] = True  # 「提交」 was clicked and 「确定」 answered in the dialog
        try:
            return _next_page(tasks.complete_task(services(), actor(), task_id, values))
        except FormInvalid as err:
            errors, form_errors = err.errors, "请按提示修改后重新提交"
        except EngineError as err:
            flash(err.message, "error")
            return redirect(url_for(".home"))
    fields = forms_render.describe(schema, values, errors)
    if confirm_only:
        fields = [f for f in fields if f.name != "confirmed"]
    return render_template("portal/task.html", task=page.task, fields=fields, contract=page.contract,
                           hint=page.hint, form_errors=form_errors, confirm=confirm_only,
                           submit_label=SUBMIT_LABELS.get(page.task.form_key, "保存并继续")), 422 if errors else 200


@bp.get("/contract/<contract_no>")
@login_required
def contract(contract_no):
    page = citizen.contract_page(services(), actor(), contract_no, with_qr=bool(request.args.get("qr")))
    return render_template("portal/contract.html", contract=page.contract, order=page.order, codes=page.codes,
                           tasks=page.tasks, beijing=beijing, is_owner=page.is_owner)


@bp.post("/contract/<contract_no>/cancel-order")
@login_required
def cancel_order(contract_no):
    """「注销电子合同订单」: a message to the waiting instance; the diagram decides what follows."""
    try:
        citizen.cancel_order(services(), actor(), contract_no)
    except Refused as err:
        flash(err.message, "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    flash("电子合同订单已注销", "info")
    return redirect(url_for(".todo"))


@bp.post("/contract/<contract_no>/cancel-online")
@login_required
def cancel_online(contract_no):
    """「存量房合同注销线上」: starts the cancellation flow; the diagram checks whether it is allowed."""
    try:
        result = citizen.start_online_cancellation(services(), actor(), contract_no)
    except Refused as err:  # one cancellation at a time
        flash(err.message, "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    if result.end_event:
        flash(f"{result.end_event}：请查看合同状态与说明（线下备案的合同请到窗口办理线下注销）", "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    return _next_page(result)
