"""「撤回申请」: an unfinished application is withdrawn from 待办 (or the contract page) through the
diagram's boundary events; 待办 says which home and which contract each item is about."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.testing import Case
from handlers.models import Account, Contract, ESignOrder
from handlers.usecases import Actor, Refused, citizen, tasks

from .flows import CERT_ZHANG, contract_form, sign_all
from .test_cancellation import contract_of_no, filed_online

HOME_ZHANG = "中山市"  # every demo home's 坐落 starts so


def _actor(services, name):
    return Actor.of(services.session.scalars(sa.select(Account).where(Account.name == name)).one())


def _do(services, who, name, data):
    [item] = [i for i in citizen.todo(services, who) if i.task.name == name]
    return tasks.complete_task(services, who, item.task.id, data)


def _item(services, who, name):
    [item] = [i for i in citizen.todo(services, who) if i.task.name == name]
    return item


@pytest.mark.parametrize("process_id", ["online_signing", "offline_signing"])
@pytest.mark.parametrize("at", ["查询房源", "确认房源"])
def test_an_application_without_a_contract_is_withdrawn(harness, accounts, process_id, at):
    seller = accounts["张伟"]
    case = harness.start(process_id, actor=str(seller.id), business_key="SQ-test")
    case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(seller.id))
    if at == "确认房源":
        case.complete("查询房源", CERT_ZHANG, actor=str(seller.id))
    assert case.current_tasks() == [at]
    case.send("withdraw_application", {"by": str(seller.id)}, key="SQ-test")
    assert case.status == "completed" and case.current_tasks() == []
    assert "撤回申请" in case.path() and "申请已撤回" in case.path()
    session = harness.session
    assert session.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0


def test_todo_names_the_home_and_the_contract_and_withdraws(services, accounts):
    seller = _actor(services, "张伟")
    citizen.start_flow(services, seller, "online_signing")
    choose = _item(services, seller, "选择业务类型")
    assert not choose.withdrawable
    with pytest.raises(Refused, match="不能撤回"):
        citizen.withdraw(services, seller, choose.task.id)
    _do(services, seller, "选择业务类型", {"business_type": "存量房买卖"})
    query = _item(services, seller, "查询房源")
    assert query.withdrawable and query.contract_no is None and query.home is None
    _do(services, seller, "查询房源", CERT_ZHANG)
    confirm = _item(services, seller, "确认房源")
    assert confirm.home.startswith(HOME_ZHANG) and confirm.contract_no is None and confirm.withdrawable
    assert citizen.withdraw(services, seller, confirm.task.id) == "申请已撤回"
    assert citizen.todo(services, seller) == []
    # Again, as far as the contract: 待办 shows its number.
    citizen.start_flow(services, seller, "online_signing")
    _do(services, seller, "选择业务类型", {"business_type": "存量房买卖"})
    _do(services, seller, "查询房源", CERT_ZHANG)
    _do(services, seller, "确认房源", {})
    fill = _item(services, seller, "填写买卖合同")
    assert fill.contract_no and fill.contract_no.startswith("ZS") and fill.home.startswith(HOME_ZHANG)
    assert fill.withdrawable
    _do(services, seller, "填写买卖合同", contract_form())
    assert _item(services, seller, "填写申请人信息").contract_no == fill.contract_no


def _to_drafting(services, seller, process_id):
    result = citizen.start_flow(services, seller, process_id)
    _do(services, seller, "选择业务类型", {"business_type": "存量房买卖"})
    _do(services, seller, "查询房源", CERT_ZHANG)
    _do(services, seller, "确认房源", {})
    return result.instance_id, _item(services, seller, "填写买卖合同")


@pytest.mark.parametrize("process_id", ["online_signing", "offline_signing"])
def test_an_application_is_withdrawn_while_the_contract_is_drafted(services, harness, process_id):
    seller = _actor(services, "张伟")
    instance_id, fill = _to_drafting(services, seller, process_id)
    assert fill.withdrawable
    assert citizen.withdraw(services, seller, fill.task.id) == "申请已撤回"
    contract = contract_of_no(harness, fill.contract_no)
    assert contract.status == "已删除" and contract.deletion_reason == "申请人撤回"
    case = Case(harness, instance_id)
    assert case.status == "completed" and case.current_tasks() == []
    assert "撤回申请" in case.path() and "申请已撤回" in case.path() and case.end_event == "合同已删除"
    assert citizen.todo(services, seller) == []
    # The deleted contract no longer holds the home: a new application reaches a new contract.
    _, again = _to_drafting(services, seller, process_id)
    assert again.contract_no != fill.contract_no
    assert contract_of_no(harness, again.contract_no).status == "草稿"


def test_a_cancellation_is_withdrawn_from_todo_and_from_the_contract_page(services, harness, accounts):
    contract_no = filed_online(harness, accounts["张伟"]).contract_no
    seller = _actor(services, "张伟")
    citizen.start_online_cancellation(services, seller, contract_no)
    reason = _item(services, seller, "录入注销原因")
    assert reason.contract_no == contract_no and reason.withdrawable
    assert citizen.withdraw(services, seller, reason.task.id) == "申请已撤回"
    assert contract_of_no(harness, contract_no).display_status == "已签约"
    # While the parties sign there is no task: the contract page withdraws it.
    citizen.start_online_cancellation(services, seller, contract_no)
    _do(services, seller, "录入注销原因", {"cancellation_reason": "暂不注销", "confirmed": True})
    _do(services, seller, "生成电子合同订单", {})
    buyer = _actor(services, "赵敏")
    with pytest.raises(Refused, match="没有您可以撤回的注销申请"):
        citizen.withdraw_cancellation(services, buyer, contract_no)  # only who applied
    assert citizen.withdraw_cancellation(services, seller, contract_no) == "申请已撤回"
    contract = contract_of_no(harness, contract_no)
    assert contract.display_status == "已签约"
    services.session.expire_all()
    assert services.session.scalars(sa.select(ESignOrder).where(
        ESignOrder.status == "已创建订单，待签字")).all() == []


def test_a_fully_signed_cancellation_is_not_withdrawn(services, harness, accounts):
    contract_no = filed_online(harness, accounts["张伟"]).contract_no
    seller = _actor(services, "张伟")
    result = citizen.start_online_cancellation(services, seller, contract_no)
    _do(services, seller, "录入注销原因", {"cancellation_reason": "协商一致", "confirmed": True})
    _do(services, seller, "生成电子合同订单", {})
    sign_all(harness, Case(harness, result.instance_id))
    with pytest.raises(Refused, match="全部当事人已签字"):
        citizen.withdraw_cancellation(services, seller, contract_no)
