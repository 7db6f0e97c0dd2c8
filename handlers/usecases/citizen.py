"""What a citizen does on the portal: see their contracts and tasks, start a flow, manage the
e-contract order, ask for an online cancellation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from engine import InstanceStatus, Page, StepResult, capped_count
from engine.db import utcnow
from engine.models import InboxTask

from ..bootstrap import Services
from ..models import (DRAFT, FILED, SUBMITTED, ORDER_CANCELLED, ORDER_SIGNED, ORDER_WAITING, Contract, ESignOrder, ESignSignature,
                      RegistryProperty, normalize_contract_no)
from ..documents import signed_contract_pdf
from ..qr import qr_data_uri
from ..services import OUT_OF_SCOPE, cancellation_busy
from ..validation import comparable_id
from .errors import Invalid, NotFound, Refused
from .policy import CITIZEN_ROLES, Actor, contract_for, require_contract_owner, task_filter, task_for, visible_contracts

# The flows a citizen may start from the home page, with their names on the buttons.
STARTABLE = {"online_signing": "签订买卖合同线上", "offline_signing": "签订买卖合同线下"}
# An application carries this business key until 「创建合同」 replaces it with the contract number:
# messages find their instance by business key, and 「撤回申请」 must reach one with no contract yet.
APPLICATION_KEY_PREFIX = "SQ-"
WITHDRAW_MESSAGE = "withdraw_application"
# The tasks at which the diagrams wait for 「撤回申请」 (boundary events), by process; the cancellation's
# 「重新签署或撤回申请」 offers withdrawal in its own form and is completed that way. While the contract
# is drafted (contract_drafting's tasks) the boundary event sits on 「填写合同信息」 and deletes the contract.
DRAFTING_TASKS = {"Activity_fill_contract", "Activity_fill_applicant", "Activity_fill_rating",
                  "Activity_fill_fund_supervision", "Activity_confirm_notes", "Activity_submit_contract"}
WITHDRAW_AT = {"online_signing": {"Activity_query_property", "Activity_confirm_property", *DRAFTING_TASKS},
               "offline_signing": {"Activity_query_property", "Activity_confirm_property", *DRAFTING_TASKS},
               "online_cancellation": {"Activity_cancel_reason", "Activity_generate_order"}}
WITHDRAW_BY_FORM = {"Activity_after_order_cancel": {"after_cancel_action": "撤回注销申请"}}


@dataclass
class TodoItem:
    """A line of 待办: the task, the home it is about and the contract number once there is one."""

    task: InboxTask
    home: str | None
    contract_no: str | None
    withdrawable: bool


@dataclass
class HomePage:
    contracts: list[Contract]
    orders: dict[int, ESignOrder]  # contract id → its latest order
    tasks: list["TodoItem"]
    # contract no → when it is deleted if still unfiled: the diagram's waiting timer, not a Python rule
    deadlines: dict[str, datetime] = field(default_factory=dict)


@dataclass
class ContractPage:
    contract: Contract
    order: ESignOrder | None
    tasks: list[InboxTask]
    is_owner: bool
    deadline: datetime | None = None  # the diagram's waiting deletion timer, while there is one
    paused: bool = False  # an administrator suspended the flow the contract is in (signing or cancellation)
    codes: list[tuple[ESignSignature, str, str]] = field(default_factory=list)  # the actor's own (QR, link)


def my_contracts(services: Services, actor: Actor) -> list[Contract]:
    return list(services.session.scalars(visible_contracts(actor).order_by(Contract.id.desc())
                                         .options(selectinload(Contract.home))))  # 首页 shows each home


def my_contracts_page(services: Services, actor: Actor, *, after: str | None = None,
                      limit: int = 50, total: bool = False) -> Page[Contract]:
    """My contracts, newest first, a keyset page at a time (the cursor is the last contract's id); with
    ``total``, how many there are (counted up to a cap)."""
    query = visible_contracts(actor)
    counted = capped_count(services.session, query, Contract.id) if total else None
    if after:
        if not after.isdigit():
            raise Invalid("分页参数无效，请从第一页重新查看", {"after": ["分页参数无效"]})
        query = query.where(Contract.id < int(after))
    # The home and the parties every list line shows, two statements for the page (not two per contract).
    rows = list(services.session.scalars(query.order_by(Contract.id.desc()).limit(limit + 1)
                                         .options(selectinload(Contract.home), selectinload(Contract.parties))))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None, counted)


def my_tasks(services: Services, actor: Actor, *, after: str | None = None, limit: int = 50,
             newest_first: bool = True, total: bool = False) -> Page[InboxTask]:
    """The open tasks this person may work (a citizen's own cases; staff: their roles' lanes)."""
    return services.queries.open_tasks(**task_filter(actor), newest_first=newest_first, after=after, limit=limit,
                                       total=total)


# The diagrams' deletion timers, by their names: what 首页, the contract page and the API call the deadline
# (the 「删除前一晚提醒」 SMS timer waits beside them and falls due earlier).
DELETION_TIMERS = ("合同逾期未签", "签字后逾期未提交")


def home(services: Services, actor: Actor) -> HomePage:
    contracts = my_contracts(services, actor)
    orders = {o.contract_id: o for o in services.session.scalars(
        sa.select(ESignOrder).where(ESignOrder.contract_id.in_([c.id for c in contracts])).order_by(ESignOrder.id))}
    deadlines = services.queries.deadlines((c.contract_no for c in contracts), DELETION_TIMERS)
    return HomePage(contracts, orders, todo(services, actor), deadlines)


def contract_deadlines(services: Services, contracts: list[Contract]) -> dict[str, datetime]:
    """Contract no → its deletion time, from the diagram's waiting timer (contracts past it have none)."""
    return services.queries.deadlines((c.contract_no for c in contracts), DELETION_TIMERS)


def start_flow(services: Services, actor: Actor, process_id: str) -> StepResult:
    if process_id not in STARTABLE or not actor.is_citizen:
        raise NotFound(f"没有可以发起的业务「{process_id}」")
    return services.engine.start(process_id, actor.ref, business_key=APPLICATION_KEY_PREFIX + uuid4().hex)


def contract_key(key: str | None) -> str | None:
    """The contract number a business key names, or None for an application with no contract yet."""
    return key if key and not key.startswith(APPLICATION_KEY_PREFIX) else None


def _withdrawable(task: InboxTask) -> bool:
    return task.bpmn_id in WITHDRAW_AT.get(task.process_id, ()) or task.bpmn_id in WITHDRAW_BY_FORM


def todo(services: Services, actor: Actor, *, overdue: bool = False) -> list[TodoItem]:
    """待办: each open task with its home (坐落, or the certificate number typed so far) and contract number;
    ``overdue``: only the tasks past their due time (「已逾期」)."""
    tasks = list(my_tasks(services, actor, limit=200))
    if overdue:
        now = utcnow()
        tasks = [t for t in tasks if t.due_at is not None and t.due_at < now]
    numbers = {k for k in (contract_key(t.business_key) for t in tasks) if k}
    found = sa.select(Contract).where(Contract.contract_no.in_(numbers)).options(selectinload(Contract.home))
    contracts = {c.contract_no: c for c in services.session.scalars(found)} if numbers else {}
    items = []
    for task in tasks:
        contract = contracts.get(task.business_key or "")
        home = contract.home.location if contract is not None else _home_of_application(services, task)
        items.append(TodoItem(task, home, contract.contract_no if contract else None, _withdrawable(task)))
    return items


def _home_of_application(services: Services, task: InboxTask) -> str | None:
    """Before a contract exists the home is only in the task's data: the verified home, or what was typed."""
    workflow = services.engine.load_workflow(task.instance_id)
    spiff_task = workflow.get_task_from_id(UUID(task.id))
    data = dict(spiff_task.data) if spiff_task is not None else {}
    property_id = (data.get("verification") or {}).get("property_id")
    home = services.session.get(RegistryProperty, property_id) if property_id else None
    if home is not None:
        return home.location
    return data.get("certificate_no") or data.get("unit_no") or None


def refusal_reason(services: Services, actor: Actor, result: StepResult) -> str | None:
    """Why an application ended without going on (赠与, 土地, someone else's home, a live contract),
    in the words the flow recorded; None when it did not end or is not the actor's."""
    if not result.end_event or services.queries.started_by(result.instance_id) != actor.ref:
        return None
    workflow = services.engine.load_workflow(result.instance_id)
    data = max(workflow.get_tasks(), key=lambda t: t.last_state_change).data
    verification = data.get("verification") or {}
    created = data.get("contract") if isinstance(data.get("contract"), dict) else {}
    if verification.get("message"):
        return verification["message"]
    if created.get("message"):
        return created["message"]
    business_type = data.get("business_type")
    if business_type and business_type != "存量房买卖":
        return f"{business_type}：{OUT_OF_SCOPE}"
    return None


def withdraw(services: Services, actor: Actor, task_id: str) -> str:
    """「撤回申请」 from 待办: the diagram's boundary event ends the application (audited in its path);
    a contract already created is deleted with the reason 「申请人撤回」 by the diagram's own step."""
    task, _ = task_for(services.queries, actor, task_id)
    if task.bpmn_id in WITHDRAW_BY_FORM:
        services.engine.complete_task(task.id, WITHDRAW_BY_FORM[task.bpmn_id], actor.ref)
        return "申请已撤回"
    if not _withdrawable(task) or not task.business_key:
        raise Refused(f"「{task.name}」这一步不能撤回申请")
    return _send_withdrawal(services, actor, task.instance_id, task.business_key)


def withdraw_cancellation(services: Services, actor: Actor, contract_no: str) -> str:
    """「撤回注销申请」 from the contract page, also while the parties are signing (no task is open then)."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    instance_id = contract.cancellation_instance_id
    if not contract.cancelling or instance_id is None or services.queries.started_by(instance_id) != actor.ref:
        raise Refused("没有您可以撤回的注销申请")
    open_tasks = list(services.queries.open_tasks(instance_id=instance_id, limit=10))
    for task in open_tasks:
        if task.bpmn_id in WITHDRAW_BY_FORM:
            return withdraw(services, actor, task.id)
    signed = services.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.instance_id == instance_id, ESignOrder.status == ORDER_SIGNED)).first()
    if signed is not None:
        raise Refused("全部当事人已签字，注销申请不能撤回，请提交")
    return _send_withdrawal(services, actor, instance_id, contract.contract_no)


def _send_withdrawal(services: Services, actor: Actor, instance_id: int, business_key: str) -> str:
    # One key per instance: a second click is the same message, ignored.
    services.engine.deliver_message(WITHDRAW_MESSAGE, business_key, {"by": actor.ref}, f"withdraw:{instance_id}")
    services.session.expire_all()
    instance = services.queries.instance(instance_id)
    if instance is None or instance.status != "completed":
        raise Refused("申请正在处理中，暂不能撤回，请刷新后重试")
    return "申请已撤回"


def contract_page(services: Services, actor: Actor, contract_no: str, *, with_qr: bool = False) -> ContractPage:
    """「生成电子合同订单」 progress, the QR codes while the order waits, the parties' open tasks here."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    order = services.session.scalars(sa.select(ESignOrder).where(ESignOrder.contract_id == contract.id)
                                     .order_by(ESignOrder.id.desc())).first()
    tasks = [t for t in services.queries.open_tasks(roles=CITIZEN_ROLES, started_by=actor.ref,
                                                    business_key=contract.contract_no, limit=50)]
    page = ContractPage(contract, order, tasks, is_owner=contract.created_by == actor.account_id,
                        deadline=services.queries.deadlines([contract.contract_no], DELETION_TIMERS)
                        .get(contract.contract_no))
    flow_id = contract.cancellation_instance_id if contract.cancelling else (
        contract.instance_id if contract.status in (DRAFT, SUBMITTED) else None)
    flow = services.queries.instance(flow_id) if flow_id is not None else None
    page.paused = flow is not None and flow.status == InstanceStatus.SUSPENDED
    if with_qr and order is not None and order.status == ORDER_WAITING:
        # A signing token is as good as the party's signature: each person sees only their own.
        urls = [(s, services.adapters.esign.signing_url(s.token)) for s in order.signatures if _is_actor(actor, s)]
        page.codes = [(s, qr_data_uri(url), url) for s, url in urls]
    return page


def signing_status(services: Services, actor: Actor, contract_no: str) -> dict:
    """What the contract page polls while the parties sign: the contract's and the order's status, each
    party's signature status (no ID numbers), and the actor's open tasks here (「提交」 once all signed)."""
    page = contract_page(services, actor, contract_no)
    order = page.order
    return {
        "contract_no": page.contract.contract_no, "status": page.contract.display_status,
        "order": None if order is None else {
            "order_no": order.order_no, "purpose": order.purpose, "status": order.status,
            "signatures": [{"side": s.party.side, "name": s.party.name, "status": s.status} for s in order.signatures]},
        "all_signed": order is not None and order.status == ORDER_SIGNED,
        "tasks": [{"id": t.id, "name": t.name} for t in page.tasks],
    }


def signed_contract(services: Services, actor: Actor, contract_no: str) -> tuple[str, bytes]:
    """The signed contract of a party's filed contract, as (file name, PDF): 备案编号, 备案日期, each
    party's signature of the order, the terms and the next step (不动产转移登记)."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    order = services.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.contract_id == contract.id, ESignOrder.purpose == "签约", ESignOrder.status == ORDER_SIGNED)
        .order_by(ESignOrder.id.desc())).first()
    if contract.status != FILED or order is None:
        raise Refused(f"合同{contract.contract_no}当前状态为「{contract.display_status}」，"
                      "只有线上签约且状态为「已签约」的合同可以下载已签约的合同")
    return f"contract-{contract.contract_no}.pdf", signed_contract_pdf(contract, order)


def _is_actor(actor: Actor, signature: ESignSignature) -> bool:
    party = signature.party
    if party.account_id is not None and party.account_id == actor.account_id:
        return True
    return bool(actor.id_number) and comparable_id(party.id_number) == comparable_id(actor.id_number or "")


def cancel_order(services: Services, actor: Actor, contract_no: str) -> None:
    """「注销电子合同订单」: a message naming the order to the waiting instance; the diagram decides what
    follows. Cancel and the last signature may race: the order, read after the step, says which won
    (cancelled: returns; fully signed: refused with the guide's words), and a request no instance took
    in is discarded at once, so it can never cancel a later order of this contract."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    require_contract_owner(actor, contract)
    order = services.session.scalars(sa.select(ESignOrder).where(ESignOrder.contract_id == contract.id)
                                     .order_by(ESignOrder.id.desc())).first()
    if order is not None and order.status == ORDER_SIGNED:
        raise Refused("订单已经完成签字，不能注销，请提交")
    if order is None or order.status != ORDER_WAITING:
        raise Refused("没有可注销的电子合同订单")
    order_no = order.order_no
    services.engine.deliver_message("esign_order_cancel", contract.contract_no,
                                    {"by": actor.ref, "order_no": order_no}, f"cancel-order:{order_no}", keep=False)
    services.session.expire_all()
    status = services.session.scalars(sa.select(ESignOrder.status).where(ESignOrder.order_no == order_no)).one()
    if status == ORDER_SIGNED:
        raise Refused("订单已经完成签字，不能注销，请提交")
    if status != ORDER_CANCELLED:
        raise Refused(f"电子合同订单状态为「{status}」，未能注销；请刷新页面后查看")


def start_online_cancellation(services: Services, actor: Actor, contract_no: str) -> StepResult:
    """「存量房合同注销线上」: start the flow and name the contract; the diagram checks whether it may.

    One cancellation at a time: refused here when one already runs (a stale page, the API), and
    the flow's own check (a conditional update of the contract) settles two starts at the same moment.
    """
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    if contract.cancelling:
        raise Refused(cancellation_busy(contract.contract_no))
    engine = services.engine
    started = engine.start("online_cancellation", actor.ref)
    result = engine.complete_task(started.ready_tasks[0]["id"], {"contract_no": contract.contract_no}, actor.ref)
    services.session.refresh(contract)
    if result.end_event and contract.cancelling and contract.cancellation_instance_id != result.instance_id:
        raise Refused(cancellation_busy(contract.contract_no))  # the other start won the race
    return result
