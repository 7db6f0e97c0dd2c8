"""Shared fixtures: one throwaway database per test run (SQLite, or PostgreSQL when
``DATABASE_URL`` points at one), emptied before every test that asks for it."""
from __future__ import annotations

import pytest

from engine.db import Base
from engine.testing import (create_sa_engine, database_url_from_env, new_session_factory,
                            throwaway_database, truncate_all)


def _import_all_models() -> None:
    # Business tables live in the same metadata; import them when they exist so
    # create_all and truncate_all see the whole schema.
    try:
        import handlers.models  # noqa: F401
    except ImportError:
        pass


@pytest.fixture(scope="session")
def database_url():
    with throwaway_database(database_url_from_env()) as url:
        yield url


@pytest.fixture(scope="session")
def sa_engine(database_url):
    _import_all_models()
    engine = create_sa_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(sa_engine):
    truncate_all(sa_engine)
    factory = new_session_factory(sa_engine)
    yield factory
    factory.remove()
