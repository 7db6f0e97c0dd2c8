"""「立即注册」 on the sandbox unified identity platform: 账号密码 for 港澳台 and foreign people, 法人 for a unit.
A registered person then chooses on 用户关联 to link an existing netsign account or create one, as the guide
describes (section 1.1)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from handlers.registration import PERSON_ID_TYPES, REPRESENTATIVE_ID_TYPES
from handlers.usecases import Invalid, accounts

from .context import services

bp = Blueprint("register", __name__, url_prefix="/register")


def _form_page(template: str, register, **context):
    if request.method == "GET":
        return render_template(template, values={}, errors={}, **context)
    form = request.form.to_dict()
    try:
        identity = register(services(), form)
    except Invalid as err:
        form.pop("password", None), form.pop("password_again", None)  # never echoed back into the page
        return render_template(template, values=form, errors=err.errors, message=err.message, **context), 422
    session["unified_identity"] = accounts.identity_to_session(identity)
    return redirect(url_for("portal.associate"))


@bp.route("/person", methods=["GET", "POST"])
def person():
    return _form_page("portal/register_person.html", accounts.register_person, id_types=PERSON_ID_TYPES)


@bp.route("/legal-person", methods=["GET", "POST"])
def legal_person():
    return _form_page("portal/register_legal.html", accounts.register_legal_person,
                      id_types=REPRESENTATIVE_ID_TYPES)
