"""Fund supervision is a step of the flow (guide §2.2 (五)): the diagram's gateway sends 建设银行 to its
「龙存管」 (the parties sign online; the bank's SIGNED callback records the agreement number) and
农村商业银行 to the branch guidance (the contract notes that supervision is completed at a branch)."""
from __future__ import annotations

import json

import pytest

from engine import FormInvalid
from handlers.adapters.bank import callback_body
from handlers.adapters.esign import sign as hmac_sign
from handlers.documents import contract_sections
from handlers.usecases import Conflict, Unauthenticated
from handlers.usecases import supervision

from .conftest import ESIGN_SECRET
from .flows import contract_form, contract_of, start_and_verify

CCB = {"fund_supervised": True, "supervision_bank": "建设银行"}
RCB = {"fund_supervised": True, "supervision_bank": "农村商业银行"}


def to_fund_supervision(harness, seller, choice):
    case = start_and_verify(harness, seller)
    who = str(seller.id)
    case.complete("确认房源", {}, actor=who)
    case.complete("填写买卖合同", contract_form(), actor=who)
    case.complete("填写申请人信息", {"applicant_name": seller.name, "applicant_phone": "13800001111"}, actor=who)
    case.complete("填写好差评信息", {"rating_level": "非常满意"}, actor=who)
    case.complete("填写资金监管信息", choice, actor=who)
    return case


def callback(reference, agreement_no="LCG-0001", bank="建设银行", secret=ESIGN_SECRET):
    body = callback_body(bank, reference, agreement_no, "2026-11-28T06:00:00+00:00")
    return body, hmac_sign(body, secret)


def test_ccb_waits_for_the_signed_agreement_then_goes_on(harness, services, accounts):
    seller = accounts["张伟"]
    case = to_fund_supervision(harness, seller, CCB)
    assert case.current_tasks() == ["签署资金监管协议"]
    contract = contract_of(harness, case)
    assert contract.supervision_status == "待签署资金监管协议" and contract.supervision_ref.startswith("CCB")
    reference = contract.supervision_ref

    # 「下一步」 before the parties signed in 「龙存管」: refused with the reason, nothing moves.
    with pytest.raises(FormInvalid) as err:
        case.complete("签署资金监管协议", {}, actor=str(seller.id))
    assert "资金监管协议尚未签署完成" in json.dumps(err.value.errors, ensure_ascii=False)
    assert case.current_tasks() == ["签署资金监管协议"]

    # A forged callback and one for nobody's case change nothing.
    body, _ = callback(reference)
    with pytest.raises(Unauthenticated):
        supervision.receive_callback(services, body, "0" * 64)
    with pytest.raises(Conflict):
        supervision.receive_callback(services, *callback("CCBNOSUCHCASE"))

    assert supervision.receive_callback(services, *callback(reference)) is True
    assert supervision.receive_callback(services, *callback(reference)) is False  # a repeat
    contract = contract_of(harness, case)
    assert contract.supervision_agreement_no == "LCG-0001" and contract.supervision_status == "已签署资金监管协议"
    assert dict(contract_sections(contract)[2][1])["资金监管"] == "是，建设银行（资金监管协议编号 LCG-0001）"

    case.complete("签署资金监管协议", {}, actor=str(seller.id))
    assert case.current_tasks() == ["确认注意事项"]


def test_rcb_shows_branch_guidance_and_the_contract_notes_it(harness, services, accounts):
    seller = accounts["张伟"]
    case = to_fund_supervision(harness, seller, RCB)
    assert case.current_tasks() == ["查看线下支行办理指引"]
    contract = contract_of(harness, case)
    assert contract.supervision_status == "待到线下支行办理"
    assert dict(contract_sections(contract)[2][1])["资金监管"] == "是，农村商业银行（待到线下支行办理）"
    # The branch sends no callbacks: one claiming to be from it is not believed.
    with pytest.raises(Unauthenticated):
        supervision.receive_callback(services, *callback(contract.supervision_ref, bank="农村商业银行"))
    case.complete("查看线下支行办理指引", {}, actor=str(seller.id))
    assert case.current_tasks() == ["确认注意事项"]


def test_no_supervision_goes_straight_to_the_notes(harness, accounts):
    case = to_fund_supervision(harness, accounts["张伟"], {"fund_supervised": False})
    assert case.current_tasks() == ["确认注意事项"]
    assert contract_of(harness, case).supervision_ref is None


def test_a_callback_for_a_submitted_contract_is_refused(harness, services, accounts):
    seller = accounts["张伟"]
    case = to_fund_supervision(harness, seller, CCB)
    reference = contract_of(harness, case).supervision_ref
    supervision.receive_callback(services, *callback(reference))
    who = str(seller.id)
    case.complete("签署资金监管协议", {}, actor=who)
    case.complete("确认注意事项", {"acknowledged": True}, actor=who)
    case.complete("提交合同", {"confirmed": True}, actor=who)
    with pytest.raises(Conflict):
        supervision.receive_callback(services, *callback(reference, agreement_no="LCG-0002"))
    assert contract_of(harness, case).supervision_agreement_no == "LCG-0001"

