"""The window's power-of-attorney rule in both offline flows: the notarised POA must name the flow's matter
and may name others; the matter each flow needs is written in its diagram's gateway condition."""
from __future__ import annotations

import shutil

import pytest

from .conftest import ROOT
from .flows import offline_to_window, staff
from .test_cancellation import filed_offline, intake

CLERK = ["clerk"]
SIGNING, CANCELLING = "存量房买卖合同网签备案", "注销存量房买卖合同网签备案"
SIGNING_AND_TRANSFER = "办理存量房买卖合同网签备案及不动产转移登记"
BOTH = "代为办理存量房买卖合同网签备案、注销存量房买卖合同网签备案等事宜"


def signing_intake(poa_matter):
    return {"identities_checked": True, "any_agent": True, "poa_matter": poa_matter}


@pytest.mark.parametrize("poa_matter", [SIGNING, SIGNING_AND_TRANSFER, BOTH, "「存量房买卖合同网签备案」；银行按揭贷款"])
def test_offline_signing_accepts_a_poa_that_names_the_matter_among_others(harness, accounts, poa_matter):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, signing_intake(poa_matter), CLERK)
    assert case.current_tasks() == ["打印表格并上传材料"]
    assert f"经公证的委托书原件（须注明「{SIGNING}」委托事项）" in case.data()["materials"]


@pytest.mark.parametrize("poa_matter", [CANCELLING, "存量房买卖合同备案", "办理不动产转移登记"])
def test_offline_signing_refuses_a_poa_for_another_matter(harness, accounts, poa_matter):
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, signing_intake(poa_matter), CLERK)
    assert case.current_tasks() == ["受理并核验身份"]
    reason = case.data()["window_refusal"]["reason"]
    assert reason == f"公证委托书须注明「{SIGNING}」委托事项（所填委托事项：{poa_matter}）"


@pytest.mark.parametrize("poa_matter, accepted", [
    (CANCELLING, True), (BOTH, True), ("办理注销存量房买卖合同网签备案手续", True),
    (SIGNING_AND_TRANSFER, False), (SIGNING, False),
])
def test_offline_cancellation_needs_the_cancellation_matter(harness, accounts, poa_matter, accepted):
    clerk = accounts["窗口受理员乙"]
    contract = filed_offline(harness, accounts)
    case = harness.start("offline_cancellation", actor=str(clerk.id))
    staff(harness, case, "受理注销申请", clerk, intake(contract.contract_no, any_agent=True, poa_matter=poa_matter), CLERK)
    if accepted:
        assert case.current_tasks() == ["采集照片并上传材料"]
        assert f"经公证的委托书原件（须注明「{CANCELLING}」委托事项）" in case.data()["materials"]
    else:
        assert case.end_event == "不予受理"
        assert case.data()["window_refusal"]["reason"] == \
            f"公证委托书须注明「{CANCELLING}」委托事项（所填委托事项：{poa_matter}）"


def test_the_matter_is_the_diagrams_to_change(harness, accounts, engine_factory, tmp_path):
    """An analyst who rewrites the matter in the gateway condition changes the rule; no code changes."""
    seller, clerk = accounts["张伟"], accounts["窗口受理员甲"]
    shutil.copytree(ROOT / "processes", tmp_path / "processes")
    diagram = tmp_path / "processes" / "offline_signing.bpmn"
    source = diagram.read_text(encoding="utf-8")
    condition = f'poa_names_matter(poa_matter, "{SIGNING}")'
    assert source.count(condition) == 1
    diagram.write_text(source.replace(condition, 'poa_names_matter(poa_matter, "不动产转移登记")'), encoding="utf-8")
    engine_factory().deploy_directory(tmp_path / "processes")
    case = offline_to_window(harness, seller)
    staff(harness, case, "受理并核验身份", clerk, signing_intake(SIGNING), CLERK)
    assert case.current_tasks() == ["受理并核验身份"]
    staff(harness, case, "受理并核验身份", clerk, signing_intake(SIGNING_AND_TRANSFER), CLERK)
    assert case.current_tasks() == ["打印表格并上传材料"]
