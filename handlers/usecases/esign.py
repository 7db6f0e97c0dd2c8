"""The 粤信签 round trip as use cases: a signed callback arriving from the e-sign service, and the
sandbox signing page that a party's QR code opens (read the document, 微警认证, face check, sign)."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.db import utcnow

from ..bootstrap import Services
from ..documents import contract_sections
from ..models import ORDER_WAITING, PARTY_SIGNED, Contract, DomainError, ESignSignature
from ..signing import MESSAGE, callback_message, identity_matches, signature_by_token
from .errors import NotFound, Refused, Unauthenticated


@dataclass
class SigningPage:
    signature: ESignSignature
    contract: Contract
    signed: bool
    sections: list = field(default_factory=list)  # the document, ID numbers masked


def receive_callback(services: Services, body: bytes, signature_header: str | None) -> bool:
    """Verify a callback and hand it to the engine as ``esign_party_signed``; False if it is a repeat."""
    if not services.adapters.esign.verify(body, signature_header):
        raise Unauthenticated("回调签名无效")
    try:
        contract_no, payload, idempotency_key = callback_message(services.session, body)
    except DomainError as err:
        raise Refused(str(err) or "回调内容无效") from err
    except ValueError as err:  # not JSON at all: json's own English message says nothing to the caller
        raise Refused("回调内容无效：应为 JSON 对象") from err
    return services.engine.deliver_message(MESSAGE, contract_no, payload, idempotency_key)


def signing_page(services: Services, token: str) -> SigningPage:
    """What the phone shows for a signing link (one look-up of the token per request)."""
    signature = signature_by_token(services.session, token)
    if signature is None:
        raise NotFound("签署链接无效或已过期")
    contract = signature.order.contract
    return SigningPage(signature, contract, signature.status == PARTY_SIGNED,
                       contract_sections(contract, mask_ids=True))


def check_identity(page: SigningPage, name: str, id_number: str) -> None:
    """「微警认证」: the name and ID number typed on the phone must be the signing party's."""
    if not identity_matches(page.signature.party, name, id_number):
        raise Refused("微警认证失败：姓名或证件号码与签署人不一致")


def sign(services: Services, page: SigningPage) -> SigningPage:
    """The face check passed: the sandbox service posts its signed callback, as the real one would."""
    order = page.signature.order
    if order.status != ORDER_WAITING:
        raise Refused(f"电子合同订单状态为「{order.status}」，不能签署")
    party = page.signature.party
    body, mac = services.adapters.esign.signed_callback(order.order_no, party.id, page.signature.token,
                                                        utcnow().isoformat())
    receive_callback(services, body, mac)
    return signing_page(services, page.signature.token)
