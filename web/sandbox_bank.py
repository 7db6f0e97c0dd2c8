"""Sandbox of 建设银行's 「龙存管」 system: where the seller is sent to have the parties sign the fund
supervision agreement online (guide §2.2 (五)). When every party has confirmed their identity and
signed, it posts the bank's SIGNED callback, HMAC-signed, exactly as the real bank would; the callback
records the agreement number on the contract."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from handlers.usecases import Refused, supervision

from .context import services
from .i18n import translate

bp = Blueprint("sandbox_bank", __name__, url_prefix="/sandbox/bank")


@bp.route("/longcunguan/<reference>", methods=["GET", "POST"])
def longcunguan(reference):
    case = supervision.sandbox_case(services(), reference)
    parties = case.contract.sellers + case.contract.buyers
    error, agreement_no = None, case.contract.supervision_agreement_no
    if request.method == "POST" and not case.signed:
        identities = [(request.form.get(f"name-{i}", ""), request.form.get(f"id_number-{i}", ""))
                      for i in range(len(parties))]
        try:
            agreement_no = supervision.sandbox_sign(services(), case, identities)
            case.signed = True
        except Refused as err:
            error = translate(err.message)
    return render_template("sandbox/longcunguan.html", case=case, parties=parties, error=error,
                           agreement_no=agreement_no), 422 if error else 200
