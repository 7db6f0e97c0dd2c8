"""Process-path tests run the real diagrams with the real housing handlers on the test database."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import handlers
from engine import ProcessEngine, Registry
from engine.testing import ProcessHarness
from handlers.demo import seed_demo
from handlers.models import Account

ROOT = Path(__file__).resolve().parents[2]
ESIGN_SECRET = "test-esign-secret"


@pytest.fixture
def registry():
    registry = Registry()
    handlers.register(registry)
    return registry


@pytest.fixture
def engine_factory(session_factory, registry):
    def make():
        return ProcessEngine(session_factory, registry, backoff=(30, 120))
    engine = make()
    engine.deploy_directory(ROOT / "processes")
    session = session_factory()
    seed_demo(session)
    session.commit()
    return make


@pytest.fixture
def harness(engine_factory):
    return ProcessHarness(engine_factory)


@pytest.fixture
def accounts(session_factory, engine_factory):
    session = session_factory()
    found = {a.name: SimpleNamespace(id=a.id, name=a.name, id_type=a.id_type, id_number=a.id_number)
             for a in session.scalars(sa.select(Account))}
    session.rollback()
    return found
