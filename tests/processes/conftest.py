"""Process-path and use-case tests run the real diagrams with the real housing handlers on the test database,
wired by the same composition root as the web (handlers/bootstrap.py)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from engine import ProcessEngine
from handlers.bootstrap import Settings, bootstrap
from handlers.demo import seed_demo
from handlers.models import Account

ROOT = Path(__file__).resolve().parents[2]
ESIGN_SECRET = "test-esign-secret"
BACKOFF = (30, 120)


@pytest.fixture
def services(session_factory, tmp_path):
    """Deployed, seeded, with uploads and pending deploys in the test's own folder."""
    settings = Settings(upload_dir=str(tmp_path / "uploads"), pending_deploy_dir=str(tmp_path / "pending"),
                        esign_callback_secret=ESIGN_SECRET, public_base_url="http://localhost")
    services = bootstrap(session_factory, settings, backoff=BACKOFF)
    services.engine.deploy_directory(ROOT / "processes")
    session = session_factory()
    seed_demo(session)
    session.commit()
    return services


@pytest.fixture
def registry(services):
    return services.registry


@pytest.fixture
def engine_factory(session_factory, services):
    def make():
        return ProcessEngine(session_factory, services.registry, backoff=BACKOFF,
                             subscribers=services.engine.outbound.subscribers)
    return make


@pytest.fixture
def accounts(session_factory, services):
    session = session_factory()
    found = {a.name: SimpleNamespace(id=a.id, name=a.name, id_type=a.id_type, id_number=a.id_number)
             for a in session.scalars(sa.select(Account))}
    session.rollback()
    return found
