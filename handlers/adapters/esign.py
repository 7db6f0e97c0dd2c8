"""粤信签 e-signature: orders, the signing link each party's QR code opens, signed callbacks.

The sandbox plays the e-sign service on this machine: its page (web/sandbox)
shows the document, checks 微警认证 (name + ID number must match the party),
simulates the face check, and posts a callback signed with HMAC-SHA256 over the
raw body with the shared secret, the way the real service would.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(24)


def signing_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/sandbox/esign/{token}"


def callback_body(order_no: str, party_id: int, token: str, signed_at: str) -> bytes:
    return json.dumps({"event": "签名成功", "order_no": order_no, "party_id": party_id,
                       "token": token, "signed_at": signed_at},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    return signature is not None and bool(signature) and hmac.compare_digest(sign(body, secret), signature)


class ESignService:
    """The 粤信签 service as the netsign side uses it: links, tokens, and checking callbacks."""

    def __init__(self, secret: str, public_base_url: str):
        self.secret = secret
        self.public_base_url = public_base_url

    def new_token(self) -> str:
        return new_token()

    def signing_url(self, token: str) -> str:
        return signing_url(self.public_base_url, token)

    def verify(self, body: bytes, signature: str | None) -> bool:
        return verify(body, signature, self.secret)

    def signed_callback(self, order_no: str, party_id: int, token: str, signed_at: str) -> tuple[bytes, str]:
        """What the sandbox service posts when a party finishes on the phone: body and HMAC."""
        body = callback_body(order_no, party_id, token, signed_at)
        return body, sign(body, self.secret)
