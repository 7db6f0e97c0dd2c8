"""A Flask app on the test database, emptied, deployed and seeded for every test; sign-in helpers."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.testing import truncate_all
from handlers.models import Account
from handlers.usecases import admin
from web import create_app
from web.config import TestConfig
from web.extensions import db


def ready_app(sa_engine, database_url, tmp_path, **overrides):
    """An emptied database with the processes deployed and the demo data seeded (web and browser tests)."""
    truncate_all(sa_engine)
    settings = dict(SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "uploads"),
                    VAR_DIR=str(tmp_path / "var"), PUBLIC_BASE_URL="http://localhost",
                    ESIGN_CALLBACK_SECRET="web-test-secret")
    app = create_app(TestConfig, **{**settings, **overrides})
    with app.app_context():
        services = app.extensions["netsign"]
        services.engine.deploy_directory(app.config["PROCESSES_DIR"])
        admin.seed(services)
        services.end_session()
    return app


@pytest.fixture
def app(sa_engine, database_url, tmp_path):
    app = ready_app(sa_engine, database_url, tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def account_id(app):
    def find(name: str) -> int:
        with app.app_context():
            found = db.session.scalars(sa.select(Account.id).where(Account.name == name)).one()
            db.session.remove()
            return found
    return find


def login_as(client, account_id: int) -> None:
    with client.session_transaction() as session:
        session["account_id"] = account_id
