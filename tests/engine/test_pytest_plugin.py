"""The engine's pytest plugin, run on a small project of its own: the coverage gate fails a run that
leaves a flow of a required diagram untaken, writes the report, and draws the page through the hook."""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = '''
import pytest
from engine import ProcessEngine
from engine.db import Base
from engine.specs import read_directory
from engine.testing import create_sa_engine, new_session_factory, throwaway_database
from tests.engine.conftest import make_registry

pytest_plugins = ["engine.pytest_plugin"]


@pytest.fixture(scope="session")
def session_factory():
    # Session-wide: the plugin reads the instances back after each test's own fixtures are gone.
    with throwaway_database(None) as url:
        sa_engine = create_sa_engine(url)
        Base.metadata.create_all(sa_engine)
        factory = new_session_factory(sa_engine)
        yield factory
        factory.remove()
        sa_engine.dispose()


@pytest.fixture
def engine_factory(session_factory):
    registry = make_registry()
    ProcessEngine(session_factory, registry).deploy(read_directory("processes"))
    return lambda: ProcessEngine(session_factory, registry)


def pytest_bpmn_coverage_html(coverage, sources):
    return "<html>" + ",".join(sorted(c.file for c in coverage)) + "</html>"
'''

TEST = '''
def test_only_the_first_task(harness):
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
'''


def _project(pytester, required: str) -> None:
    pytester.makeini(f"""
        [pytest]
        testpaths = tests
        bpmn_processes = processes
        bpmn_required_full_coverage = {required}
        bpmn_coverage_dir = report
    """)
    (pytester.path / "processes").mkdir()
    for name in ("order.bpmn", "discount.bpmn", "discount.dmn"):
        shutil.copy(ROOT / "tests" / "engine" / "diagrams" / name, pytester.path / "processes" / name)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (pytester.path / "tests" / "test_order.py").write_text(TEST, encoding="utf-8")


def test_a_flow_left_untaken_fails_the_full_run(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    _project(pytester, "order.bpmn")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FAILED: sequence flows not covered in order.bpmn*"])
    assert "order.bpmn" in (pytester.path / "report" / "coverage.txt").read_text(encoding="utf-8")
    assert (pytester.path / "report" / "coverage.html").read_text(encoding="utf-8") == \
        "<html>discount.bpmn,order.bpmn</html>"


def test_a_diagram_not_required_or_a_partial_run_does_not_fail(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    _project(pytester, "other.bpmn")
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == 0
    pytester.makeini("""
        [pytest]
        testpaths = tests
        bpmn_processes = processes
        bpmn_required_full_coverage = order.bpmn
        bpmn_coverage_dir = report
    """)
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "first_task").ret == 0
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == 1
