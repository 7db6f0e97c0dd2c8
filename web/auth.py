"""Who is signed in, and what they may do.

The session holds only the account id. ``g.account`` and ``g.roles`` are loaded
once per request. Citizens have the implicit role ``citizen``; staff roles come
from the account (``clerk``, ``reviewer``, ``admin``).
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, session, url_for

from .extensions import db


def load_current_account() -> None:
    g.account = None
    g.roles = set()
    account_id = session.get("account_id")
    if account_id is None:
        return
    from handlers.models import Account

    account = db.session.get(Account, account_id)
    if account is None:
        session.clear()
        return
    g.account = account
    g.roles = set(account_roles(account))


def account_roles(account) -> list[str]:
    roles = getattr(account, "role_list", None)
    if callable(roles):
        roles = roles()
    if roles is None:
        roles = getattr(account, "roles", None) or []
    if isinstance(roles, str):
        roles = [r for r in roles.split(",") if r]
    roles = [getattr(r, "role", r) for r in roles]
    return list(roles) or ["citizen"]


def sign_in(account) -> None:
    session.clear()
    session["account_id"] = account.id
    session.permanent = False


def sign_out() -> None:
    session.clear()


def current_actor() -> str:
    """The actor string recorded by the engine for the signed-in person."""
    return str(g.account.id) if getattr(g, "account", None) is not None else "anonymous"


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
