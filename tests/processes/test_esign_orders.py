"""The e-contract order as a state machine: a callback counts only on the order it names while that order
waits; cancel and the last signature have one outcome, the one the seller is told; nothing stale stays kept."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from engine.models import Message
from handlers import services as handlers_services
from handlers.models import (ORDER_CANCELLED, ORDER_CREATED, ORDER_EXPIRED, ORDER_SIGNED, ORDER_SUPERSEDED,
                             ORDER_WAITING, Contract, DomainError, ESignOrder, ESignSignature)
from handlers.usecases import Actor, Conflict, Refused, citizen, esign, tasks

from . import flows
from .flows import contract_form

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def actor(services, name: str) -> Actor:
    from handlers.models import Account
    return Actor.of(services.session.scalars(sa.select(Account).where(Account.name == name)).one())


def complete(services, who: Actor, name: str, data: dict):
    [task] = [t for t in citizen.my_tasks(services, who) if t.name == name]
    return tasks.complete_task(services, who, task.id, data)


def draft_and_order(services, seller: Actor, **overrides):
    for name, data in (("填写买卖合同", contract_form(**overrides)),
                       ("填写申请人信息", {"applicant_name": "张伟", "applicant_phone": "13800001111"}),
                       ("填写好差评信息", {"rating_level": "非常满意"}),
                       ("填写资金监管信息", {"fund_supervised": False}),
                       ("确认注意事项", {"acknowledged": True}), ("提交合同", {"confirmed": True}),
                       ("生成电子合同订单", {})):
        complete(services, seller, name, data)
    return latest_order(services)


def to_order(services, seller: Actor) -> ESignOrder:
    citizen.start_flow(services, seller, "online_signing")
    complete(services, seller, "选择业务类型", {"business_type": "存量房买卖"})
    complete(services, seller, "查询房源", {"query_mode": "证书号", "check_code": "482916",
                                          "certificate_no": "粤（2023）中山市不动产权第0012345号"})
    complete(services, seller, "确认房源", {})
    return draft_and_order(services, seller)


def latest_order(services) -> ESignOrder:
    services.session.expire_all()
    return services.session.scalars(sa.select(ESignOrder).order_by(ESignOrder.id.desc())).first()


def callback(services, signature: ESignSignature) -> tuple[bytes, str]:
    return services.adapters.esign.signed_callback(signature.order.order_no, signature.party_id, signature.token,
                                                   NOW.isoformat())


def kept_messages(services) -> list[Message]:
    services.session.expire_all()
    return list(services.session.scalars(sa.select(Message).where(Message.consumed_at.is_(None))))


def test_a_callback_for_a_cancelled_order_is_refused_and_never_counts_on_the_next(services):
    seller = actor(services, "张伟")
    first = to_order(services, seller)
    buyer_signature = next(s for s in first.signatures if s.party.side == "买方")
    old_callback = callback(services, buyer_signature)  # signed on the phone, delivered late
    citizen.cancel_order(services, seller, first.contract.contract_no)
    assert latest_order(services).status == ORDER_CANCELLED
    with pytest.raises(Conflict) as refused:
        esign.receive_callback(services, *old_callback)
    assert refused.value.status == 409 and "已注销" in refused.value.message
    assert kept_messages(services) == []
    complete(services, seller, "选择修改或删除", {"after_cancel_action": "修改合同"})
    second = draft_and_order(services, seller, price="1490000")
    assert second.order_no != first.order_no
    assert [s.status for s in second.signatures] == ["待签字", "待签字"]
    with pytest.raises(Conflict):  # and again, now that a new order waits
        esign.receive_callback(services, *old_callback)
    assert [s.status for s in latest_order(services).signatures] == ["待签字", "待签字"]


def test_a_cancelled_orders_link_stops_at_its_first_page(services):
    seller = actor(services, "张伟")
    order = to_order(services, seller)
    token = next(s.token for s in order.signatures if s.party.side == "买方")
    citizen.cancel_order(services, seller, order.contract.contract_no)
    page = esign.signing_page(services, token)
    assert page.closed is not None and "已注销" in page.closed and not page.signed
    with pytest.raises(Refused, match="已注销"):
        esign.sign(services, page)


def test_cancel_losing_to_the_last_signature_tells_the_truth_and_leaves_nothing_kept(services, monkeypatch):
    seller = actor(services, "张伟")
    order = to_order(services, seller)
    contract_no = order.contract.contract_no
    for signature in order.signatures[:-1]:
        esign.receive_callback(services, *callback(services, signature))
    last = callback(services, order.signatures[-1])
    deliver = services.engine.deliver_message

    def last_signature_first(name, *args, **kwargs):
        if name == "esign_order_cancel":  # the last party finishes on the phone a moment before
            esign.receive_callback(services, *last)
        return deliver(name, *args, **kwargs)

    monkeypatch.setattr(services.engine, "deliver_message", last_signature_first)
    with pytest.raises(Refused, match="订单已经完成签字，不能注销，请提交"):
        citizen.cancel_order(services, seller, contract_no)
    monkeypatch.undo()
    assert latest_order(services).status == ORDER_SIGNED
    assert kept_messages(services) == []
    # The contract is filed; an online cancellation of it gets an order that the old request cannot touch.
    complete(services, seller, "提交", {"confirmed": True})
    citizen.start_online_cancellation(services, seller, contract_no)
    complete(services, seller, "录入注销原因", {"cancellation_reason": "双方协商一致解除合同", "confirmed": True})
    complete(services, seller, "生成电子合同订单", {})
    cancellation = latest_order(services)
    assert cancellation.purpose == "注销" and cancellation.status == ORDER_WAITING


def test_a_cancel_for_another_order_is_audited_and_changes_nothing(harness, accounts):
    seller = accounts["张伟"]
    case = flows.to_signing(harness, seller)
    order_no = flows.open_order(harness, case).order_no
    assert case.send("esign_order_cancel", {"by": str(seller.id), "order_no": "YXQ-OLD"},
                     idempotency_key="stale-cancel") is True
    assert flows.open_order(harness, case).status == ORDER_WAITING
    assert "esign_cancel_ignored" in [e.kind for e in harness.engine.queries.audit(instance_id=case.id)]
    # The flow still waits for this order's signatures (not 「选择修改或删除」), and they complete it.
    assert case.current_tasks() == []
    flows.sign_all(harness, case)
    assert flows.open_order(harness, case).order_no == order_no and case.current_tasks() == ["提交"]


# ---------------------------------------------------------------- the state machine itself

def test_impossible_transitions_are_refused_in_chinese():
    order = ESignOrder(order_no="YXQ1", status=ORDER_CREATED)
    with pytest.raises(DomainError, match="不能变为「订单已经完成签字」"):
        order.move_to(ORDER_SIGNED, NOW)
    order.move_to(ORDER_WAITING, NOW)
    order.move_to(ORDER_SIGNED, NOW)
    assert order.completed_at == NOW
    with pytest.raises(DomainError, match="订单已经完成签字，不能注销，请提交"):
        order.move_to(ORDER_CANCELLED, NOW)
    for end in (ORDER_CANCELLED, ORDER_EXPIRED, ORDER_SUPERSEDED):
        ended = ESignOrder(order_no="YXQ2", status=ORDER_WAITING)
        ended.move_to(end, NOW)
        assert ended.closed_message and ended.cancelled_at == NOW
        with pytest.raises(DomainError):
            ended.move_to(ORDER_WAITING, NOW)


def _ctx(services, instance_id):
    audits, discarded, emitted = [], [], []
    return SimpleNamespace(session=services.session, instance=SimpleNamespace(id=instance_id), now=lambda: NOW,
                           audit=lambda kind, **data: audits.append(kind), audits=audits,
                           emit=lambda kind, **data: emitted.append(kind), emitted=emitted,
                           discard_messages=lambda name: discarded.append(name) or 0, discarded=discarded)


def test_a_new_order_supersedes_a_waiting_one_and_deleting_the_contract_expires_it(services):
    seller = actor(services, "张伟")
    first = to_order(services, seller)
    contract_id, first_no = first.contract_id, first.order_no
    ctx = _ctx(services, instance_id=first.instance_id + 1000)  # another flow on the same contract
    made = handlers_services.create_esign_order(ctx, adapters=services.adapters, contract_id=contract_id,
                                                purpose="签约")
    session = services.session
    assert session.scalars(sa.select(ESignOrder.status).where(ESignOrder.order_no == first_no)).one() \
        == ORDER_SUPERSEDED
    assert made["status"] == ORDER_WAITING and "esign_order_superseded" in ctx.audits
    handlers_services.delete_contract(ctx, contract_id=contract_id, reason="测试")
    assert ctx.discarded == ["esign_party_signed"]  # a signature kept for the expired order can never count
    assert session.scalars(sa.select(ESignOrder.status).where(ESignOrder.order_no == made["order_no"])).one() \
        == ORDER_EXPIRED
    assert session.get(Contract, contract_id).status == "已删除"
    session.rollback()


def test_cancel_and_the_last_signature_racing_in_threads_have_one_outcome(services):
    import threading
    seller = actor(services, "张伟")
    order = to_order(services, seller)
    contract_no, order_no = order.contract.contract_no, order.order_no
    for signature in order.signatures[:-1]:
        esign.receive_callback(services, *callback(services, signature))
    last = callback(services, order.signatures[-1])
    last_party = order.signatures[-1].party_id
    services.session.rollback()
    barrier, outcome = threading.Barrier(2), {}

    def run(name, action):
        barrier.wait()
        try:
            outcome[name] = action()
        except (Refused, Conflict) as err:
            outcome[name] = err
        finally:
            services.end_session()

    threads = [threading.Thread(target=run, args=("sign", lambda: esign.receive_callback(services, *last))),
               threading.Thread(target=run, args=("cancel", lambda: citizen.cancel_order(services, seller,
                                                                                         contract_no)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    final = latest_order(services)
    assert final.order_no == order_no
    if final.status == ORDER_SIGNED:  # signing won: the seller is told so, and no cancel request is left
        assert isinstance(outcome["cancel"], Refused) and "订单已经完成签字，不能注销，请提交" in outcome["cancel"].message
        assert kept_messages(services) == []
    else:  # cancelling won: the seller is told so, and the late signature counted nowhere
        assert final.status == ORDER_CANCELLED and outcome["cancel"] is None
        assert {s.party_id: s.status for s in final.signatures}[last_party] == "待签字"
        assert all(m.name != "esign_order_cancel" for m in kept_messages(services))


def refused_callbacks(services) -> list[dict]:
    from engine.models import AuditEvent
    services.session.expire_all()
    return [e.details for e in services.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.kind == "esign_callback_refused").order_by(AuditEvent.id))]


def test_refused_callbacks_leave_an_audit_row(services):
    from handlers.usecases import Unauthenticated
    seller = actor(services, "张伟")
    order = to_order(services, seller)
    body, _ = callback(services, order.signatures[0])
    with pytest.raises(Unauthenticated):
        esign.receive_callback(services, body, "00" * 32)
    [forged] = refused_callbacks(services)
    assert forged["reason"] == "签名无效" and forged["bytes"] == len(body)
    old_callback = callback(services, order.signatures[0])
    citizen.cancel_order(services, seller, order.contract.contract_no)
    with pytest.raises(Conflict):
        esign.receive_callback(services, *old_callback)
    stale = refused_callbacks(services)[-1]
    assert order.order_no in stale["reason"] and "已注销" in stale["reason"]
    assert kept_messages(services) == []
