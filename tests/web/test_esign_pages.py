"""The e-contract order on the pages: each party sees only their own QR code, the signing page masks phone
numbers, a cancelled order's link stops at its first page, a late callback gets 409 and is never kept."""
from __future__ import annotations

import re

import sqlalchemy as sa

from engine.models import Message
from handlers.demo import ZHAO_MIN_ID
from handlers.models import ESignSignature
from web.extensions import db

from .conftest import login_as
from .test_portal import walk_to_signing


def signatures(app) -> list[tuple[str, str, int, str]]:
    with app.app_context():
        found = [(s.token, s.party.side, s.party_id, s.order.order_no)
                 for s in db.session.scalars(sa.select(ESignSignature).order_by(ESignSignature.id))]
        db.session.remove()
    return found


def qr_tokens(app, page: str) -> list[str]:
    """The tokens behind the QR codes shown: each code is labelled with its party, so read the labels."""
    return re.findall(r'<div class="qr card"><div>(\S+) ', page)


def test_each_party_sees_only_their_own_qr_code(app, client, account_id):
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    seller_page = client.get(contract_url + "?qr=1").data.decode()
    assert seller_page.count("data:image/png;base64,") == 1 and qr_tokens(app, seller_page) == ["卖方"]
    buyer = app.test_client()
    login_as(buyer, account_id("赵敏"))
    buyer_page = buyer.get(contract_url + "?qr=1").data.decode()
    assert buyer_page.count("data:image/png;base64,") == 1 and qr_tokens(app, buyer_page) == ["买方"]


def test_signing_page_masks_phone_numbers(app, client, account_id):
    login_as(client, account_id("张伟"))
    walk_to_signing(client, ZHAO_MIN_ID)
    token = next(t for t, side, _, _ in signatures(app) if side == "买方")
    page = app.test_client().get(f"/sandbox/esign/{token}").data.decode()
    assert "13900005555" not in page and "13800001111" not in page
    assert "13*******55" in page and "13*******11" in page


def test_cancelled_order_link_stops_and_late_callback_is_refused(app, client, account_id):
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    token, _, party_id, order_no = next(s for s in signatures(app) if s[1] == "买方")
    with app.app_context():
        from handlers.adapters.esign import callback_body, sign
        body = callback_body(order_no, party_id, token, "2026-11-24T10:00:00+08:00")
        mac = sign(body, app.config["ESIGN_CALLBACK_SECRET"])
    contract_no = contract_url.rstrip("/").rsplit("/", 1)[-1]
    cancelled = client.post(f"/contract/{contract_no}/cancel-order", follow_redirects=True).data.decode()
    assert "电子合同订单已注销" in cancelled
    phone = app.test_client()
    page = phone.get(f"/sandbox/esign/{token}").data.decode()
    assert "签署链接已失效" in page and "已注销" in page and "确定签署" not in page
    late = app.test_client().post("/api/v1/esign/callback", data=body, headers={"X-Signature": mac,
                                                                               "Content-Type": "application/json"})
    assert late.status_code == 409 and "已注销" in late.get_json()["message"]
    with app.app_context():
        kept = db.session.scalars(sa.select(Message).where(Message.consumed_at.is_(None))).all()
        db.session.remove()
    assert kept == []
