"""The application factory: configuration, database, the housing services (composition root in
handlers/bootstrap.py), sign-in, languages, error mapping, blueprints and the ``netsign`` commands."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from engine import IncidentStatus, InstanceStatus
from engine.db import configure_sqlite
from handlers import models as domain
from handlers.bootstrap import Settings, bootstrap
from handlers.deadlines import beijing
from handlers.validation import mask_id_number

from . import (admin, api, auth, cli, editor, errors, i18n, inbox, logs, monitor, ops, portal, register, sandbox,
               sandbox_bank)
from .config import ROOT, Config, load
from .extensions import db, migrate

MIGRATIONS_DIR = str(ROOT / "migrations")


class RowId(IntegerConverter):
    """``<int:…>`` in every route: a number beyond the database's integer (``/instances/10**20``) is an
    absent page (404), never an overflow in the query (500)."""

    def __init__(self, url_map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config_object: type = Config, **overrides: Any) -> Flask:
    """Raises :class:`web.config.ConfigError` for a configuration the system refuses to start with."""
    app = Flask(__name__)
    app.config.update(load(config_object, overrides))
    app.url_map.converters["int"] = RowId
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    logs.init_app(app)  # first: every later before_request already logs with the request's id
    csrf = CSRFProtect(app)  # every form; the JSON API is exempt (HMAC callback, SameSite session cookie)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        configure_sqlite(db.engine)

    # The one place the web hands its session to the engine and the use cases.
    services = bootstrap(db.session, Settings.from_mapping(app.config))
    app.extensions["netsign"] = services
    app.extensions["netsign_engine"] = services.engine
    app.extensions["netsign_registry"] = services.registry

    auth.init_app(app)
    app.before_request(logs.bind_actor)
    i18n.init_app(app)
    errors.init_app(app)
    for blueprint in (portal.bp, register.bp, inbox.bp, admin.bp, editor.bp, monitor.bp, sandbox.bp, sandbox_bank.bp,
                      api.bp, ops.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)
    csrf.exempt(ops.bp)
    csrf.exempt("web.sandbox.webhook_receive")  # a machine posting a signed body, no session
    auth.throttle_logins(app)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
    # Templates compare statuses with the names the code uses, never with their spelled-out values.
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.globals["beijing"] = beijing  # every time a page shows is Beijing time, labelled so
    app.jinja_env.globals.update(DRAFT=domain.DRAFT, SUBMITTED=domain.SUBMITTED, FILED=domain.FILED,
                                 ORDER_WAITING=domain.ORDER_WAITING, ORDER_SIGNED=domain.ORDER_SIGNED,
                                 INCIDENT_RESOLVED=IncidentStatus.RESOLVED,
                                 INSTANCE_STATUSES=[s.value for s in InstanceStatus])
    return app
