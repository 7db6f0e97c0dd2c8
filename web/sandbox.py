"""Sandboxes: the 粤信签 mini-program (the page a party's QR code opens), the SMS gateway's outbox
(``/sandbox/sms``) and a webhook receiver of the business events (``/sandbox/webhook``).

The 粤信签 page:

Steps as the guide describes them: read the document → 「确定签署」 within the
time limit → 「微警认证」 (name + ID number) → 「确认授权」 → face check (blink,
open mouth) → 「签名成功」. The last step posts the signed callback to the
netsign side exactly as the real service would (HMAC over the body).
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, jsonify, render_template, request, session
from flask_babel import gettext

from handlers.deadlines import beijing
from handlers.usecases import Refused, outbound
from handlers.usecases import esign as signing
from handlers.usecases.errors import UseCaseError

from .context import services
from .i18n import translate

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
            error, step = gettext("已超过规定的签署时间，请重新查阅文件后点击「确定签署」"), "read"
        else:
            try:
                signing.check_identity(page, request.form.get("name", ""), request.form.get("id_number", ""))
                session[state_key] = {"opened": opened, "authorised": True}
                step = "face"
            except Refused as err:
                error = translate(err.message)
    elif step == "face":  # the face check passed on the phone: sign and call back
        if not (session.get(state_key) or {}).get("authorised"):
            abort(400)
        try:
            page = signing.sign(services(), page)
            session.pop(state_key, None)
            step = "done"
        except Refused as err:
            error, step = translate(err.message), "read"
    return render_template("sandbox/esign.html", step=step, signature=page.signature, contract=page.contract,
                           sections=page.sections, error=error, limit=SIGN_WITHIN_SECONDS // 60,
                           cancellation=page.signature.order.purpose == "注销")


@bp.get("/sms")
def sms():
    """The sandbox SMS gateway's outbox: every message 'sent', per phone."""
    phone = request.args.get("phone", "")
    return render_template("sandbox/sms.html", by_phone=outbound.sms_outbox(services(), phone), phone=phone,
                           beijing=beijing)


@bp.route("/webhook", methods=["GET", "POST"])
def webhook_receive():
    """A subscriber of the business events, as a bank or a tax office would run one: checks the
    HMAC signature and its timestamp (403 otherwise), keeps each event once, lists what it got."""
    if request.method == "GET":
        return render_template("sandbox/webhook.html", receipts=outbound.webhook_receipts(services()),
                               beijing=beijing)
    try:
        new = outbound.receive_webhook(services(), request.get_data(), request.headers.get("X-Netsign-Timestamp"),
                                       request.headers.get("X-Netsign-Signature"))
    except UseCaseError as err:
        return jsonify({"message": err.message}), err.status
    return jsonify({"received": True, "duplicate": not new}), 200
