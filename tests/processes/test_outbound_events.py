"""Business events leave through the outbox: written in the step's own transaction, delivered after commit
(here to the sandbox SMS gateway), never written by a step that rolls back; the evening-before reminder is
a timer in the diagram and its text reaches the parties' phones."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.models import OutboundDelivery, OutboundEvent
from handlers.models import Contract, SmsMessage

from .flows import contract_of, sign_all, start_and_verify, to_signing

SELLER_PHONE, BUYER_PHONE = "13800001111", "13900005555"


def _events(harness) -> list[str]:
    session = harness.session
    session.expire_all()
    kinds = list(session.scalars(sa.select(OutboundEvent.kind).order_by(OutboundEvent.created_at)))
    session.rollback()
    return kinds


def _sms(harness) -> dict[str, list[str]]:
    session = harness.session
    session.expire_all()
    by_phone: dict[str, list[str]] = {}
    for message in session.scalars(sa.select(SmsMessage).order_by(SmsMessage.id)):
        by_phone.setdefault(message.phone, []).append(message.text)
    session.rollback()
    return by_phone


def test_filing_online_publishes_its_events_and_the_parties_get_their_texts(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False):
        case = to_signing(harness, seller)
        assert _events(harness) == ["esign_order_waiting"]
        assert _sms(harness) == {}  # nothing leaves before the worker delivers
        assert harness.engine.deliver_events() == 1
        texts = _sms(harness)
        assert set(texts) == {SELLER_PHONE, BUYER_PHONE}
        assert "待您签署" in texts[BUYER_PHONE][0] and "查看二维码" in texts[BUYER_PHONE][0]
        assert "2026年11月25日 00:00" in texts[BUYER_PHONE][0]  # the deletion deadline, Beijing time
        sign_all(harness, case)
        case.complete("提交", {"confirmed": True}, actor=str(seller.id))
        assert _events(harness) == ["esign_order_waiting", "esign_order_signed", "contract_filed"]
        harness.engine.deliver_events()
        assert harness.engine.deliver_events() == 0  # each delivery once
    texts = _sms(harness)
    no = contract_of(harness, case).contract_no
    for phone in (SELLER_PHONE, BUYER_PHONE):
        assert len(texts[phone]) == 2
        assert f"合同{no}已签约" in texts[phone][1] and "不动产转移登记" in texts[phone][1]


def test_the_reminder_appears_in_the_sandbox_outbox_when_the_clock_reaches_the_evening_before(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = start_and_verify(harness, seller)
        case.complete("确认房源", {}, actor=str(seller.id))
        clock.move_to(datetime.fromisoformat("2026-11-24T19:59:59+08:00"))
        assert harness.fire_timers() == 0
        harness.engine.deliver_events()
        assert _sms(harness) == {}
        clock.move_to(datetime.fromisoformat("2026-11-24T20:00:00+08:00"))
        assert harness.fire_timers() == 1
        assert case.current_tasks() == ["填写买卖合同"]  # non-interrupting: the seller goes on
        assert harness.engine.deliver_events() == 1
    [text] = _sms(harness)[SELLER_PHONE]
    no = contract_of(harness, case).contract_no
    assert text.startswith("【中山市存量房网签】") and f"合同{no}尚未完成电子签名或备案" in text
    assert "2026年11月25日 00:00自动删除该合同" in text


def test_no_reminder_for_a_contract_filed_before_the_evening(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = to_signing(harness, seller)
        sign_all(harness, case)
        case.complete("提交", {"confirmed": True}, actor=str(seller.id))
        clock.move_to(datetime.fromisoformat("2026-11-24T20:00:00+08:00"))
        assert harness.fire_timers() == 0
    assert "contract_deletion_reminder" not in _events(harness)


def test_a_step_that_rolls_back_writes_no_event(harness, accounts, monkeypatch):
    from engine import projections

    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False):
        case = to_signing(harness, seller)
        sign_all(harness, case)
        before = _events(harness)
        deliveries = harness.session.scalar(sa.select(sa.func.count()).select_from(OutboundDelivery))
        harness.session.rollback()

        def broken(step, now):
            raise RuntimeError("disk full")

        monkeypatch.setattr(projections, "write_audit", broken)
        with pytest.raises(RuntimeError):
            case.complete("提交", {"confirmed": True}, actor=str(seller.id))
        monkeypatch.undo()
        assert _events(harness) == before  # the filing handler emitted, the step rolled back: nothing
        session = harness.session
        assert session.scalar(sa.select(Contract.status).where(Contract.instance_id == case.id)) == "已提交"
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboundDelivery)) == deliveries
        session.rollback()
        case.complete("提交", {"confirmed": True}, actor=str(seller.id))
        assert _events(harness)[-1] == "contract_filed"


def test_a_task_handed_over_is_texted_to_the_colleague_who_gets_it(harness, accounts):
    from .flows import offline_to_window

    seller, clerk1, clerk2 = accounts["张伟"], accounts["窗口受理员甲"], accounts["窗口受理员乙"]
    case = offline_to_window(harness, seller)
    task = case.task("受理并核验身份")
    harness.engine.claim(task.id, str(clerk1.id), ["clerk"])
    harness.engine.hand_over(task.id, str(clerk2.id), str(clerk1.id), ["clerk"])
    assert harness.engine.deliver_events() == 1
    no = contract_of(harness, case).contract_no
    assert _sms(harness) == {"13700000002": [
        f"【中山市存量房网签】窗口受理员甲已将业务「受理并核验身份」（{no}）转交给您办理，请登录存量房网签系统工作台及时处理。"]}


def test_an_online_cancellation_texts_sign_requests_then_cancelled(harness, accounts):
    from .test_cancellation import filed_online, request_online

    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = request_online(harness, seller, contract.contract_no)
    case.complete("录入注销原因", {"cancellation_reason": "双方协商一致解除合同", "confirmed": True}, actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert _events(harness)[-3:] == ["esign_order_waiting", "esign_order_signed", "contract_cancelled"]
    harness.engine.deliver_events()
    texts = _sms(harness)[BUYER_PHONE]
    no = contract.contract_no
    assert "存量房买卖合同注销电子合同订单已生成，待您签署" in texts[-2] and "自动删除" not in texts[-2]
    assert texts[-1] == f"【中山市存量房网签】合同{no}已注销，存量房买卖合同网签备案已注销。如有疑问，请拨打咨询电话 0760-88363077。"


def test_the_deletion_at_the_deadline_is_published(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        start_and_verify(harness, seller).complete("确认房源", {}, actor=str(seller.id))
        clock.move_to(datetime.fromisoformat("2026-11-25T00:00:00+08:00"))
        harness.fire_timers()
    assert _events(harness)[-1] == "contract_deleted"
