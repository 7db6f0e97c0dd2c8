"""Fund supervision as a step of the flow (guide §2.2 (五)): the diagram's gateway chooses the bank's
path; this module opens the bank's case, checks the agreement before the seller goes on, and takes
the bank's SIGNED callback that records the agreement number on the contract.

Which bank works online and which at a branch is the adapters' business (handlers/adapters/bank.py);
which page follows which choice is the diagram's (contract_drafting.bpmn, 「选择哪家银行监管交易资金？」).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import sqlalchemy as sa
from marshmallow import ValidationError

from .contract_form import contract_for_edit
from .form_fields import FormSchema
from .models import (DRAFT, SUPERVISION_AT_BRANCH, SUPERVISION_SIGNED, SUPERVISION_TO_SIGN, Contract,
                     DomainError)

if TYPE_CHECKING:
    from .bootstrap import Adapters

NOT_SIGNED = ("资金监管协议尚未签署完成：请点击「跳转建设银行龙存管」，由买卖双方在「龙存管」系统在线签署资金监管协议，"
              "签署完成后再点击「下一步」")


def open_fund_supervision(ctx, adapters: "Adapters", contract_id, bank) -> dict:
    """Open (or, on a retry or a second round of drafting, find) the contract's case at ``bank``."""
    contract = ctx.session.get(Contract, contract_id)
    if contract is None:
        raise DomainError(f"合同{contract_id}不存在")
    provider = adapters.banks.get(bank)
    if provider is None:
        raise DomainError(f"监管银行「{bank}」尚未与存量房网签系统对接")
    if contract.supervision_bank != bank or not contract.supervision_ref:
        contract.supervision_bank = bank
        contract.supervision_ref = provider.new_reference()
        contract.supervision_agreement_no = None
    if not contract.supervision_agreement_no:
        contract.supervision_status = SUPERVISION_TO_SIGN if provider.online else SUPERVISION_AT_BRANCH
    ctx.audit("fund_supervision_opened", contract_no=contract.contract_no, bank=bank,
              reference=contract.supervision_ref)
    return {"bank": bank, "online": provider.online, "status": contract.supervision_status}


class SupervisionSignedForm(FormSchema):
    """「下一步」 after 「龙存管」: no fields; the bank's callback must have recorded the agreement."""


def check_supervision_signed(ctx, data: dict) -> dict:
    contract = contract_for_edit(ctx)
    if not contract.supervision_agreement_no:
        raise ValidationError({"supervision_agreement_no": [NOT_SIGNED]})
    return {}


class CallbackRefused(ValueError):
    """A callback that names no case of ours, or a contract that can no longer change."""


def record_agreement(session: sa.orm.Session, adapters: "Adapters", body: bytes) -> tuple[Contract, bool]:
    """The bank's SIGNED callback (its signature already verified by the caller): the agreement number
    goes on the contract. Returns the contract and whether anything changed (a repeat changes nothing)."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or payload.get("event") != "SIGNED":
        raise CallbackRefused("回调内容无效：应为资金监管协议签署（SIGNED）通知")
    contract = session.scalars(sa.select(Contract).where(
        Contract.supervision_ref == str(payload.get("reference") or ""))).first()
    agreement_no = str(payload.get("agreement_no") or "").strip()
    if contract is None or contract.supervision_bank != payload.get("bank") or not agreement_no:
        raise CallbackRefused("回调所指的资金监管申请不存在")
    if contract.supervision_agreement_no == agreement_no:
        return contract, False
    if contract.status != DRAFT:
        raise CallbackRefused(f"合同{contract.contract_no}当前状态为「{contract.status}」，不能再记录资金监管协议")
    contract.supervision_agreement_no = agreement_no
    contract.supervision_status = SUPERVISION_SIGNED
    return contract, True


def bank_for_callback(adapters: "Adapters", body: bytes):
    """The adapter of the bank a callback says it comes from (its key then checks the signature)."""
    try:
        payload = json.loads(body)
    except ValueError as err:
        raise CallbackRefused("回调内容无效：应为 JSON 对象") from err
    bank = payload.get("bank") if isinstance(payload, dict) else None
    return adapters.banks.get(bank) if isinstance(bank, str) else None
