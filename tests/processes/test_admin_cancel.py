"""An administrator cancels a flow: the contract follows it in the same transaction. A signing flow's unfiled
contract is deleted (the home is free for a new contract, its waiting order stops taking signatures); a
cancellation's claim on a filed contract is let go (the contract is just 已签约 again, and may be cancelled)."""
from __future__ import annotations

import sqlalchemy as sa

from engine.models import AuditEvent, Message
from handlers.models import ORDER_CANCELLED, ORDER_EXPIRED, ORDER_WAITING

from .flows import CERT_ZHANG, contract_of, offline_to_window, open_order, sign, start_and_verify, to_signing
from .test_cancellation import CLERK, contract_of_no, filed_offline, filed_online, intake, request_online

REASON = "当事人申请撤销"


def audit_kinds(harness, instance_id) -> list[str]:
    session = harness.session
    session.expire_all()
    return list(session.scalars(sa.select(AuditEvent.kind).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)))


def test_a_cancelled_drafting_flow_deletes_its_contract_and_frees_the_home(harness, accounts):
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    contract = contract_of(harness, case)
    assert contract.status == "草稿"
    harness.engine.cancel(case.id, "admin", REASON)
    contract = contract_of(harness, case)
    assert contract.status == "已删除" and REASON in contract.deletion_reason and contract.deleted_at is not None
    kinds = audit_kinds(harness, case.id)
    assert kinds.index("instance_cancelled") < kinds.index("contract_deleted")
    # The seller starts again for the same home: not 「房屋已有在办合同」, a new contract.
    again = start_and_verify(harness, seller)
    assert again.current_tasks() == ["确认房源"]
    again.complete("确认房源", {}, actor=str(seller.id))
    assert contract_of(harness, again).status == "草稿"


def test_a_cancelled_signing_flow_stops_its_order(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    order = open_order(harness, case)
    first = order.signatures[0]
    harness.engine.suspend(case.id, "admin", "核查")
    assert sign(harness, first) is True  # kept for the suspended instance
    harness.engine.cancel(case.id, "admin", REASON)
    order = open_order(harness, case)
    assert order.status == ORDER_EXPIRED and contract_of(harness, case).status == "已删除"
    session = harness.session
    kept = session.scalars(sa.select(Message).where(Message.consumed_at.is_(None))).all()
    assert kept == []  # the callback kept for it can never count on anything later
    session.rollback()
    assert start_and_verify(harness, seller).current_tasks() == ["确认房源"]


def test_a_cancelled_offline_signing_deletes_its_contract(harness, accounts):
    seller = accounts["张伟"]
    case = offline_to_window(harness, seller)
    assert contract_of(harness, case).status == "已提交"
    harness.engine.cancel(case.id, "admin", REASON)
    assert contract_of(harness, case).status == "已删除"
    assert start_and_verify(harness, seller).current_tasks() == ["确认房源"]


def test_a_cancelled_online_cancellation_lets_the_contract_go(harness, accounts):
    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = request_online(harness, seller, contract.contract_no)
    case.complete("录入注销原因", {"cancellation_reason": "双方协商一致解除合同", "confirmed": True},
                  actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    assert open_order(harness, case).status == ORDER_WAITING
    assert contract_of_no(harness, contract.contract_no).display_status == "注销中"
    harness.engine.cancel(case.id, "admin", REASON)
    contract = contract_of_no(harness, contract.contract_no)
    assert contract.status == "已签约" and contract.display_status == "已签约"
    assert contract.cancellation_instance_id is None
    assert open_order(harness, case).status == ORDER_CANCELLED
    assert "cancellation_withdrawn" in audit_kinds(harness, case.id)
    # Another cancellation may start now.
    assert request_online(harness, seller, contract.contract_no).current_tasks() == ["录入注销原因"]


def test_a_cancelled_offline_cancellation_lets_the_contract_go(harness, accounts):
    clerk = accounts["窗口受理员甲"]
    contract = filed_offline(harness, accounts)
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    case.complete("受理注销申请", intake(contract.contract_no), actor=str(clerk.id), roles=CLERK)
    assert contract_of_no(harness, contract.contract_no).cancelling
    harness.engine.cancel(case.id, "admin", REASON)
    contract = contract_of_no(harness, contract.contract_no)
    assert contract.status == "已签约" and not contract.cancelling


def test_a_cancelled_application_without_a_contract_changes_no_contract(harness, accounts):
    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = harness.start("online_cancellation", actor=str(seller.id))  # the contract not named yet
    early = harness.start("online_signing", actor=str(seller.id))  # no home verified yet
    harness.engine.cancel(case.id, "admin", REASON)
    harness.engine.cancel(early.id, "admin", REASON)
    contract = contract_of_no(harness, contract.contract_no)
    assert contract.status == "已签约" and contract.cancellation_instance_id is None
    assert "instance_cancelled" in audit_kinds(harness, early.id)
    assert not {"contract_deleted", "cancellation_withdrawn"} & set(audit_kinds(harness, case.id))


def test_a_reset_to_the_home_query_goes_on_with_the_flows_own_contract(harness, accounts):
    """Reset to 「查询房源」 after the contract was created: the check meets the flow's own contract, which is not
    「房屋已有在办合同」 (that ended the flow with its contract left 草稿, the home blocked for ever)."""
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    contract = contract_of(harness, case)
    query = next(p for p in harness.engine.reset_points(case.id) if p["name"] == "查询房源")
    harness.engine.reset(case.id, query["task_id"], "admin", "房源信息需重新查询")
    case.complete("查询房源", CERT_ZHANG, actor=str(seller.id))
    # (Only 「确认房源」 should be open now; the reset of a task inside a call activity leaves the caller's
    # later 「填写买卖合同」 open too, an engine matter of its own.)
    assert case.status == "running" and "确认房源" in case.current_tasks()
    case.complete("确认房源", {}, actor=str(seller.id))
    assert "填写买卖合同" in case.current_tasks()
    assert contract_of(harness, case).id == contract.id and contract_of(harness, case).status == "草稿"
