"""One cancellation at a time per contract: while one runs (online or at the window) the contract is
「注销中」 and another start is refused, by the database when two starts race; when it ends (已注销,
withdrawn, refused) the contract may be cancelled again."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from handlers.models import Account, Contract
from handlers.usecases import Actor, Refused, citizen

from .flows import open_order, staff
from .test_cancellation import CLERK, contract_of_no, filed_online, intake, request_online

BUSY = "正在办理注销（注销中）"


def _reason(case):
    return case.data()["contract"]["reason"]


def test_a_second_cancellation_is_refused_while_one_runs(harness, accounts):
    seller, buyer, clerk = accounts["张伟"], accounts["赵敏"], accounts["窗口受理员甲"]
    contract_no = filed_online(harness, seller).contract_no
    first = request_online(harness, seller, contract_no)
    assert first.current_tasks() == ["录入注销原因"]
    contract = contract_of_no(harness, contract_no)
    assert contract.status == "已签约" and contract.display_status == "注销中"
    # The other party (a stale page, the API) and the window are refused while it runs.
    second = request_online(harness, buyer, contract_no)
    assert second.end_event == "不予线上注销" and BUSY in _reason(second)
    window = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, window, "受理注销申请", clerk, intake(contract_no), CLERK)
    assert window.end_event == "不予受理" and BUSY in window.data()["window_refusal"]["reason"]
    assert contract_of_no(harness, contract_no).cancellation_instance_id == first.id
    # The first goes on to the end.
    first.complete("录入注销原因", {"cancellation_reason": "双方协商一致", "confirmed": True}, actor=str(seller.id))
    first.complete("生成电子合同订单", {}, actor=str(seller.id))
    from .flows import sign_all
    sign_all(harness, first)
    first.complete("提交", {"confirmed": True}, actor=str(seller.id))
    contract = contract_of_no(harness, contract_no)
    assert contract.status == "已注销" and contract.display_status == "已注销"
    assert contract.cancellation_instance_id is None


def test_after_withdrawal_the_contract_may_be_cancelled_again(harness, accounts):
    seller = accounts["张伟"]
    contract_no = filed_online(harness, seller).contract_no
    first = request_online(harness, seller, contract_no)
    first.complete("录入注销原因", {"cancellation_reason": "暂不注销", "confirmed": True}, actor=str(seller.id))
    first.complete("生成电子合同订单", {}, actor=str(seller.id))
    first.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, first).order_no})
    first.complete("重新签署或撤回申请", {"after_cancel_action": "撤回注销申请"}, actor=str(seller.id))
    assert first.end_event == "注销申请已撤回"
    contract = contract_of_no(harness, contract_no)
    assert contract.display_status == "已签约" and contract.cancellation_instance_id is None
    again = request_online(harness, seller, contract_no)
    assert again.current_tasks() == ["录入注销原因"]


def test_a_cancellation_refused_at_the_window_lets_the_contract_go(harness, accounts):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    contract_no = filed_online(harness, seller).contract_no
    window = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, window, "受理注销申请", clerk, intake(contract_no, any_minor=True, parents_present=False), CLERK)
    assert window.end_event == "不予受理"
    assert contract_of_no(harness, contract_no).display_status == "已签约"
    assert request_online(harness, seller, contract_no).current_tasks() == ["录入注销原因"]


def _actor(services, name):
    return Actor.of(services.session.scalars(sa.select(Account).where(Account.name == name)).one())


def test_the_use_case_refuses_a_second_start_with_a_message(services, harness, accounts):
    contract_no = filed_online(harness, accounts["张伟"]).contract_no
    seller, buyer = _actor(services, "张伟"), _actor(services, "赵敏")
    citizen.start_online_cancellation(services, seller, contract_no)
    with pytest.raises(Refused, match=BUSY):
        citizen.start_online_cancellation(services, buyer, contract_no)
    page = citizen.contract_page(services, buyer, contract_no)
    assert page.contract.display_status == "注销中"


def test_simultaneous_cancellation_starts_exactly_one_proceeds(engine_factory, harness, accounts):
    """Two threads, each with its own engine and connection, name the same contract at once."""
    seller, buyer = accounts["张伟"], accounts["赵敏"]
    contract_no = filed_online(harness, seller).contract_no
    people = (seller, buyer)
    engines = [engine_factory(), engine_factory()]
    task_ids = []
    for engine, who in zip(engines, people):
        task_ids.append(engine.start("online_cancellation", str(who.id)).ready_tasks[0]["id"])
        engine.session_factory.remove()
    barrier, outcomes, errors = threading.Barrier(2), {}, []

    def select(index):
        engine = engines[index]
        try:
            barrier.wait()
            outcomes[index] = engine.complete_task(task_ids[index], {"contract_no": contract_no},
                                                   str(people[index].id))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            engine.session_factory.remove()

    threads = [threading.Thread(target=select, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ends = sorted(str(r.end_event) for r in outcomes.values())
    assert ends == ["None", "不予线上注销"]
    winner = next(r for r in outcomes.values() if r.end_event is None)
    session = engines[0].session_factory()
    contract = session.scalars(sa.select(Contract).where(Contract.contract_no == contract_no)).one()
    assert contract.cancellation_instance_id == winner.instance_id


def test_a_cancellation_request_is_withdrawn_before_everyone_signed(harness, accounts):
    """「撤回申请」 while the reason is being entered, and while the parties are signing: the request
    ends 「注销申请已撤回」, the waiting order is cancelled, the contract is 已签约 and cancellable again."""
    from .flows import open_order
    seller = accounts["张伟"]
    contract_no = filed_online(harness, seller).contract_no
    at_reason = request_online(harness, seller, contract_no)
    at_reason.send("withdraw_application", {"by": str(seller.id)})
    assert at_reason.end_event == "注销申请已撤回" and at_reason.current_tasks() == []
    signing = request_online(harness, seller, contract_no)
    signing.complete("录入注销原因", {"cancellation_reason": "暂不注销", "confirmed": True}, actor=str(seller.id))
    signing.complete("生成电子合同订单", {}, actor=str(seller.id))
    order = open_order(harness, signing)
    signing.send("withdraw_application", {"by": str(seller.id)})
    assert signing.end_event == "注销申请已撤回" and "撤回申请" in signing.path()
    session = harness.session
    session.expire_all()
    assert session.get(type(order), order.id).status == "已注销"
    contract = contract_of_no(harness, contract_no)
    assert contract.display_status == "已签约" and contract.cancellation_instance_id is None
    assert request_online(harness, seller, contract_no).current_tasks() == ["录入注销原因"]
