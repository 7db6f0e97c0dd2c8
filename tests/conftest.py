"""Shared fixtures: one throwaway database per test run (SQLite, or PostgreSQL when
``DATABASE_URL`` points at one), emptied before every test that asks for it."""
from __future__ import annotations

import pytest

from engine import serialization
from engine.db import Base
from engine.testing import (create_sa_engine, database_url_from_env, new_session_factory,
                            throwaway_database, truncate_all)

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


# ---------------------------------------------------------------- BPMN path coverage
# Every process instance started through the test harness adds the sequence flows it
# took; at the end of the run the report goes to artifacts/process-coverage/ and the
# run fails if a flow of a diagram listed in REQUIRED_FULL_COVERAGE was never taken.

from pathlib import Path

from engine.coverage import CoverageCollector, format_text, report
from engine.specs import read_directory
from engine.testing import ProcessHarness

ROOT = Path(__file__).resolve().parent.parent
COVERAGE_DIR = ROOT / "artifacts" / "process-coverage"
# Every diagram of processes/ must be fully covered.
REQUIRED_FULL_COVERAGE = {p.name for p in (ROOT / "processes").glob("*.bpmn")}
_collector = CoverageCollector()


@pytest.fixture(autouse=True)
def _collect_process_coverage():
    yield
    try:
        ProcessHarness.collect_all(_collector)
    finally:
        ProcessHarness.live.clear()


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        for old in COVERAGE_DIR.glob("raw-*.json"):
            old.unlink()


def pytest_sessionfinish(session, exitstatus):
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    _collector.dump(COVERAGE_DIR / f"raw-{worker}.json")
    if hasattr(session.config, "workerinput"):
        return  # the controller merges
    merged = CoverageCollector()
    for raw in COVERAGE_DIR.glob("raw-*.json"):
        merged.load(raw)
    processes_dir = ROOT / "processes"
    if not any(processes_dir.glob("*.bpmn")) or session.config.getoption("-k", default=None) \
            or session.config.args not in ([], [str(ROOT / "tests")], ["tests"]):
        return  # a partial run says nothing about coverage
    sources = read_directory(processes_dir)
    coverage = report(sources, merged)
    text = format_text(coverage)
    (COVERAGE_DIR / "coverage.txt").write_text(text + "\n", encoding="utf-8")
    _write_html(coverage, sources, merged)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(text)
    incomplete = [fc.file for fc in coverage if fc.file in REQUIRED_FULL_COVERAGE and fc.missing]
    if incomplete and session.exitstatus == 0:
        if reporter:
            reporter.write_line(f"FAILED: sequence flows not covered in {', '.join(incomplete)}", red=True)
        session.exitstatus = 1


def _write_html(coverage, sources, collector) -> None:
    try:
        from web.diagram import render_coverage_html
    except ImportError:
        return
    html = render_coverage_html(coverage, sources)
    (COVERAGE_DIR / "coverage.html").write_text(html, encoding="utf-8")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Here, not in the suite's folder: under xdist only the root conftest reaches the controller.
    from tests.engine.conformance.scenarios import SCENARIOS, constructs_summary, diagram_count

    refused = sum(1 for s in SCENARIOS if s.refused)
    terminalreporter.write_sep("-", f"conformance: {diagram_count()} diagrams, {len(SCENARIOS)} scenarios "
                                    f"({refused} refused at deploy)")
    terminalreporter.write_line("diagrams per construct: " + ", ".join(
        f"{construct}={n}" for construct, n in constructs_summary().items()))
