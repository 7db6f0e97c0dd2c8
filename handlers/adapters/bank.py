"""The banks that supervise a sale's funds (guide §2.2 (五)), one adapter each, sandboxes by default.

建设银行 is connected online: the seller is sent to its 「龙存管」 system, where the parties sign the
supervision agreement; the bank then posts a SIGNED callback (HMAC-SHA256 over the body, header
X-Signature, like 粤信签) carrying the agreement number. 农村商业银行 is done at a branch: the adapter
opens no online case, the parties follow the 《用户操作手册》. On this machine both are sandboxes
(web/sandbox_bank.py plays 「龙存管」); a real adapter implements :class:`SupervisionBank`.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Protocol

from .esign import sign, verify

SIGNED = "SIGNED"


@dataclass(frozen=True)
class SupervisionCase:
    bank: str
    reference: str
    online: bool
    url: str | None  # where the parties sign online; None at a branch


class SupervisionBank(Protocol):
    name: str
    online: bool

    def new_reference(self) -> str: ...

    def case(self, reference: str) -> SupervisionCase: ...

    def verify(self, body: bytes, signature: str | None) -> bool: ...


def callback_body(bank: str, reference: str, agreement_no: str, signed_at: str) -> bytes:
    return json.dumps({"event": SIGNED, "bank": bank, "reference": reference, "agreement_no": agreement_no,
                       "signed_at": signed_at}, ensure_ascii=False, sort_keys=True).encode("utf-8")


class SandboxLongCunGuan:
    """建设银行「龙存管」 as a sandbox: a page on this site, and the callback it would send."""

    name = "建设银行"
    online = True

    def __init__(self, secret: str, public_base_url: str):
        self.secret = secret
        self.public_base_url = public_base_url.rstrip("/")

    def new_reference(self) -> str:
        return "CCB" + secrets.token_hex(10).upper()

    def case(self, reference: str) -> SupervisionCase:
        return SupervisionCase(self.name, reference, True, f"{self.public_base_url}/sandbox/bank/longcunguan/{reference}")

    def verify(self, body: bytes, signature: str | None) -> bool:
        return verify(body, signature, self.secret)

    def new_agreement_no(self) -> str:
        return "LCG" + secrets.token_hex(6).upper()

    def signed_callback(self, reference: str, agreement_no: str, signed_at: str) -> tuple[bytes, str]:
        body = callback_body(self.name, reference, agreement_no, signed_at)
        return body, sign(body, self.secret)


class BranchBank:
    """农村商业银行: supervision is completed at a branch, so there is no online case and no callback."""

    name = "农村商业银行"
    online = False

    def new_reference(self) -> str:
        return "RCB" + secrets.token_hex(10).upper()

    def case(self, reference: str) -> SupervisionCase:
        return SupervisionCase(self.name, reference, False, None)

    def verify(self, body: bytes, signature: str | None) -> bool:
        return False  # no callbacks: what happens at the branch is not reported online
