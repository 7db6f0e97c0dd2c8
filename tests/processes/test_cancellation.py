"""「存量房合同注销线上」 and 「存量房合同注销线下」: every path."""
from __future__ import annotations

import pytest

from engine import NotAllowed

from .flows import (contract_of, offline_to_window, open_order, sign_all, staff, to_signing, upload_materials)

CLERK, REVIEWER = ["clerk"], ["reviewer"]


def filed_online(harness, seller):
    case = to_signing(harness, seller)
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    return contract_of(harness, case)


def filed_offline(harness, accounts):
    seller, clerk, reviewer = accounts["张伟"], accounts["窗口受理员甲"], accounts["审核员甲"]
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, {"identities_checked": True}, CLERK)
    staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    staff(harness, case, "审核备案", reviewer, {"review_decision": "通过"}, REVIEWER)
    return contract_of(harness, case)


def request_online(harness, who, contract_no):
    case = harness.start("online_cancellation", actor=str(who.id))
    case.complete("选择注销合同", {"contract_no": contract_no}, actor=str(who.id))
    return case


# ---------------------------------------------------------------- online

def test_online_cancellation_signed_by_all_then_submitted(harness, accounts):
    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = request_online(harness, seller, contract.contract_no)
    assert case.current_tasks() == ["录入注销原因"]
    case.complete("录入注销原因", {"cancellation_reason": "双方协商一致解除合同", "confirmed": True}, actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    order = open_order(harness, case)
    assert order.purpose == "注销" and order.status == "已创建订单，待签字"
    sign_all(harness, case)
    assert case.current_tasks() == ["提交"]  # the only way on
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已注销"
    contract = contract_of_no(harness, contract.contract_no)
    assert contract.status == "已注销" and contract.cancellation_reason == "双方协商一致解除合同"


def contract_of_no(harness, contract_no):
    import sqlalchemy as sa
    from handlers.models import Contract
    session = harness.session
    session.expire_all()
    return session.scalars(sa.select(Contract).where(Contract.contract_no == contract_no)).one()


def test_offline_filed_contract_cannot_be_cancelled_online(harness, accounts):
    contract = filed_offline(harness, accounts)
    case = request_online(harness, accounts["张伟"], contract.contract_no)
    assert case.end_event == "不予线上注销"
    assert "线下办理备案" in case.data()["contract"]["reason"]
    assert contract_of_no(harness, contract.contract_no).status == "已签约"


def test_the_online_only_rule_is_the_diagrams(harness, accounts):
    """The filing channels online cancellation takes are a parameter of 「检查注销条件」: a version that lists
    both lets a contract filed at the window be cancelled online, with no Python change."""
    from .conftest import ROOT
    contract = filed_offline(harness, accounts)
    text = (ROOT / "processes" / "online_cancellation.bpmn").read_text(encoding="utf-8")
    rule = """<spiffworkflow:parameter id="filed_channels" type="any" value='["线上"]'/>"""
    assert text.count(rule) == 1
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "processes").iterdir()
               if p.suffix in (".bpmn", ".dmn")}
    sources["online_cancellation.bpmn"] = text.replace(rule, rule.replace('["线上"]', '["线上", "线下"]'))
    results = harness.engine.deploy(sources, actor="analyst")
    assert [(r.process_id, r.version) for r in results if r.created] == [("online_cancellation", 2)]
    case = request_online(harness, accounts["张伟"], contract.contract_no)
    assert case.current_tasks() == ["录入注销原因"]
    assert contract_of_no(harness, contract.contract_no).cancelling


def test_only_a_party_and_only_a_filed_contract(harness, accounts):
    contract = filed_online(harness, accounts["张伟"])
    stranger = request_online(harness, accounts["王强"], contract.contract_no)
    assert stranger.end_event == "不予线上注销"
    assert "不是该合同的当事人" in stranger.data()["contract"]["reason"]
    unknown = request_online(harness, accounts["张伟"], "ZS2099010100001")
    assert unknown.end_event == "不予线上注销"
    buyer_case = request_online(harness, accounts["赵敏"], contract.contract_no)  # a buyer may apply
    assert buyer_case.current_tasks() == ["录入注销原因"]


def test_cancellation_order_cancelled_then_signed_again(harness, accounts):
    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = request_online(harness, seller, contract.contract_no)
    case.complete("录入注销原因", {"cancellation_reason": "买方贷款未获批", "confirmed": True}, actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    assert case.current_tasks() == ["重新签署或撤回申请"]
    case.complete("重新签署或撤回申请", {"after_cancel_action": "重新生成电子合同订单"}, actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已注销"


def test_cancellation_request_withdrawn(harness, accounts):
    seller = accounts["张伟"]
    contract = filed_online(harness, seller)
    case = request_online(harness, seller, contract.contract_no)
    case.complete("录入注销原因", {"cancellation_reason": "暂不注销", "confirmed": True}, actor=str(seller.id))
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    case.complete("重新签署或撤回申请", {"after_cancel_action": "撤回注销申请"}, actor=str(seller.id))
    assert case.end_event == "注销申请已撤回"
    assert contract_of_no(harness, contract.contract_no).status == "已签约"


# ---------------------------------------------------------------- offline

def intake(contract_no, **facts):
    return {"identities_checked": True, "contract_no": contract_no, "cancellation_reason": "双方协商解除", **facts}


def test_offline_cancellation_with_photos_and_review(harness, accounts):
    clerk, reviewer = accounts["窗口受理员乙"], accounts["审核员乙"]
    contract = filed_offline(harness, accounts)
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    assert case.open_tasks()[0].role == "clerk"
    staff(harness, case, "受理注销申请", clerk, intake(contract.contract_no), CLERK)
    materials = case.data()["materials"]
    assert "买卖双方现场照片" in materials and "《存量房买卖合同终止协议》（双方签字）" in materials
    staff(harness, case, "采集照片并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    with pytest.raises(NotAllowed, match="四眼原则"):
        staff(harness, case, "审核注销", clerk, {"review_decision": "通过"}, ["clerk", "reviewer"])
    staff(harness, case, "审核注销", reviewer, {"review_decision": "退回", "review_reason": "照片不清晰"}, REVIEWER)
    staff(harness, case, "采集照片并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    staff(harness, case, "审核注销", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已注销"
    assert contract_of_no(harness, contract.contract_no).status == "已注销"


@pytest.mark.parametrize("facts, reason", [
    ({"any_agent": True, "poa_matter": "存量房买卖合同网签备案"}, "注销存量房买卖合同网签备案"),
    ({"any_minor": True, "parents_present": False}, "父母双方"),
])
def test_offline_cancellation_refused_at_the_window(harness, accounts, facts, reason):
    clerk = accounts["窗口受理员甲"]
    contract = filed_offline(harness, accounts)
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, case, "受理注销申请", clerk, intake(contract.contract_no, **facts), CLERK)
    assert case.end_event == "不予受理"
    assert reason in case.data()["window_refusal"]["reason"]
    assert contract_of_no(harness, contract.contract_no).status == "已签约"


def test_offline_cancellation_of_unknown_or_unfiled_contract(harness, accounts):
    clerk = accounts["窗口受理员甲"]
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, case, "受理注销申请", clerk, intake("ZS2099010100001"), CLERK)
    assert case.end_event == "不予受理"
    assert "未找到合同" in case.data()["window_refusal"]["reason"]


def test_online_filed_contract_may_be_cancelled_at_the_window(harness, accounts):
    clerk, reviewer = accounts["窗口受理员甲"], accounts["审核员甲"]
    contract = filed_online(harness, accounts["张伟"])
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, case, "受理注销申请", clerk, intake(contract.contract_no, any_minor=True, parents_present=True), CLERK)
    assert "未成年人保证书" in case.data()["materials"]
    staff(harness, case, "采集照片并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    staff(harness, case, "审核注销", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已注销"
