"""Who is signed in, and what they may do.

The session holds only the account id. ``g.account`` (for the header) and ``g.actor``
(what use cases check) are loaded once per request. Citizens have the implicit role
``citizen``; staff roles come from the account (``clerk``, ``reviewer``, ``admin``).
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, session, url_for

from handlers.usecases import accounts

from .context import services


def load_current_account() -> None:
    account, actor = accounts.actor_of(services(), session.get("account_id"))
    if account is None and "account_id" in session:
        session.clear()
    g.account, g.actor, g.roles = account, actor, set(actor.roles)


def sign_in(account) -> None:
    session.clear()
    session["account_id"] = account.id
    session.permanent = False


def sign_out() -> None:
    session.clear()


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if getattr(g, "account", None) is None:
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("portal.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    """Allow the view only to accounts holding one of ``roles`` (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not (g.roles & set(roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def init_app(app) -> None:
    app.before_request(load_current_account)
