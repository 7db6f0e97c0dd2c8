"""Fund supervision as use cases: the bank's SIGNED callback, the sandbox 「龙存管」 page where the
parties sign the supervision agreement, and the 《用户操作手册》 of a branch bank."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.db import utcnow

from ..bootstrap import Services
from ..documents import supervision_manual_pdf
from ..models import Contract, normalize_contract_no
from ..signing import identity_matches
from ..supervision import CallbackRefused, bank_for_callback, record_agreement
from .errors import Conflict, NotFound, Refused, Unauthenticated
from .policy import Actor, contract_for

log = logging.getLogger(__name__)
ONLINE_BANK = "建设银行"


def receive_callback(services: Services, body: bytes, signature_header: str | None) -> bool:
    """Verify the bank's callback with that bank's key and record the agreement; False for a repeat."""
    try:
        bank = bank_for_callback(services.adapters, body)
    except CallbackRefused as err:
        raise Refused(str(err)) from err
    if bank is None or not bank.verify(body, signature_header):
        raise Unauthenticated("回调签名无效")
    try:
        with services.unit_of_work() as session:
            contract, changed = record_agreement(session, services.adapters, body)
            number, agreement = contract.contract_no, contract.supervision_agreement_no
    except CallbackRefused as err:
        log.warning("bank callback refused: %s", err)
        raise Conflict(str(err)) from err
    except ValueError as err:
        raise Refused("回调内容无效：应为 JSON 对象") from err
    if changed:
        log.info("fund supervision agreement %s recorded on contract %s", agreement, number)
    return changed


@dataclass
class BankCase:
    contract: Contract
    reference: str
    signed: bool


def sandbox_case(services: Services, reference: str) -> BankCase:
    """What the sandbox 「龙存管」 page shows for a case reference (the link the seller was sent)."""
    from sqlalchemy import select

    contract = services.session.scalars(select(Contract).where(Contract.supervision_ref == reference)).first()
    if contract is None or contract.supervision_bank != ONLINE_BANK:
        raise NotFound("资金监管申请不存在")
    return BankCase(contract, reference, bool(contract.supervision_agreement_no))


def sandbox_sign(services: Services, case: BankCase, identities: list[tuple[str, str]]) -> str:
    """Every party signs the supervision agreement (name and ID number checked, as the bank would);
    the sandbox bank then posts its SIGNED callback, signed with its key. Returns the agreement number."""
    parties = case.contract.sellers + case.contract.buyers
    for party, (name, id_number) in zip(parties, identities + [("", "")] * len(parties)):
        if not identity_matches(party, name, id_number):
            raise Refused(f"{party.side}「{party.name}」身份核验未通过：姓名或证件号码不一致")
    bank = services.adapters.banks[ONLINE_BANK]
    agreement_no = bank.new_agreement_no()  # type: ignore[attr-defined]
    body, mac = bank.signed_callback(case.reference, agreement_no, utcnow().isoformat())  # type: ignore[attr-defined]
    receive_callback(services, body, mac)
    return agreement_no


def supervision_manual(services: Services, actor: Actor, contract_no: str) -> tuple[str, bytes]:
    """《用户操作手册》 for supervision at a branch, with this contract's facts filled in."""
    contract = contract_for(services.session, actor, normalize_contract_no(contract_no))
    if not contract.fund_supervised or not contract.supervision_bank:
        raise Refused("该合同未选择资金监管，没有《用户操作手册》")
    bank = services.adapters.banks.get(contract.supervision_bank)
    return (f"manual-{contract.contract_no}.pdf",
            supervision_manual_pdf(contract, online=bool(bank and bank.online)))
