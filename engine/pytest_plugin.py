"""The engine's pytest plugin: the BPMN path-coverage gate and the ``harness`` fixture.

Every instance started through :class:`engine.testing.ProcessHarness` adds the
sequence flows it took; at the end of a full run the report goes to the coverage
folder and the run fails if a flow of a diagram that must be fully covered was
never taken.  Load it from the root ``conftest.py`` (``pytest_plugins =
["engine.pytest_plugin"]``) and configure it with ini options::

    [tool.pytest.ini_options]
    bpmn_processes = "processes"                 # the diagrams, relative to the rootdir
    bpmn_required_full_coverage = ["*.bpmn"]     # file names or globs in that folder
    bpmn_coverage_dir = "artifacts/process-coverage"

A conftest may draw the HTML report by implementing :func:`pytest_bpmn_coverage_html`
(the engine itself draws no diagrams).  The ``harness`` fixture needs an
``engine_factory`` fixture (a callable returning a :class:`engine.ProcessEngine`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import history
from .coverage import CoverageCollector, FileCoverage, format_text, report
from .runtime import ProcessEngine
from .specs import read_directory
from .testing import ProcessHarness

_collector = CoverageCollector()
# Flows taken only in a loop's earlier passes leave the stored state (engine.history): count them as they go.
history.observers.append(_collector.add_pairs)


class _HookSpecs:
    @pytest.hookspec(firstresult=True)
    def pytest_bpmn_coverage_html(self, coverage: list[FileCoverage], sources: dict[str, str]) -> str | None:
        """The HTML page of the coverage report (None: no page)."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_HookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("bpmn_processes", "folder of the diagrams the coverage gate checks (relative to the rootdir)",
                  default="processes")
    parser.addini("bpmn_required_full_coverage", "diagram file names or globs every flow of which a test must take",
                  type="linelist", default=["*.bpmn"])
    parser.addini("bpmn_coverage_dir", "where the coverage report is written (relative to the rootdir)",
                  default="artifacts/process-coverage")


def _path(config: pytest.Config, option: str) -> Path:
    return config.rootpath / str(config.getini(option))


@pytest.fixture(autouse=True)
def _collect_process_coverage() -> Iterator[None]:
    yield
    try:
        ProcessHarness.collect_all(_collector)
    finally:
        ProcessHarness.live.clear()


@pytest.fixture
def harness(engine_factory: Callable[[], ProcessEngine]) -> ProcessHarness:
    return ProcessHarness(engine_factory)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        for old in _path(session.config, "bpmn_coverage_dir").glob("raw-*.json"):
            old.unlink()


def _is_full_run(config: pytest.Config) -> bool:
    """A run of a part of the suite says nothing about coverage."""
    if config.getoption("-k", default=None):
        return False
    testpaths = [str(p) for p in config.getini("testpaths")]
    full = [[], *([p] for p in testpaths), *([str(config.rootpath / p)] for p in testpaths)]
    return config.args in full


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    coverage_dir = _path(config, "bpmn_coverage_dir")
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    _collector.dump(coverage_dir / f"raw-{worker}.json")
    if hasattr(config, "workerinput"):
        return  # the controller merges
    processes_dir = _path(config, "bpmn_processes")
    if not any(processes_dir.glob("*.bpmn")) or not _is_full_run(config):
        return
    merged = CoverageCollector()
    for raw in coverage_dir.glob("raw-*.json"):
        merged.load(raw)
    _gate(session, processes_dir, coverage_dir, merged)


def _gate(session: pytest.Session, processes_dir: Path, coverage_dir: Path, merged: CoverageCollector) -> None:
    config = session.config
    sources = read_directory(processes_dir)
    coverage = report(sources, merged)
    text = format_text(coverage)
    (coverage_dir / "coverage.txt").write_text(text + "\n", encoding="utf-8")
    html = config.hook.pytest_bpmn_coverage_html(coverage=coverage, sources=sources)
    if html is not None:
        (coverage_dir / "coverage.html").write_text(html, encoding="utf-8")
    reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(text)
    required = {p.name for pattern in config.getini("bpmn_required_full_coverage")
                for p in processes_dir.glob(pattern)}
    incomplete = [fc.file for fc in coverage if fc.file in required and fc.missing]
    if incomplete and session.exitstatus == 0:
        if reporter:
            reporter.write_line(f"FAILED: sequence flows not covered in {', '.join(incomplete)}", red=True)
        session.exitstatus = 1
