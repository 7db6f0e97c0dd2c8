"""The 粤信签 round trip as use cases: a signed callback arriving from the e-sign service, and the
sandbox signing page that a party's QR code opens (read the document, 微警认证, face check, sign)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from engine import logcontext
from engine.db import utcnow

from ..bootstrap import Services
from ..documents import contract_sections
from ..models import PARTY_SIGNED, Contract, DomainError, ESignSignature
from ..signing import (
    IDENTITY_MISMATCH,
    MESSAGE,
    OrderClosed,
    callback_message,
    identity_matches,
    signature_by_token,
)
from .errors import Conflict, NotFound, Refused, Unauthenticated
from .ops import ACCEPTED, CALLBACKS, REFUSED

log = logging.getLogger(__name__)


@dataclass
class SigningPage:
    signature: ESignSignature
    contract: Contract
    signed: bool
    sections: list = field(default_factory=list)  # the document, ID numbers and phones masked
    closed: str | None = None  # why the order takes no signature any more: the link stops at its first page


def receive_callback(services: Services, body: bytes, signature_header: str | None) -> bool:
    """Verify a callback and hand it to the engine as ``esign_party_signed``; False if it is a repeat."""
    if not services.adapters.esign.verify(body, signature_header):
        services.engine.record_audit("esign_callback_refused", "esign", reason="签名无效", bytes=len(body),
                                     sha256=hashlib.sha256(body).hexdigest())
        CALLBACKS.labels(REFUSED, "signature").inc()
        raise Unauthenticated("回调签名无效")
    try:
        contract_no, payload, idempotency_key = callback_message(services.session, body)
    except OrderClosed as err:
        # The audit trail of a refused callback: which order, in which state (it is never kept).
        log.warning("esign callback refused: %s", err)
        services.engine.record_audit("esign_callback_refused", "esign", reason=str(err),
                                     sha256=hashlib.sha256(body).hexdigest())
        CALLBACKS.labels(REFUSED, "order_closed").inc()
        raise Conflict(str(err)) from err
    except DomainError as err:
        CALLBACKS.labels(REFUSED, "invalid").inc()
        raise Refused(str(err) or "回调内容无效") from err
    except ValueError as err:  # not JSON at all: json's own English message says nothing to the caller
        CALLBACKS.labels(REFUSED, "not_json").inc()
        raise Refused("回调内容无效：应为 JSON 对象") from err
    logcontext.bind(business_key=contract_no)
    fresh = services.engine.deliver_message(MESSAGE, contract_no, payload, idempotency_key)
    CALLBACKS.labels(ACCEPTED, "new" if fresh else "duplicate").inc()
    return fresh


def signing_page(services: Services, token: str) -> SigningPage:
    """What the phone shows for a signing link (one look-up of the token per request)."""
    signature = signature_by_token(services.session, token)
    if signature is None:
        raise NotFound("签署链接无效或已过期")
    contract = signature.order.contract
    signed = signature.status == PARTY_SIGNED
    return SigningPage(signature, contract, signed, contract_sections(contract, mask_ids=True),
                       closed=None if signed else signature.order.closed_message)


def check_identity(page: SigningPage, name: str, id_number: str) -> None:
    """「微警认证」: the name and ID number typed on the phone must be the signing party's."""
    if not identity_matches(page.signature.party, name, id_number):
        raise Refused(IDENTITY_MISMATCH)


def sign(services: Services, page: SigningPage) -> SigningPage:
    """The face check passed: the sandbox service posts its signed callback, as the real one would."""
    order = page.signature.order
    if order.closed_message:
        raise Refused(order.closed_message)
    party = page.signature.party
    body, mac = services.adapters.esign.signed_callback(order.order_no, party.id, page.signature.token,
                                                        utcnow().isoformat())
    receive_callback(services, body, mac)
    return signing_page(services, page.signature.token)
