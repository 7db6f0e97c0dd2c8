"""Who is signed in, and what they may do.

The session holds only the account id. ``g.account`` (for the header) and ``g.actor``
(what use cases check) are loaded once per request. Citizens have the implicit role
``citizen``; staff roles come from the account (``clerk``, ``reviewer``, ``admin``).
"""
from __future__ import annotations

from datetime import datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from handlers.deadlines import BEIJING
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


def is_local(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no ``//host`` or ``\\host`` a browser reads as one."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def keep_redirects_local(response):
    """Whatever a view asks (a ``next=`` from a link someone sent), the site never redirects off-site."""
    location = response.headers.get("Location")
    if response.status_code in (301, 302, 303, 307, 308) and location and not is_local(location):
        host = request.host_url.rstrip("/")
        if not (location.startswith(host + "/") and is_local(location[len(host):])):
            response.headers["Location"] = url_for("portal.home")
    return response


# ---------------------------------------------------------------- sign-in throttling

# The views that check a password; each refusal counts against the account tried and the address.
LOGIN_ENDPOINTS = ("portal.login_password", "portal.login_legal_person", "portal.associate")


def login_failed() -> None:
    """Called by a sign-in view that refused the password: only failures count towards a lockout."""
    g.login_failed = True


def _failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _account_tried() -> str:
    name = request.form.get("username") or request.form.get("uscc") or request.form.get("id_number") or ""
    return name.strip().upper()


def _remember_reset(limit) -> None:
    g.login_retry_at = limit.reset_at


def _lockout_message() -> str:
    at = datetime.fromtimestamp(g.get("login_retry_at") or 0, BEIJING).strftime("%H:%M")
    return f"登录失败次数过多，账号或本机已暂时锁定，请于 {at}（北京时间）后再试"


def throttle_logins(app) -> None:
    """Lock an account (and an address) out after repeated wrong passwords, even if the next one is right.

    In memory by default (one process); ``RATELIMIT_STORAGE_URI`` (e.g. ``redis://…``) shares the counts
    between processes and restarts.
    """
    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                      strategy="fixed-window", headers_enabled=True)
    per_account = limiter.shared_limit(app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
                                       key_func=_account_tried, deduct_when=_failed,
                                       error_message=_lockout_message, on_breach=_remember_reset)
    per_address = limiter.shared_limit(app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address",
                                       key_func=get_remote_address, deduct_when=_failed,
                                       error_message=_lockout_message, on_breach=_remember_reset)
    for endpoint in LOGIN_ENDPOINTS:
        app.view_functions[endpoint] = per_account(per_address(app.view_functions[endpoint]))


# Sandbox pages, each behind its switch (web/config.py SANDBOXES): off, they do not exist (404).
SANDBOX_ENDPOINTS = {"SANDBOX_IDENTITY": ("portal.login_yss", "portal.login_yss_new"),
                     "SANDBOX_ESIGN": ("sandbox.esign",), "SANDBOX_BANK": ("sandbox_bank.",),
                     "SANDBOX_SMS": ("sandbox.sms", "sandbox.webhook")}


def refuse_switched_off_sandboxes() -> None:
    endpoint = request.endpoint or ""
    for switch, endpoints in SANDBOX_ENDPOINTS.items():
        if not current_app.config.get(switch) and endpoint.startswith(endpoints):
            abort(404)


def init_app(app) -> None:
    app.before_request(refuse_switched_off_sandboxes)
    app.before_request(load_current_account)
    app.after_request(keep_redirects_local)
