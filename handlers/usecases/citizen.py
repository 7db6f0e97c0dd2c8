"""What a citizen does on the portal: see their contracts and tasks, start a flow, manage the
e-contract order, ask for an online cancellation."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from engine import Page, StepResult
from engine.models import InboxTask

from ..bootstrap import Services
from ..models import (ORDER_CANCELLED, ORDER_SIGNED, ORDER_WAITING, Contract, ESignOrder, ESignSignature,
                      normalize_contract_no)
from ..qr import qr_data_uri
from ..validation import comparable_id
from .errors import Invalid, NotFound, Refused
from .policy import CITIZEN_ROLES, Actor, contract_for, require_contract_owner, task_filter, visible_contracts

# The flows a citizen may start from the home page, with their names on the buttons.
STARTABLE = {"online_signing": "签订买卖合同线上", "offline_signing": "签订买卖合同线下"}


@dataclass
class HomePage:
    contracts: list[Contract]
    orders: dict[int, ESignOrder]  # contract id → its latest order
    tasks: list[InboxTask]


@dataclass
class ContractPage:
    contract: Contract
    order: ESignOrder | None
    tasks: list[InboxTask]
    is_owner: bool
    codes: list[tuple[ESignSignature, str]] = field(default_factory=list)  # the actor's own QR code(s)


def my_contracts(services: Services, actor: Actor) -> list[Contract]:
    return list(services.session.scalars(visible_contracts(actor).order_by(Contract.id.desc())))


def my_contracts_page(services: Services, actor: Actor, *, after: str | None = None,
                      limit: int = 50) -> Page[Contract]:
    """My contracts, newest first, a keyset page at a time (the cursor is the last contract's id)."""
    query = visible_contracts(actor)
    if after:
        if not after.isdigit():
            raise Invalid("分页参数无效，请从第一页重新查看", {"after": ["分页参数无效"]})
        query = query.where(Contract.id < int(after))
    rows = list(services.session.scalars(query.order_by(Contract.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None)


def my_tasks(services: Services, actor: Actor, *, after: str | None = None, limit: int = 50,
             newest_first: bool = True) -> Page[InboxTask]:
    """The open tasks this person may work (a citizen's own cases; staff: their roles' lanes)."""
    return services.queries.open_tasks(**task_filter(actor), newest_first=newest_first, after=after, limit=limit)


def home(services: Services, actor: Actor) -> HomePage:
    contracts = my_contracts(services, actor)
    orders = {o.contract_id: o for o in services.session.scalars(
        sa.select(ESignOrder).where(ESignOrder.contract_id.in_([c.id for c in contracts])).order_by(ESignOrder.id))}
    return HomePage(contracts, orders, list(my_tasks(services, actor, limit=200)))


def start_flow(services: Services, actor: Actor, process_id: str) -> StepResult:
    if process_id not in STARTABLE or not actor.is_citizen:
        raise NotFound(f"没有可以发起的业务「{process_id}」")
    return services.engine.start(process_id, actor.ref)


def contract_page(services: Services, actor: Actor, contract_no: str, *, with_qr: bool = False) -> ContractPage:
    """「生成电子合同订单」 progress, the QR codes while the order waits, the parties' open tasks here."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    order = services.session.scalars(sa.select(ESignOrder).where(ESignOrder.contract_id == contract.id)
                                     .order_by(ESignOrder.id.desc())).first()
    tasks = [t for t in services.queries.open_tasks(roles=CITIZEN_ROLES, started_by=actor.ref,
                                                    business_key=contract.contract_no, limit=50)]
    page = ContractPage(contract, order, tasks, is_owner=contract.created_by == actor.account_id)
    if with_qr and order is not None and order.status == ORDER_WAITING:
        # A signing token is as good as the party's signature: each person sees only their own.
        page.codes = [(s, qr_data_uri(services.adapters.esign.signing_url(s.token)))
                      for s in order.signatures if _is_actor(actor, s)]
    return page


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
    """「存量房合同注销线上」: start the flow and name the contract; the diagram checks whether it may."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    engine = services.engine
    started = engine.start("online_cancellation", actor.ref)
    return engine.complete_task(started.ready_tasks[0]["id"], {"contract_no": contract.contract_no}, actor.ref)
