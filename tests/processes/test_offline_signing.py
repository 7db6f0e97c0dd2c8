"""Every path of 「签订买卖合同线下」: the seller prepares online, the window and the reviewer file it."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import FormInvalid, NotAllowed
from handlers.models import Account

from .flows import contract_of, offline_to_window, staff, upload_materials

CLERK, REVIEWER = ["clerk"], ["reviewer"]
INTAKE_OK = {"identities_checked": True}


def test_window_and_review_file_the_contract(harness, accounts):
    seller, clerk, reviewer = accounts["张伟"], accounts["窗口受理员甲"], accounts["审核员甲"]
    case = offline_to_window(harness, seller)
    assert contract_of(harness, case).status == "已提交"
    assert case.current_tasks() == ["受理并核验身份"]
    assert case.open_tasks()[0].role == "clerk"
    staff(harness, case, "受理并核验身份", clerk, INTAKE_OK, CLERK)
    materials = case.data()["materials"]
    assert materials == ["《线下办理存量房买卖合同备案申请表》（双方签字）", "《广东省房地产买卖合同》签章页（双方签字）",
                         "买卖双方有效身份证件原件"]
    staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    staff(harness, case, "审核备案", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已签约"
    contract = contract_of(harness, case)
    assert (contract.status, contract.channel) == ("已签约", "线下")


def test_declined_supervision_requires_the_waiver(harness, accounts):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    case = offline_to_window(harness, seller, fund_supervised=False)
    staff(harness, case, "受理并核验身份", clerk, INTAKE_OK, CLERK)
    waiver = "《自愿放弃存量房交易资金监管的共同声明》（双方签字）"
    assert waiver in case.data()["materials"]
    with pytest.raises(FormInvalid) as err:
        staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk, skip=[waiver]), CLERK)
    assert err.value.errors == {"uploads": {waiver: [f"请上传「{waiver}」"]}}
    assert case.current_tasks() == ["打印表格并上传材料"]
    staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    assert case.current_tasks() == ["审核备案"]


def test_minor_needs_both_parents(harness, accounts):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, dict(INTAKE_OK, any_minor=True, parents_present=False), CLERK)
    assert case.current_tasks() == ["受理并核验身份"]  # refused, back to the window
    assert case.data()["window_refusal"]["reason"] == "未成年人的父母双方须到场"
    staff(harness, case, "受理并核验身份", clerk, dict(INTAKE_OK, any_minor=True, parents_present=True), CLERK)
    materials = case.data()["materials"]
    assert {"未成年人保证书", "能证明亲子关系的户口本或出生证明", "未成年人父母双方的身份证件（父母双方须到场）"} <= set(materials)


def test_agent_with_wrong_matter_is_refused(harness, accounts):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    case = offline_to_window(harness, seller)
    with pytest.raises(FormInvalid) as err:
        staff(harness, case, "受理并核验身份", clerk, dict(INTAKE_OK, any_agent=True), CLERK)
    assert "委托事项" in err.value.errors["poa_matter"][0]
    staff(harness, case, "受理并核验身份", clerk,
          dict(INTAKE_OK, any_agent=True, poa_matter="房屋买卖"), CLERK)
    assert "存量房买卖合同网签备案" in case.data()["window_refusal"]["reason"]
    assert case.current_tasks() == ["受理并核验身份"]
    staff(harness, case, "受理并核验身份", clerk,
          dict(INTAKE_OK, any_agent=True, poa_matter="存量房买卖合同网签备案"), CLERK)
    assert "经公证的委托书原件（须注明「存量房买卖合同网签备案」委托事项）" in case.data()["materials"]


def test_reviewer_rejects_then_approves(harness, accounts):
    seller, clerk, reviewer = accounts["张伟"], accounts["窗口受理员甲"], accounts["审核员甲"]
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, INTAKE_OK, CLERK)
    staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    with pytest.raises(FormInvalid) as err:
        staff(harness, case, "审核备案", reviewer, {"review_decision": "退回"}, REVIEWER)
    assert err.value.errors == {"review_reason": ["退回时请填写退回原因，窗口人员据此补正"]}
    staff(harness, case, "审核备案", reviewer, {"review_decision": "退回", "review_reason": "签章页不清晰"}, REVIEWER)
    assert case.current_tasks() == ["打印表格并上传材料"]
    assert contract_of(harness, case).status == "已提交"
    staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
    staff(harness, case, "审核备案", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已签约"


def test_four_eyes_and_roles(harness, accounts):
    seller, reviewer = accounts["张伟"], accounts["审核员甲"]
    session = harness.session
    both = Account(login_kind="工作人员", username="dual", name="兼岗人员", id_type="工号", id_number="DUAL",
                   roles="clerk,reviewer")
    session.add(both)
    session.commit()
    case = offline_to_window(harness, seller)
    with pytest.raises(NotAllowed):  # a seller is not window staff
        staff(harness, case, "受理并核验身份", seller, INTAKE_OK, ["seller"])
    staff(harness, case, "受理并核验身份", both, INTAKE_OK, ["clerk", "reviewer"])
    staff(harness, case, "打印表格并上传材料", both, upload_materials(harness, case, both), ["clerk", "reviewer"])
    with pytest.raises(NotAllowed, match="四眼原则"):
        staff(harness, case, "审核备案", both, {"review_decision": "通过"}, ["clerk", "reviewer"])
    with pytest.raises(NotAllowed):  # a clerk-only account cannot review
        staff(harness, case, "审核备案", accounts["窗口受理员乙"], {"review_decision": "通过"}, CLERK)
    staff(harness, case, "审核备案", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已签约"


def test_unfiled_offline_contract_is_deleted_after_the_next_natural_day(harness, accounts):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    with harness.clock("2026-11-23T15:00:00+08:00", tick=False) as clock:
        case = offline_to_window(harness, seller)
        staff(harness, case, "受理并核验身份", clerk, INTAKE_OK, CLERK)
        clock.move_to(datetime.fromisoformat("2026-11-25T00:00:00+08:00"))
        assert harness.fire_timers() == 1
    assert case.end_event == "合同已自动删除"
    assert case.current_tasks() == []
    assert contract_of(harness, case).status == "已删除"


def test_offline_signing_refuses_a_gift(harness, accounts):
    seller = accounts["张伟"]
    case = harness.start("offline_signing", actor=str(seller.id))
    case.complete("选择业务类型", {"business_type": "房屋赠与"}, actor=str(seller.id))
    assert case.end_event == "不予受理"
    assert case.timers() == []
