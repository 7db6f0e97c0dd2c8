"""Prints how many conformance diagrams exercise each construct at the end of a run."""
from __future__ import annotations

from .scenarios import SCENARIOS, constructs_summary, diagram_count


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not any("conformance" in str(a) for a in config.args) and config.args not in ([], ["tests"]):
        return
    counts = constructs_summary()
    terminalreporter.write_sep("-", f"conformance: {diagram_count()} diagrams, {len(SCENARIOS)} scenarios")
    terminalreporter.write_line(", ".join(f"{construct}={n}" for construct, n in counts.items()))
