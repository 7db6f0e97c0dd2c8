"""The 粤信签 round trip: the 微警认证 check, the sandbox's signed callback, and reading a callback.

``sandbox_sign`` is what the e-sign service does when a party finishes on the
phone (微警认证: name and ID number must be the party's); ``accept_callback``
is what the netsign side does with the callback it receives. The engine then
gets one ``esign_party_signed`` message, keyed so a repeated callback is ignored.
The use cases in ``handlers.usecases.esign`` drive both from the web.
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from .adapters import esign
from .i18n import N_
from .models import PARTY_SIGNED, ContractParty, DomainError, ESignSignature
from .validation import comparable_id, normalize_text

IDENTITY_MISMATCH = N_("微警认证失败：姓名或证件号码与签署人不一致")

MESSAGE = "esign_party_signed"


class OrderClosed(DomainError):
    """A callback for an order that no longer waits (cancelled, expired, superseded, fully signed)."""


def signature_by_token(session, token: str) -> ESignSignature | None:
    return session.scalars(sa.select(ESignSignature).where(ESignSignature.token == token)).first()


def identity_matches(party: ContractParty, name: str, id_number: str) -> bool:
    """微警认证, written once: full-width characters and spaces folded; ID numbers compared in their
    comparable form (a party entered with a 15-digit number signs with the 18-digit card)."""
    return (normalize_text(name or "") == normalize_text(party.name)
            and comparable_id(id_number or "") == comparable_id(party.id_number))


def sandbox_sign(session, token: str, name: str, id_number: str, signed_at: str, secret: str) -> tuple[bytes, str]:
    """Check 微警认证 and produce the callback body and its HMAC signature."""
    signature = signature_by_token(session, token)
    if signature is None:
        raise DomainError("签署链接无效或已过期")
    if signature.order.closed_message:
        raise DomainError(signature.order.closed_message)
    if not identity_matches(signature.party, name, id_number):
        raise DomainError(IDENTITY_MISMATCH)
    body = esign.callback_body(signature.order.order_no, signature.party.id, token, signed_at)
    return body, esign.sign(body, secret)


def callback_message(session, body: bytes) -> tuple[str, dict, str]:
    """A verified callback's (business key, message payload, idempotency key)."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise DomainError("回调内容与订单不符")
    signature = signature_by_token(session, str(data.get("token", "")))
    if signature is None or signature.order.order_no != data.get("order_no") \
            or signature.party_id != data.get("party_id"):
        raise DomainError("回调内容与订单不符")
    if signature.order.closed_message:
        # Refused before it is kept as a message: it must never count on this or any later order.
        raise OrderClosed(f"电子合同订单{signature.order.order_no}状态为「{signature.order.status}」，不再接受签名回调")
    contract_no = signature.order.contract.contract_no
    payload = {"order_no": data["order_no"], "party_id": data["party_id"]}
    return contract_no, payload, f"esign:{data['order_no']}:{data['party_id']}"


def accept_callback(session, body: bytes, signature_header: str | None, secret: str) -> tuple[str, dict, str]:
    """Verify a callback; returns (business key, message payload, idempotency key)."""
    if not esign.verify(body, signature_header, secret):
        raise PermissionError("回调签名无效")
    return callback_message(session, body)


def already_signed(session, token: str) -> bool:
    signature = signature_by_token(session, token)
    return signature is not None and signature.status == PARTY_SIGNED
