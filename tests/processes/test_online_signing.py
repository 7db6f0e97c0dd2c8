"""Every path of 「签订买卖合同线上」, as the seller, the buyers and the clock walk it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine import ClosedByTimer, Conflict, FormInvalid
from engine.models import InboxTask
from handlers.models import Contract, DomainError

from .flows import (BUYER_SUN, BUYER_ZHAO, BUYER_ZHOU, contract_of, contract_form, draft, open_order, sign,
                    sign_all, start_and_verify, to_signing)


def test_one_buyer_from_start_to_signed(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    contract = contract_of(harness, case)
    assert contract.status == "已提交"
    assert case.business_key == contract.contract_no and contract.contract_no.startswith("ZS")
    order = open_order(harness, case)
    assert order.status == "已创建订单，待签字" and len(order.signatures) == 2
    sign_all(harness, case)
    assert open_order(harness, case).status == "订单已经完成签字"
    assert case.current_tasks() == ["提交"]
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已签约"
    contract = contract_of(harness, case)
    assert contract.status == "已签约" and contract.filed_at is not None
    assert {t.state for t in case.timers()} == {"cancelled"}  # the drafting deadline and the one before 「提交」


def test_three_buyers_by_shares(harness, accounts):
    seller = accounts["张伟"]
    buyers = [dict(BUYER_ZHAO, share="50"), dict(BUYER_SUN, share="30"), dict(BUYER_ZHOU, share="20")]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    draft(case, seller, buyers, co_ownership="按份共有")
    contract = contract_of(harness, case)
    assert contract.co_ownership == "按份共有"
    assert [(b.name, b.share) for b in contract.buyers] == [
        ("赵敏", Decimal("50")), ("孙磊", Decimal("30")), ("周婷", Decimal("20"))]
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    order = sign_all(harness, case)
    assert len(order.signatures) == 4
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已签约"


@pytest.mark.parametrize("shares, co_ownership, message", [
    (["50", "30", "10"], "按份共有", "份额之和必须等于100%"),
    (["50", "50", "0"], "按份共有", "份额都必须大于0"),
    ([None, None, None], None, "请先选择共有性质"),
])
def test_bad_co_ownership_is_refused_and_changes_nothing(harness, accounts, shares, co_ownership, message):
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    buyers = [dict(b, share=s) for b, s in zip((BUYER_ZHAO, BUYER_SUN, BUYER_ZHOU), shares)]
    with pytest.raises(FormInvalid) as err:
        case.complete("填写买卖合同", contract_form(buyers, co_ownership=co_ownership), actor=str(seller.id))
    assert message in str(err.value.errors)
    assert case.current_tasks() == ["填写买卖合同"]
    assert contract_of(harness, case).buyers == []


def test_bad_buyer_id_names_the_field(harness, accounts):
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    bad = dict(BUYER_SUN, id_number=BUYER_SUN["id_number"][:-1] + ("0" if BUYER_SUN["id_number"][-1] != "0" else "1"))
    with pytest.raises(FormInvalid) as err:
        case.complete("填写买卖合同", contract_form([BUYER_ZHAO, bad], co_ownership="共同共有", price="-5"),
                      actor=str(seller.id))
    errors = err.value.errors
    assert errors["buyers"][1]["id_number"] == ["证件号码校验位错误，请核对号码"]
    assert "成交价格" in errors["price"][0]
    contract = contract_of(harness, case)
    assert contract.price is None and contract.buyers == []


def test_first_generation_id_needs_the_checkbox(harness, accounts):
    seller = accounts["李秀英"]
    query = {"query_mode": "证书号", "certificate_no": "粤(2019)中山市不动产权第0203344号", "check_code": "733105"}
    case = start_and_verify(harness, seller, query)
    assert case.current_tasks() == ["查询房源"]  # back to the query, with the reason
    assert "一代身份证" in case.data()["verification"]["message"]
    case.complete("查询房源", dict(query, first_generation_id=True), actor=str(seller.id))
    assert case.current_tasks() == ["确认房源"]
    case.complete("确认房源", {}, actor=str(seller.id))
    sellers = contract_of(harness, case).sellers
    assert [(s.name, s.id_number) for s in sellers] == [("李秀英", seller.id_number)]


def test_hk_owner_queries_by_name_and_unit_number(harness, accounts):
    seller = accounts["陈家明"]
    query = {"query_mode": "姓名+不动产单元号", "owner_name": "陈家明", "unit_no": "442000005003GB00789F00030301"}
    case = start_and_verify(harness, seller, query)
    assert case.current_tasks() == ["确认房源"]
    # A malformed unit number is refused by the form, before any lookup.
    bad = {"query_mode": "姓名+不动产单元号", "owner_name": "陈家明", "unit_no": "442000005003GB00789X00030301"}
    case2 = harness.start("online_signing", actor=str(seller.id))
    case2.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(seller.id))
    with pytest.raises(FormInvalid) as err:
        case2.complete("查询房源", bad, actor=str(seller.id))
    assert "不动产单元号" in err.value.errors["unit_no"][0]
    assert case2.current_tasks() == ["查询房源"]


def test_gift_and_land_are_refused(harness, accounts):
    seller = accounts["张伟"]
    gift = harness.start("online_signing", actor=str(seller.id))
    gift.complete("选择业务类型", {"business_type": "房屋赠与"}, actor=str(seller.id))
    assert gift.end_event == "不予受理"
    pending_gift = start_and_verify(harness, seller, {
        "query_mode": "证书号", "certificate_no": "粤(2020)中山市不动产权第0098765号", "check_code": "604281"})
    assert pending_gift.end_event == "不予受理"
    assert "赠与" in pending_gift.data()["verification"]["message"]
    land = start_and_verify(harness, seller, {
        "query_mode": "证书号", "certificate_no": "粤(2024)中山市不动产权第0031415号", "check_code": "141592"})
    assert land.end_event == "不予受理"
    assert "土地买卖" in land.data()["verification"]["message"]
    session = harness.session
    assert session.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0


def test_someone_elses_home_is_not_found(harness, accounts):
    case = start_and_verify(harness, accounts["赵敏"])
    assert case.current_tasks() == ["查询房源"]
    assert "不一致" in case.data()["verification"]["message"]


def test_cancel_order_edit_and_sign_again(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    first = open_order(harness, case)
    assert sign(harness, first.signatures[0]) is True  # the seller signed, the buyer not yet
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    assert open_order(harness, case).status == "已注销"
    assert contract_of(harness, case).status == "草稿"
    case.complete("选择修改或删除", {"after_cancel_action": "修改合同"}, actor=str(seller.id))
    draft(case, seller, [BUYER_SUN], price="1490000")
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    second = open_order(harness, case)
    assert second.order_no != first.order_no and second.status == "已创建订单，待签字"
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    contract = contract_of(harness, case)
    assert case.end_event == "已签约" and contract.price == Decimal("1490000.00")
    assert [b.name for b in contract.buyers] == ["孙磊"]


def test_cancel_order_then_delete(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    case.complete("选择修改或删除", {"after_cancel_action": "删除合同"}, actor=str(seller.id))
    assert case.end_event == "合同已删除"
    contract = contract_of(harness, case)
    assert contract.status == "已删除" and "注销电子合同订单" in contract.deletion_reason
    assert harness.session.get(Contract, contract.id) is not None  # never physically removed


BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize("created, deadline", [
    ("2026-11-23T10:00:00+08:00", "2026-11-25T00:00:00+08:00"),
    ("2026-11-23T23:59:59+08:00", "2026-11-25T00:00:00+08:00"),
    ("2026-11-24T00:00:00+08:00", "2026-11-26T00:00:00+08:00"),
])
def test_unsigned_contract_is_deleted_exactly_at_the_deadline(harness, accounts, created, deadline):
    seller = accounts["张伟"]
    due = datetime.fromisoformat(deadline)
    with harness.clock(created, tick=False) as clock:
        case = start_and_verify(harness, seller)
        case.complete("确认房源", {}, actor=str(seller.id))
        # The deadline, and the evening before it the non-interrupting reminder (20:00 Beijing time).
        reminder, timer = sorted(case.timers(), key=lambda t: t.due_at)
        assert timer.due_at == due.astimezone(timezone.utc)
        assert reminder.name == "删除前一晚提醒"
        assert reminder.due_at == (due - timedelta(hours=4)).astimezone(timezone.utc)
        clock.move_to(due - timedelta(seconds=1))
        assert harness.fire_timers() == 1  # the reminder; the contract stays
        assert case.current_tasks() == ["填写买卖合同"]
        clock.move_to(due)
        assert harness.fire_timers() == 1
        assert harness.fire_timers() == 0
    assert case.end_event == "合同已自动删除"
    assert case.current_tasks() == []
    contract = contract_of(harness, case)
    assert contract.status == "已删除" and "下一个自然日" in contract.deletion_reason
    tasks = harness.session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == case.id)).all()
    assert {t.name: t.state for t in tasks}["填写买卖合同"] == "CANCELLED"


def test_timer_missed_during_downtime_fires_on_next_sweep(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = start_and_verify(harness, seller)
        case.complete("确认房源", {}, actor=str(seller.id))
        harness.restart()
        clock.move_to(datetime.fromisoformat("2026-11-27T09:00:00+08:00"))  # down for two days
        assert harness.fire_timers() == 1
    assert case.end_event == "合同已自动删除"


def test_signed_contract_is_not_deleted_once_filed(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = to_signing(harness, seller)
        sign_all(harness, case)
        case.complete("提交", {"confirmed": True}, actor=str(seller.id))
        clock.move_to(datetime.fromisoformat("2026-11-26T00:00:00+08:00"))
        assert harness.fire_timers() == 0
    assert case.end_event == "已签约"
    assert [t.state for t in case.timers()] == ["cancelled", "cancelled", "cancelled"]


def test_signed_but_not_submitted_is_deleted_at_the_deadline(harness, accounts):
    """The guide's deadline covers everything until filing: both signed, nobody clicked 「提交」."""
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = to_signing(harness, seller)
        sign_all(harness, case)
        assert case.current_tasks() == ["提交"]
        waiting = [t for t in case.timers() if t.state == "waiting"]
        assert [t.due_at for t in waiting] == [contract_of(harness, case).deletion_deadline]
        clock.move_to(datetime.fromisoformat("2026-11-24T23:59:59+08:00"))
        assert harness.fire_timers() == 0
        clock.move_to(datetime.fromisoformat("2026-11-25T00:00:00+08:00"))
        assert harness.fire_timers() == 1
    assert case.end_event == "合同已自动删除"
    assert contract_of(harness, case).status == "已删除"
    assert case.current_tasks() == []


def test_a_late_step_after_the_deadline_meets_the_deletion_first(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock("2026-11-23T10:00:00+08:00", tick=False) as clock:
        case = start_and_verify(harness, seller)
        case.complete("确认房源", {}, actor=str(seller.id))
        task = case.task("填写买卖合同")
        clock.move_to(datetime.fromisoformat("2026-11-25T00:00:01+08:00"))  # the worker has not swept yet
        with pytest.raises(ClosedByTimer) as err:
            harness.engine.complete_task(task.id, contract_form(), str(seller.id))
        # Deleted in that same step, and the person is told so; the worker finds nothing left to do.
        assert err.value.message == "已超过办理期限，「合同逾期未签」已处理：合同已自动删除"
        contract = contract_of(harness, case)
        assert contract.price is None and contract.status == "已删除"
        assert case.end_event == "合同已自动删除"
        assert harness.fire_timers() == 0


def test_no_change_after_filing(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    contract = contract_of(harness, case)
    with pytest.raises(DomainError, match="已签约"):
        contract.ensure_editable()
    done = harness.session.scalars(sa.select(InboxTask).where(
        InboxTask.instance_id == case.id, InboxTask.name == "填写买卖合同")).first()
    with pytest.raises(Conflict):
        harness.engine.complete_task(done.id, contract_form([BUYER_SUN]), str(seller.id))
    assert [b.name for b in contract_of(harness, case).buyers] == ["赵敏"]


def test_signature_with_wrong_identity_is_refused(harness, accounts):
    case = to_signing(harness, accounts["张伟"])
    buyer_signature = next(s for s in open_order(harness, case).signatures if s.party.side == "买方")
    with pytest.raises(DomainError, match="微警认证失败"):
        sign(harness, buyer_signature, id_number=BUYER_SUN["id_number"])
    assert open_order(harness, case).summary()["signed"] == 0


def test_repeated_and_early_callbacks(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    order = open_order(harness, case)
    first = order.signatures[0]
    assert sign(harness, first) is True
    assert sign(harness, first) is False  # the same callback again: ignored
    assert open_order(harness, case).summary()["signed"] == 1
    # A message that arrives while the instance does not wait for it is kept; once caught it counts only
    # on the order it names: one for another order is taken in, audited and ignored.
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    case.complete("选择修改或删除", {"after_cancel_action": "修改合同"}, actor=str(seller.id))
    draft(case, seller)
    buyer = next(p for p in contract_of(harness, case).parties if p.side == "买方")
    assert case.send("esign_party_signed", {"order_no": "early", "party_id": buyer.id},
                     idempotency_key="early-1") is True
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    second = open_order(harness, case)
    assert {s.party_id: s.status for s in second.signatures}[buyer.id] == "待签字"
    for signature in second.signatures:
        sign(harness, signature)
    assert case.current_tasks() == ["提交"]


def test_failing_handler_leaves_business_data_untouched_and_opens_incident(harness, accounts, monkeypatch):
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    draft(case, seller)
    original = harness.engine.registry.services["create_esign_order"]

    def flaky(ctx, **params):
        original(ctx, **params)  # writes the order and its signatures…
        raise RuntimeError("粤信签服务暂时不可用")  # …then the external call fails

    harness.engine.registry.services["create_esign_order"] = flaky
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    assert open_order(harness, case) is None
    [incident] = case.incidents()
    assert incident.status == "open" and "粤信签服务暂时不可用" in incident.error
    harness.engine.registry.services["create_esign_order"] = original
    assert harness.retry_incidents(only_due=False) == 1
    assert open_order(harness, case).status == "已创建订单，待签字"
    assert case.incidents()[0].status == "resolved"


def test_restart_after_every_step(engine_factory, accounts):
    from engine.testing import ProcessHarness
    harness = ProcessHarness(engine_factory, restart_each_step=True)
    seller = accounts["张伟"]
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    draft(case, seller, [dict(BUYER_ZHAO, share="60"), dict(BUYER_SUN, share="40")], co_ownership="按份共有")
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已签约"
    assert contract_of(harness, case).status == "已签约"
