"""The application factory: configuration, database, the process engine with the housing registry, blueprints, CLI."""
from __future__ import annotations


from flask import Flask

from engine import ProcessEngine, Registry
from engine.db import configure_sqlite

from .config import ROOT, Config
from .extensions import db, migrate

MIGRATIONS_DIR = str(ROOT / "migrations")


def create_app(config_object: type = Config, **overrides) -> Flask:
    app = Flask(__name__)
    app.config.from_object(config_object)
    app.config.update(overrides)

    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)  # every form; the JSON API blueprint exempts itself
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        configure_sqlite(db.engine)

    registry = Registry()
    import handlers  # the housing business registers its handlers, forms and lane roles

    handlers.register(registry)
    app.extensions["netsign_registry"] = registry
    app.extensions["netsign_engine"] = ProcessEngine(lambda: db.session(), registry)

    from . import auth, i18n

    auth.init_app(app)
    i18n.init_app(app)
    _register_blueprints(app)
    from .cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Each area of the web layer is a blueprint module exposing ``bp``; areas that
    # are not built yet are simply absent.
    import importlib

    for name in ("web.portal", "web.inbox", "web.admin", "web.sandbox", "web.api"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue
            raise
        if hasattr(module, "init_app"):
            module.init_app(app)
        else:
            app.register_blueprint(module.bp)


def get_engine() -> ProcessEngine:
    from flask import current_app

    return current_app.extensions["netsign_engine"]
