"""Shared fixtures: one throwaway database per test run (SQLite, or PostgreSQL when
``DATABASE_URL`` points at one), emptied before every test that asks for it.

The engine's pytest plugin adds the ``harness`` fixture and the BPMN path-coverage
gate (configured in pyproject.toml); this conftest hands it the HTML renderer."""
from __future__ import annotations

import pytest

from engine import serialization
from engine.db import Base
from engine.testing import (create_sa_engine, database_url_from_env, new_session_factory,
                            throwaway_database, truncate_all)

pytest_plugins = ["engine.pytest_plugin", "pytester"]

# Every state the engine writes during the tests is also written by Spiff's own converter and
# compared: the incremental writer's caching assumptions are checked on every diagram and path.
serialization.VERIFY_INCREMENTAL = True


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


def pytest_bpmn_coverage_html(coverage, sources):
    """The diagrams with taken flows green and missing ones red (drawn by the admin pages' bpmn-js viewer)."""
    try:
        from web.coverage_report import render_coverage_html
    except ImportError:
        return None
    return render_coverage_html(coverage, sources)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Here, not in the suite's folder: under xdist only the root conftest reaches the controller.
    from tests.engine.conformance.scenarios import SCENARIOS, constructs_summary, diagram_count

    refused = sum(1 for s in SCENARIOS if s.refused)
    terminalreporter.write_sep("-", f"conformance: {diagram_count()} diagrams, {len(SCENARIOS)} scenarios "
                                    f"({refused} refused at deploy)")
    terminalreporter.write_line("diagrams per construct: " + ", ".join(
        f"{construct}={n}" for construct, n in constructs_summary().items()))
    # The contract state machine's example count, sent by the workers as test properties (xdist carries those).
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        found = dict(getattr(report, "user_properties", []) or [])
        if "state_machine_examples" in found and report.when == "call":
            terminalreporter.write_line(f"contract state machine: {found['state_machine_examples']} examples "
                                        f"({found.get('state_machine_profile')}); reached "
                                        f"{found.get('state_machine_reached')}")
