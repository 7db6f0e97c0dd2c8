"""What a citizen does on the portal: see their contracts and tasks, start a flow, manage the
e-contract order, ask for an online cancellation."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from engine import Page, StepResult
from engine.models import InboxTask

from ..bootstrap import Services
from ..models import ORDER_WAITING, Contract, ESignOrder, ESignSignature, normalize_contract_no
from ..qr import qr_data_uri
from ..services import cancellation_busy
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
    codes: list[tuple[ESignSignature, str]] = field(default_factory=list)  # QR code per signature


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
        page.codes = [(s, qr_data_uri(services.adapters.esign.signing_url(s.token))) for s in order.signatures]
    return page


def cancel_order(services: Services, actor: Actor, contract_no: str) -> None:
    """「注销电子合同订单」: a message to the waiting instance; the diagram decides what follows."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    require_contract_owner(actor, contract)
    order = services.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.contract_id == contract.id, ESignOrder.status == ORDER_WAITING)).first()
    if order is None:
        raise Refused("没有可注销的电子合同订单")
    services.engine.deliver_message("esign_order_cancel", contract.contract_no, {"by": actor.ref},
                                    f"cancel-order:{order.order_no}")


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
