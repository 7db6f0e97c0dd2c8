"""Citizen portal: 统一认证登录 (sandbox), 用户关联, 首页, 待办业务, starting flows, task forms, e-sign step."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from engine import EngineError, FormInvalid
from engine.models import InboxTask, ProcessInstance
from handlers.adapters import esign
from handlers.contract_form import contract_form_values
from handlers.deadlines import beijing
from handlers.models import Account, Contract, ESignOrder
from handlers.qr import qr_data_uri

from . import forms_render
from .app import get_engine
from .auth import current_actor, login_required, sign_in, sign_out
from .extensions import db

bp = Blueprint("portal", __name__)

STARTABLE = {"online_signing": "签订买卖合同线上", "offline_signing": "签订买卖合同线下"}
SUBMIT_LABELS = {"property_query": "查询", "confirm_property": "签订合同", "submit_confirm": "提交",
                 "generate_order": "生成电子合同订单", "final_submit": "提交", "cancel_select": "下一步",
                 "cancel_reason": "提交", "business_type": "下一步"}


# ---------------------------------------------------------------- sign-in (sandbox unified identity)

@bp.get("/login")
def login():
    mainland = db.session.scalars(sa.select(Account).where(Account.login_kind == "粤省事").order_by(Account.id)).all()
    return render_template("portal/login.html", mainland=mainland)


@bp.post("/login/yss")
def login_yss():
    """粤省事 scan, simulated: the sandbox platform returns the scanned person's identity."""
    account = db.session.scalars(sa.select(Account).where(Account.unified_id == request.form.get("unified_id"))).first()
    if account is None:
        flash("扫码登录失败：统一身份认证平台未返回有效身份", "error")
        return redirect(url_for(".login"))
    return _after_unified_login(account)


@bp.post("/login/legal-person")
def login_legal_person():
    """法人登录: a unit sells a home in its own name; it signs in with its 统一社会信用代码."""
    from handlers.validation import FormatError, check_uscc
    try:
        code = check_uscc(request.form.get("uscc", ""))
    except FormatError as err:
        flash(f"统一社会信用代码：{err}", "error")
        return redirect(url_for(".login"))
    account = db.session.scalars(sa.select(Account).where(
        Account.login_kind == "法人", Account.id_number == code)).first()
    if account is None or not account.check_password(request.form.get("password", "")):
        flash("统一社会信用代码或密码错误", "error")
        return redirect(url_for(".login"))
    return _after_unified_login(account)


@bp.post("/login/yss-new")
def login_yss_new():
    """A person the platform knows but who has no netsign account yet: go to the association page."""
    from handlers.validation import FormatError, validate_id_number
    name = request.form.get("name", "").strip()
    try:
        id_number = validate_id_number("居民身份证", request.form.get("id_number", ""))
    except FormatError as err:
        flash(f"身份证号码{err}", "error")
        return redirect(url_for(".login"))
    if not name:
        flash("姓名为必填项", "error")
        return redirect(url_for(".login"))
    session["unified_identity"] = {"unified_id": f"yss-{id_number}", "name": name, "id_number": id_number}
    existing = db.session.scalars(sa.select(Account).where(Account.unified_id == f"yss-{id_number}")).first()
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
        if request.form.get("action") == "link":
            account = db.session.scalars(sa.select(Account).where(
                Account.id_number == request.form.get("id_number", "").strip().upper(),
                Account.login_kind != "工作人员")).first()
            if account is None or not account.check_password(request.form.get("password", "")):
                flash("证件号码或密码错误。若忘记密码，请本人携带有效身份证件原件到行政服务中心申请重置密码", "error")
                return redirect(url_for(".associate"))
            if account.unified_id:
                flash("该网签账号已关联其他统一身份认证账号", "error")
                return redirect(url_for(".associate"))
            account.unified_id = identity["unified_id"]
        else:
            account = Account(login_kind="粤省事", unified_id=identity["unified_id"], name=identity["name"],
                              id_type="居民身份证", id_number=identity["id_number"], roles="citizen")
            db.session.add(account)
        db.session.commit()
        session.pop("unified_identity", None)
        return _after_unified_login(account)
    return render_template("portal/associate.html", identity=identity)


@bp.post("/login/password")
def login_password():
    """账号密码 (HK/Macau/Taiwan, foreign users) and staff accounts."""
    username = request.form.get("username", "").strip()
    account = db.session.scalars(sa.select(Account).where(Account.username == username)).first()
    if account is None or not account.check_password(request.form.get("password", "")):
        flash("账号或密码错误", "error")
        return redirect(url_for(".login"))
    if account.login_kind == "工作人员":
        sign_in(account)
        return redirect(url_for("inbox.index") if set(account.role_list()) & {"clerk", "reviewer"}
                        else url_for("admin.index"))
    return _after_unified_login(account)


def _after_unified_login(account: Account):
    sign_in(account)
    flash(f"统一身份认证成功：{account.name}", "info")
    return redirect(request.args.get("next") or url_for(".home"))


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for(".login"))


# ---------------------------------------------------------------- what a citizen may see

def my_contracts_query(account: Account):
    from handlers.models import ContractParty
    party_contracts = sa.select(ContractParty.contract_id).where(ContractParty.id_number == account.id_number)
    return sa.select(Contract).where(sa.or_(Contract.created_by == account.id, Contract.id.in_(party_contracts)))


def contract_for_me(contract_no: str) -> Contract:
    contract = db.session.scalars(my_contracts_query(g.account).where(Contract.contract_no == contract_no)).first()
    if contract is None:
        abort(404)
    return contract


def my_open_tasks():
    return db.session.scalars(
        sa.select(InboxTask).join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id)
        .where(InboxTask.state == "READY", InboxTask.role.in_(("seller", "buyer")),
               ProcessInstance.started_by == current_actor())
        .order_by(InboxTask.created_at.desc())).all()


def engine_roles(task: InboxTask):
    """Citizen lanes are checked by ownership here (task_for_me); staff lanes by role in the engine."""
    return None if task.role in ("seller", "buyer") else g.roles


def task_for_me(task_id: str) -> InboxTask:
    task = db.session.get(InboxTask, task_id)
    if task is None or task.state != "READY":
        abort(404)
    instance = db.session.get(ProcessInstance, task.instance_id)
    if task.role in ("seller", "buyer"):
        if instance.started_by != current_actor():
            abort(404)
    elif not (g.roles & {task.role}):
        abort(403)
    return task


# ---------------------------------------------------------------- pages

@bp.get("/")
@login_required
def home():
    if "citizen" not in g.roles:
        return redirect(url_for("inbox.index") if g.roles & {"clerk", "reviewer"} else url_for("admin.index"))
    contracts = db.session.scalars(my_contracts_query(g.account).order_by(Contract.id.desc())).all()
    orders = {o.contract_id: o for o in db.session.scalars(
        sa.select(ESignOrder).where(ESignOrder.contract_id.in_([c.id for c in contracts])).order_by(ESignOrder.id))}
    return render_template("portal/home.html", contracts=contracts, orders=orders, beijing=beijing,
                           startable=STARTABLE, tasks=my_open_tasks())


@bp.get("/todo")
@login_required
def todo():
    return render_template("portal/todo.html", tasks=my_open_tasks())


@bp.post("/start/<process_id>")
@login_required
def start(process_id):
    if process_id not in STARTABLE or "citizen" not in g.roles:
        abort(404)
    result = get_engine().start(process_id, current_actor())
    return _next_page(result)


CITIZEN_LANES = ("卖方", "买方")


def _next_page(result):
    mine = [t for t in result.ready_tasks if t["lane"] in CITIZEN_LANES]
    if mine:
        return redirect(url_for(".task", task_id=mine[0]["id"]))
    if result.ready_tasks:  # the case moved to the window
        flash("已提交。请买卖双方本人持有效身份证件（原件）到中山市房地产交易管理事务中心业务窗口办理。", "info")
    if result.business_key:
        return redirect(url_for(".contract", contract_no=result.business_key))
    if result.end_event:
        flash(f"业务已结束：{result.end_event}", "info")
    return redirect(url_for(".home"))


@bp.route("/task/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id):
    row = task_for_me(task_id)
    registry = current_app.extensions["netsign_registry"]
    schema = registry.binding(row.form_key).schema
    contract = db.session.scalars(sa.select(Contract).where(Contract.contract_no == row.business_key)).first() \
        if row.business_key else None
    values, errors, form_errors = _prefill(row, contract), {}, None
    hint = _hint_for(row)
    if request.method == "POST":
        values = forms_render.parse(schema, request.form)
        if set(schema().fields) == {"confirmed"}:
            values["confirmed"] = True  # 「提交」 was clicked and 「确定」 answered in the dialog
        try:
            result = get_engine().complete_task(row.id, values, current_actor(), roles=engine_roles(row))
            return _next_page(result)
        except FormInvalid as err:
            errors, form_errors = err.errors, "请按提示修改后重新提交"
        except EngineError as err:
            flash(err.message, "error")
            return redirect(url_for(".home"))
    fields = [f for f in forms_render.describe(schema, values, errors) if f.name != "confirmed"] \
        if set(schema().fields) == {"confirmed"} else forms_render.describe(schema, values, errors)
    status = 422 if errors else 200
    return render_template("portal/task.html", task=row, fields=fields, contract=contract, hint=hint,
                           form_errors=form_errors, submit_label=SUBMIT_LABELS.get(row.form_key, "保存并继续"),
                           confirm=set(schema().fields) == {"confirmed"}), status


def _prefill(row: InboxTask, contract: Contract | None) -> dict:
    if row.form_key == "contract_form" and contract is not None:
        return contract_form_values(contract)
    return {}


def _hint_for(row: InboxTask) -> str | None:
    """The reason a task came round again (a failed property query), from the instance's data."""
    if row.form_key != "property_query":
        return None
    workflow = get_engine().load_workflow(row.instance_id)
    from uuid import UUID
    task = workflow.get_task_from_id(UUID(row.id))
    verification = (task.data if task else {}).get("verification")
    return verification.get("message") if verification and not verification.get("found") else None


@bp.get("/contract/<contract_no>")
@login_required
def contract(contract_no):
    contract = contract_for_me(contract_no)
    order = db.session.scalars(sa.select(ESignOrder).where(ESignOrder.contract_id == contract.id)
                               .order_by(ESignOrder.id.desc())).first()
    base = current_app.config["PUBLIC_BASE_URL"]
    codes = []
    if order is not None and order.status == "已创建订单，待签字" and request.args.get("qr"):
        codes = [(s, qr_data_uri(esign.signing_url(base, s.token))) for s in order.signatures]
    tasks = db.session.scalars(sa.select(InboxTask).where(
        InboxTask.business_key == contract.contract_no, InboxTask.state == "READY",
        InboxTask.role.in_(("seller", "buyer")))).all()
    tasks = [t for t in tasks if db.session.get(ProcessInstance, t.instance_id).started_by == current_actor()]
    return render_template("portal/contract.html", contract=contract, order=order, codes=codes, tasks=tasks,
                           beijing=beijing, is_owner=contract.created_by == g.account.id)


@bp.post("/contract/<contract_no>/cancel-order")
@login_required
def cancel_order(contract_no):
    """「注销电子合同订单」: a message to the waiting instance; the diagram decides what follows."""
    contract = contract_for_me(contract_no)
    if contract.created_by != g.account.id:
        abort(403)
    order = db.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.contract_id == contract.id, ESignOrder.status == "已创建订单，待签字")).first()
    if order is None:
        flash("没有可注销的电子合同订单", "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    get_engine().deliver_message("esign_order_cancel", contract_no, {"by": current_actor()},
                                 f"cancel-order:{order.order_no}")
    flash("电子合同订单已注销", "info")
    return redirect(url_for(".todo"))


@bp.post("/contract/<contract_no>/cancel-online")
@login_required
def cancel_online(contract_no):
    """「存量房合同注销线上」: starts the cancellation flow; the diagram checks whether it is allowed."""
    contract_for_me(contract_no)
    engine = get_engine()
    result = engine.start("online_cancellation", current_actor())
    result = engine.complete_task(result.ready_tasks[0]["id"], {"contract_no": contract_no}, current_actor())
    if result.end_event:
        flash(f"{result.end_event}：请查看合同状态与说明（线下备案的合同请到窗口办理线下注销）", "error")
        return redirect(url_for(".contract", contract_no=contract_no))
    return _next_page(result)


def init_app(app):
    app.register_blueprint(bp)
