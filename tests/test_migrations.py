"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from engine.db import Base
from engine.testing import database_url_from_env, throwaway_database
from web import create_app
from web.config import TestConfig
from web.extensions import db


def test_upgrade_from_empty_matches_models():
    with throwaway_database(database_url_from_env()) as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            db.engine.dispose()
    assert diff == []
