"""Service-task handlers: the work behind each system step of the diagrams.

Each is ``fn(ctx, **params) -> dict`` and runs inside the engine step's
transaction (and a savepoint); a retry after a failure runs it again, so each
is idempotent: it looks for what an earlier attempt made before making it.
What a handler must know comes from the diagram's service-task parameters
(channel, purpose, kind of cancellation), never from the process id; the
external systems it talks to come from the composition root (``adapters``).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from functools import partial
from typing import TYPE_CHECKING, Callable

from .deadlines import BEIJING, deletion_deadline
from .i18n import N_
from .models import (CANCELLED, DELETED, DRAFT, FILED, LIVE_STATUSES, ORDER_CANCELLED, ORDER_CREATED, ORDER_EXPIRED,
                     ORDER_SIGNED, ORDER_SUPERSEDED, ORDER_WAITING, SUBMITTED, Account, Contract, ContractParty, ContractSequence, DomainError, ESignOrder,
                     ESignSignature, RegistryProperty, normalize_contract_no)
from .signing import MESSAGE as SIGNED_MESSAGE
from .supervision import open_fund_supervision
from .validation import same_person_id

if TYPE_CHECKING:
    from .bootstrap import Adapters

OUT_OF_SCOPE = "房屋赠与、土地买卖等不属于存量房网签的范围，请按不动产登记部门要求办理"
HOME_TAKEN = ("该房屋已有正在办理或已签约的买卖合同，不能重复签订。原合同删除或注销网签备案后，才能重新签订；"
              "如有疑问，请咨询 0760-88363077")


def _live_contract(ctx, property_id) -> Contract | None:
    return ctx.session.scalars(sa.select(Contract).where(
        Contract.property_id == property_id, Contract.status.in_(LIVE_STATUSES))).first()


def _home_taken_message(ctx, contract: Contract, account: Account) -> str:
    """Only the seller's own contract is named: another person's contract stays private."""
    if contract.created_by == account.id:
        return (f"您已为该房屋创建了合同{contract.contract_no}（{contract.status}），请在「首页」继续办理；"
                "如需重新签订，请先删除或注销原合同")
    return HOME_TAKEN


def _starter(ctx) -> Account:
    account = ctx.session.get(Account, int(ctx.instance.started_by))
    if account is None:
        raise DomainError("发起人账号不存在")
    return account


def verify_property(ctx, adapters: "Adapters", query_mode, certificate_no=None, check_code=None, unit_no=None, owner_name=None,
                    first_generation_id=False, business_type="存量房买卖") -> dict:
    """「房源验证」: find the home and check the signed-in seller owns it."""
    account = _starter(ctx)
    registry = adapters.property_registry(ctx.session)
    if query_mode == "姓名+不动产单元号":
        found = registry.by_unit(account.name, unit_no)  # preset and read-only (guide §2.2 (二))
        owner_ok = found is not None and any(
            o["name"] == account.name and same_person_id(account.id_number, o["id_number"], False)
            for o in found.owners)
        not_found = "未查询到房源，请核对权属人姓名和不动产单元号（可向不动产登记部门查询）"
    else:
        found = registry.by_certificate(certificate_no, check_code)
        owner_ok = found is not None and any(
            o["name"] == account.name and same_person_id(account.id_number, o["id_number"], bool(first_generation_id))
            for o in found.owners)
        not_found = "未查询到房源，请核对房产证号或不动产权证号及校验码"
    if found is None:
        return {"found": False, "in_scope": False, "property_id": None, "message": not_found}
    if not owner_ok:
        hint = "" if first_generation_id else "；如果产权证书上的证件号码为一代身份证，请勾选「如果查询房源失败、且房产证上的证件号码为一代身份证」后再查询"
        return {"found": False, "in_scope": False, "property_id": None,
                "message": "产权证书上的权属人与当前登录账号的姓名、证件号码不一致" + hint}
    in_scope = business_type == "存量房买卖" and found.kind == "房屋" and not found.restriction
    message = "" if in_scope else (f"{found.restriction}：{OUT_OF_SCOPE}" if found.restriction else OUT_OF_SCOPE)
    live = _live_contract(ctx, found.id) if in_scope else None
    # The flow's own contract (an administrator reset it to the query) is no other contract: it goes on with it.
    if live is not None and live.instance_id != ctx.instance.id:
        in_scope, message = False, _home_taken_message(ctx, live, account)
    ctx.audit("property_verified", property_id=found.id, in_scope=in_scope)
    return {"found": True, "in_scope": in_scope, "property_id": found.id, "message": message}


def _next_contract_no(ctx) -> str:
    day = ctx.now().astimezone(BEIJING).strftime("%Y%m%d")
    # The day's first two contracts may be numbered at the same moment: create the counter row
    # with ON CONFLICT DO NOTHING (a plain INSERT lost that race with a duplicate key), then lock it.
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    ctx.session.execute(insert(ContractSequence).values(day=day, last=0).on_conflict_do_nothing())
    sequence = ctx.session.get(ContractSequence, day, with_for_update=True, populate_existing=True)
    sequence.last += 1
    return f"ZS{day}{sequence.last:05d}"


def create_contract(ctx, property_id, channel="线上") -> dict:
    """A draft contract for the verified home, its sellers taken from the registry."""
    existing = ctx.session.scalars(sa.select(Contract).where(Contract.instance_id == ctx.instance.id)).first()
    if existing is not None:
        ctx.set_business_key(existing.contract_no)
        return existing.summary()
    home = ctx.session.get(RegistryProperty, property_id)
    account = _starter(ctx)
    # Verified moments ago, but another start may have taken the home since (the index decides).
    live = _live_contract(ctx, home.id)
    if live is not None:
        return {"id": None, "created": False, "message": _home_taken_message(ctx, live, account)}
    now = ctx.now()
    contract = Contract(contract_no=_next_contract_no(ctx), instance_id=ctx.instance.id, property_id=home.id,
                        channel=channel, status=DRAFT, created_by=account.id, created_at=now, updated_at=now,
                        deletion_deadline=deletion_deadline(now))
    for position, owner in enumerate(home.owners, start=1):
        is_starter = owner["name"] == account.name
        contract.parties.append(ContractParty(
            side="卖方", position=position, name=owner["name"], id_type=owner.get("id_type", "居民身份证"),
            id_number=account.id_number if is_starter else owner["id_number"],
            share=owner.get("share"), account_id=account.id if is_starter else None))
    try:
        with ctx.session.begin_nested():
            ctx.session.add(contract)
            ctx.session.flush()
    except IntegrityError:
        # A concurrent start created the home's contract between our check and our insert.
        if ctx.session.scalar(sa.select(sa.func.count()).select_from(Contract).where(
                Contract.property_id == home.id, Contract.status.in_(LIVE_STATUSES))):
            return {"id": None, "created": False, "message": HOME_TAKEN}
        raise
    ctx.set_business_key(contract.contract_no)
    ctx.audit("contract_created", contract_no=contract.contract_no, deadline=contract.deletion_deadline.isoformat())
    return contract.summary()


def _contract(ctx, contract_id) -> Contract:
    contract = ctx.session.get(Contract, contract_id)
    if contract is None:
        raise DomainError(f"合同{contract_id}不存在")
    return contract


def submit_contract(ctx, contract_id) -> dict:
    """「提交」「确定」: the draft is complete and goes to signing (or to the window)."""
    contract = _contract(ctx, contract_id)
    if contract.status == DRAFT:
        missing = [label for label, value in (("买卖合同", contract.price), ("申请人信息", contract.applicant),
                                              ("好差评信息", contract.rating),
                                              ("资金监管信息", contract.fund_supervised),
                                              ("注意事项", contract.notes_acknowledged_at))
                   if value is None]
        if missing or not contract.buyers:
            raise DomainError("以下信息尚未填写完整：" + "、".join(missing or ["买方"]))
        contract.status = SUBMITTED
        contract.submitted_at = ctx.now()
    return contract.summary()


# What an order is for, as the diagrams pass it (and 首页 shows it, translated).
ORDER_PURPOSES = (N_("签约"), N_("注销"))


def create_esign_order(ctx, adapters: "Adapters", contract_id, purpose) -> dict:
    """「生成电子合同订单」: one 粤信签 order, one signature slot per party; ``purpose`` 签约 or 注销."""
    if purpose not in ORDER_PURPOSES:
        raise DomainError(f"电子合同订单的用途「{purpose}」无效，应为「签约」或「注销」（见流程图参数 purpose）")
    contract = _contract(ctx, contract_id)
    open_order = ctx.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.instance_id == ctx.instance.id, ESignOrder.status == ORDER_WAITING)).first()
    if open_order is not None:
        return open_order.summary()
    # A new order on the contract supersedes any older one still waiting: its links and callbacks stop.
    for older in ctx.session.scalars(sa.select(ESignOrder).where(
            ESignOrder.contract_id == contract.id, ESignOrder.status == ORDER_WAITING)):
        older.move_to(ORDER_SUPERSEDED, ctx.now())
        ctx.audit("esign_order_superseded", order_no=older.order_no)
    count = ctx.session.scalar(sa.select(sa.func.count()).select_from(ESignOrder).where(
        ESignOrder.contract_id == contract.id)) or 0
    order = ESignOrder(order_no=f"YXQ{contract.contract_no[2:]}{count + 1:02d}", contract_id=contract.id,
                       instance_id=ctx.instance.id, purpose=purpose, status=ORDER_CREATED, created_at=ctx.now())
    for party in contract.active_parties:
        order.signatures.append(ESignSignature(party_id=party.id, token=adapters.esign.new_token()))
    order.move_to(ORDER_WAITING, ctx.now())  # every party has a slot: the order takes signatures
    ctx.session.add(order)
    ctx.session.flush()
    ctx.audit("esign_order_created", order_no=order.order_no, parties=len(order.signatures))
    # 「请签署」 to every party the order waits for (SMS, after commit).
    ctx.emit("esign_order_waiting", contract_no=contract.contract_no, order_no=order.order_no, purpose=purpose,
             party_ids=[s.party_id for s in order.signatures])
    return order.summary()


def _order(ctx, order_no) -> ESignOrder:
    order = ctx.session.scalars(sa.select(ESignOrder).where(ESignOrder.order_no == order_no)).first()
    if order is None:
        raise DomainError(f"电子合同订单{order_no}不存在")
    return order


def record_signature(ctx, order_no, party_id, signed_order_no=None) -> dict:
    """A party's 「签名成功」 on the order the callback names (``signed_order_no``), which must be this
    flow's current order (``order_no``) and still waiting; anything else is audited and ignored, so a
    message about an old order can never count on a new one. A repeated callback changes nothing."""
    order = _order(ctx, order_no)
    if signed_order_no != order.order_no or not order.waiting:
        ctx.audit("esign_signature_ignored", order_no=order.order_no, order_status=order.status,
                  callback_order_no=signed_order_no, party_id=party_id)
        return order.summary()
    if order.sign(int(party_id), ctx.now()) and order.status == ORDER_SIGNED:
        ctx.emit("esign_order_signed", contract_no=order.contract.contract_no, order_no=order.order_no,
                 purpose=order.purpose, signed_at=order.completed_at)
    return order.summary()


def cancel_esign_order(ctx, order_no, requested_order_no=None) -> dict:
    """「注销电子合同订单」 of the order the request names, only while it waits; the contract can be
    edited again. A request for another order (an old one) is audited and changes nothing."""
    order = _order(ctx, order_no)
    if requested_order_no != order.order_no:
        ctx.audit("esign_cancel_ignored", order_no=order.order_no, requested_order_no=requested_order_no)
        return order.summary()
    if order.status != ORDER_CANCELLED:
        order.move_to(ORDER_CANCELLED, ctx.now())
        if order.purpose == "签约" and order.contract.status == SUBMITTED:
            order.contract.status = DRAFT
        ctx.discard_messages(SIGNED_MESSAGE)  # a callback kept for the cancelled order can never count
    return order.summary()


def delete_contract(ctx, contract_id, reason) -> dict:
    """Mark the contract 已删除 with the reason; the row and its history stay."""
    contract = _contract(ctx, contract_id)
    if contract.status == FILED:
        raise DomainError("已签约的合同不能删除，只能注销网签备案")
    if contract.status != DELETED:
        contract.status = DELETED
        contract.deleted_at = ctx.now()
        contract.deletion_reason = reason
        # Its waiting order expires: the links stop and a late callback is refused.
        for order in ctx.session.scalars(sa.select(ESignOrder).where(
                ESignOrder.contract_id == contract.id, ESignOrder.status.in_((ORDER_CREATED, ORDER_WAITING)))):
            order.move_to(ORDER_EXPIRED, ctx.now())
        # A signature that arrived as the contract went can never count now: nothing may stay kept for it.
        ctx.discard_messages(SIGNED_MESSAGE)
        ctx.audit("contract_deleted", contract_no=contract.contract_no, reason=reason)
        ctx.emit("contract_deleted", contract_no=contract.contract_no, reason=reason, deleted_at=contract.deleted_at)
    return contract.summary()


def file_contract(ctx, contract_id) -> dict:
    """Final 「提交」 after every signature: the contract is 已签约 (signed and filed)."""
    contract = _contract(ctx, contract_id)
    if contract.status != FILED:
        signed = ctx.session.scalars(sa.select(ESignOrder).where(
            ESignOrder.contract_id == contract.id, ESignOrder.status == ORDER_SIGNED,
            ESignOrder.purpose == "签约")).first()
        if contract.channel == "线上" and signed is None:
            raise DomainError("电子合同订单尚未完成签字，不能备案")
        contract.status = FILED
        contract.filed_at = ctx.now()
        # 备案编号: the Beijing day of filing and the contract's row id, unique and never reused.
        contract.filing_no = f"ZSBA{contract.filed_at.astimezone(BEIJING):%Y%m%d}{contract.id:06d}"
        ctx.audit("contract_filed", contract_no=contract.contract_no, filing_no=contract.filing_no)
        ctx.emit("contract_filed", contract_no=contract.contract_no, channel=contract.channel,
                 filed_at=contract.filed_at, filing_no=contract.filing_no)
    return contract.summary()


def record_refusal(ctx, contract_id, reason) -> dict:
    """The window could not accept the case; the reason is kept for the trail and shown to the clerk."""
    ctx.audit("window_refused", contract_id=contract_id, reason=reason)
    contract = ctx.session.get(Contract, contract_id) if contract_id is not None else None
    if contract is not None:
        # A cancellation refused at the window after its check claimed the contract lets it go.
        _release_cancellation(ctx, contract)
    return {"reason": reason, "at": ctx.now().isoformat()}


def check_cancellation(ctx, contract_no, channel, filed_channels=None) -> dict:
    """May this contract be cancelled this way?

    ``filed_channels``: the filing channels a contract may have to be cancelled through this flow, written
    in the diagram (online cancellation: ``["线上"]``, guide §4); without it (versions drawn before the
    parameter), online cancellation takes contracts filed online only and the window takes any."""
    contract = ctx.session.scalars(sa.select(Contract).where(
        Contract.contract_no == normalize_contract_no(contract_no))).first()
    refusal = None
    if contract is None:
        return {"id": None, "contract_no": contract_no, "status": None, "cancellable": False,
                "reason": f"未找到合同编号为{contract_no}的合同"}
    if contract.status != FILED:
        refusal = f"合同状态为「{contract.status}」，只有已签约（已备案）的合同才能注销"
    elif contract.channel not in _filed_channels(channel, filed_channels):
        refusal = (ONLINE_ONLY_REFUSAL if (contract.channel, channel) == ("线下", "线上")
                   else f"该合同为{contract.channel}办理备案，不能{channel}注销")
    elif channel == "线上" and all(p.id_number != _starter(ctx).id_number for p in contract.active_parties):
        refusal = "您不是该合同的当事人，不能申请注销"
    if refusal is None and not _claim_cancellation(ctx, contract):
        refusal = cancellation_busy(contract.contract_no)
    ctx.set_business_key(contract.contract_no)
    return {**contract.summary(), "cancellable": refusal is None, "reason": refusal}


ONLINE_ONLY_REFUSAL = "该合同为线下办理备案，不能线上注销，请买卖双方持有效身份证件到交易中心窗口办理线下注销"


def _filed_channels(channel, filed_channels) -> list:
    if filed_channels is not None:
        return list(filed_channels)
    return ["线上"] if channel == "线上" else ["线上", "线下"]


def cancellation_busy(contract_no: str) -> str:
    return (f"合同{contract_no}正在办理注销（注销中），同一时间只能办理一项注销申请；"
            "请等待该申请办结或撤回后再申请")


def _claim_cancellation(ctx, contract: Contract) -> bool:
    """Make this instance the contract's one running cancellation; False if another holds it.

    A conditional UPDATE, not a read then a write: on PostgreSQL the second of two concurrent
    updates waits for the first, re-reads the row and matches nothing; SQLite has one writer.
    """
    if contract.cancellation_instance_id == ctx.instance.id:
        return True  # a retry of this step
    claimed = ctx.session.execute(
        sa.update(Contract).where(Contract.id == contract.id, Contract.cancellation_instance_id.is_(None))
        .values(cancellation_instance_id=ctx.instance.id).execution_options(synchronize_session=False))
    ctx.session.refresh(contract)
    if claimed.rowcount == 1:
        ctx.audit("cancellation_started", contract_no=contract.contract_no)
        return True
    return False


def _release_cancellation(ctx, contract: Contract) -> None:
    """The cancellation of this instance ended (filed, withdrawn, refused): another may start."""
    if contract.cancellation_instance_id == ctx.instance.id:
        contract.cancellation_instance_id = None


def withdraw_cancellation(ctx, contract_id, reason="申请人撤回") -> dict:
    """「撤回注销申请」: the contract stays 已签约 and may be cancelled again later."""
    contract = _contract(ctx, contract_id)
    for order in ctx.session.scalars(sa.select(ESignOrder).where(
            ESignOrder.instance_id == ctx.instance.id, ESignOrder.status == ORDER_WAITING)):
        order.move_to(ORDER_CANCELLED, ctx.now())
        ctx.discard_messages(SIGNED_MESSAGE)
    if contract.cancellation_instance_id == ctx.instance.id:
        _release_cancellation(ctx, contract)
        ctx.audit("cancellation_withdrawn", contract_no=contract.contract_no, reason=reason)
    return {**contract.summary(), "cancellable": False, "reason": reason}


def cancel_filing(ctx, contract_id, reason, channel) -> dict:
    """「提交」 after every party signed the cancellation (线上) or the reviewer approved it (线下): 已注销."""
    contract = _contract(ctx, contract_id)
    if contract.status != CANCELLED:
        if contract.status != FILED:
            raise DomainError(f"合同状态为「{contract.status}」，不能注销")
        if channel == "线上":
            signed = ctx.session.scalars(sa.select(ESignOrder).where(
                ESignOrder.instance_id == ctx.instance.id, ESignOrder.status == ORDER_SIGNED,
                ESignOrder.purpose == "注销")).first()
            if signed is None:
                raise DomainError("注销的电子合同订单尚未完成签字，不能提交")
        contract.status = CANCELLED
        contract.cancelled_at = ctx.now()
        contract.cancellation_reason = reason
        _release_cancellation(ctx, contract)
        ctx.audit("contract_cancelled", contract_no=contract.contract_no, reason=reason)
        ctx.emit("contract_cancelled", contract_no=contract.contract_no, channel=channel, reason=reason,
                 cancelled_at=contract.cancelled_at)
    return {**contract.summary(), "cancellable": False, "reason": None}


def remind_deletion(ctx, contract_id) -> dict:
    """The evening before an unsigned contract's deletion: its parties are reminded (SMS via the outbox).
    Nothing is sent for a contract no longer a draft or submitted, or whose deadline has passed."""
    contract = _contract(ctx, contract_id)
    # After downtime the reminder may fire with the deadline already past: nothing to remind of then.
    due = contract.status in (DRAFT, SUBMITTED) and ctx.now() < contract.deletion_deadline
    if due:
        ctx.emit("contract_deletion_reminder", contract_no=contract.contract_no,
                 deadline=contract.deletion_deadline)
        ctx.audit("deletion_reminder_sent", contract_no=contract.contract_no)
    return {"reminded": due}


def notify_overdue(ctx, task, role) -> dict:
    """A staff task is past its due time (a non-interrupting timer in the diagram): whoever claimed it is
    told, or, unclaimed, everyone of its role (SMS via the outbox). The task stays where it is."""
    from engine.models import InboxTask

    row = ctx.session.scalars(sa.select(InboxTask).where(
        InboxTask.instance_id == ctx.instance.id, InboxTask.name == task, InboxTask.state == "READY")).first()
    assignee = row.assignee if row is not None else None
    ctx.emit("task_overdue", task=task, role=role, assignee=assignee,
             due_at=row.due_at if row is not None else None)
    ctx.audit("task_overdue_notified", task=task, assignee=assignee)
    return {"task": task, "assignee": assignee}


SERVICES: dict[str, Callable[..., dict]] = {
    "verify_property": verify_property,
    "create_contract": create_contract,
    "submit_contract": submit_contract,
    "create_esign_order": create_esign_order,
    "record_signature": record_signature,
    "cancel_esign_order": cancel_esign_order,
    "delete_contract": delete_contract,
    "file_contract": file_contract,
    "record_refusal": record_refusal,
    "check_cancellation": check_cancellation,
    "cancel_filing": cancel_filing,
    "withdraw_cancellation": withdraw_cancellation,
    "open_fund_supervision": open_fund_supervision,
    "remind_deletion": remind_deletion,
    "notify_overdue": notify_overdue,
}
# Handlers that talk to an external system get the adapters bound at start-up.
USES_ADAPTERS = {"verify_property", "create_esign_order", "open_fund_supervision"}


def bound_services(adapters: "Adapters") -> dict[str, Callable[..., dict]]:
    return {operator: partial(fn, adapters=adapters) if operator in USES_ADAPTERS else fn
            for operator, fn in SERVICES.items()}
