"""Sandbox of the 粤信签 mini-program: the page a party's QR code opens.

Steps as the guide describes them: read the document → 「确定签署」 within the
time limit → 「微警认证」 (name + ID number) → 「确认授权」 → face check (blink,
open mouth) → 「签名成功」. The last step posts the signed callback to the
netsign side exactly as the real service would (HMAC over the body).
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, render_template, request, session

from handlers.usecases import Refused
from handlers.usecases import esign as signing

from .context import services

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
SIGN_WITHIN_SECONDS = 600


@bp.route("/esign/<token>", methods=["GET", "POST"])
def esign(token):
    page = signing.signing_page(services(), token)
    if page.signed:
        return render_template("sandbox/esign.html", step="done", signature=page.signature, contract=page.contract)
    state_key = f"esign:{token}"
    step = request.form.get("step") if request.method == "POST" else "read"
    error = None
    if step == "confirm":  # 「确定签署」
        session[state_key] = {"opened": time.time()}
        step = "auth"
    elif step == "auth":  # 「微警认证」 then 「确认授权」
        opened = (session.get(state_key) or {}).get("opened", 0)
        if time.time() - opened > SIGN_WITHIN_SECONDS:
            error, step = "已超过规定的签署时间，请重新查阅文件后点击「确定签署」", "read"
        else:
            try:
                signing.check_identity(page, request.form.get("name", ""), request.form.get("id_number", ""))
                session[state_key] = {"opened": opened, "authorised": True}
                step = "face"
            except Refused as err:
                error = err.message
    elif step == "face":  # the face check passed on the phone: sign and call back
        if not (session.get(state_key) or {}).get("authorised"):
            abort(400)
        try:
            page = signing.sign(services(), page)
            session.pop(state_key, None)
            step = "done"
        except Refused as err:
            error, step = err.message, "read"
    return render_template("sandbox/esign.html", step=step, signature=page.signature, contract=page.contract,
                           sections=page.sections, error=error, limit=SIGN_WITHIN_SECONDS // 60)
