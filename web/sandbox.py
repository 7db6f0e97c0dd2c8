"""Sandbox of the 粤信签 mini-program: the page a party's QR code opens.

Steps as the guide describes them: read the document → 「确定签署」 within the
time limit → 「微警认证」 (name + ID number) → 「确认授权」 → face check (blink,
open mouth) → 「签名成功」. The last step posts the signed callback to the
netsign side exactly as the real service would (HMAC over the body).
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, render_template, request, session

from engine.db import utcnow
from handlers.documents import contract_sections
from handlers.models import DomainError
from handlers.signing import already_signed, sandbox_sign, signature_by_token

from .extensions import db

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
SIGN_WITHIN_SECONDS = 600


@bp.route("/esign/<token>", methods=["GET", "POST"])
def esign(token):
    signature = signature_by_token(db.session, token)
    if signature is None:
        abort(404)
    contract = signature.order.contract
    state_key = f"esign:{token}"
    step = request.form.get("step") if request.method == "POST" else "read"
    error = None
    if already_signed(db.session, token):
        return render_template("sandbox/esign.html", step="done", signature=signature, contract=contract)
    if step == "confirm":  # 「确定签署」
        session[state_key] = {"opened": time.time()}
        step = "auth"
    elif step == "auth":  # 「微警认证」 then 「确认授权」
        opened = (session.get(state_key) or {}).get("opened", 0)
        if time.time() - opened > SIGN_WITHIN_SECONDS:
            error, step = "已超过规定的签署时间，请重新查阅文件后点击「确定签署」", "read"
        else:
            party = signature.party
            if request.form.get("name", "").strip() != party.name or \
                    request.form.get("id_number", "").strip().upper() != party.id_number.upper():
                error = "微警认证失败：姓名或证件号码与签署人不一致"
            else:
                session[state_key] = {"opened": opened, "authorised": True}
                step = "face"
    elif step == "face":  # the face check passed on the phone: sign and call back
        if not (session.get(state_key) or {}).get("authorised"):
            abort(400)
        party = signature.party
        try:
            body, mac = sandbox_sign(db.session, token, party.name, party.id_number, utcnow().isoformat(),
                                     current_app.config["ESIGN_CALLBACK_SECRET"])
        except DomainError as err:
            error, step = str(err), "read"
        else:
            from .api import receive_esign_callback
            receive_esign_callback(body, mac)
            session.pop(state_key, None)
            signature = signature_by_token(db.session, token)
            contract = signature.order.contract
            step = "done"
    return render_template("sandbox/esign.html", step=step, signature=signature, contract=contract,
                           sections=contract_sections(contract, mask_ids=True), error=error, limit=SIGN_WITHIN_SECONDS // 60)


def init_app(app):
    app.register_blueprint(bp)
