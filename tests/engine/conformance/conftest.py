"""Prints how many conformance diagrams exercise each construct at the end of every run."""
from __future__ import annotations

from .scenarios import SCENARIOS, constructs_summary, diagram_count


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    counts = constructs_summary()
    refused = sum(1 for s in SCENARIOS if s.refused)
    terminalreporter.write_sep("-", f"conformance: {diagram_count()} diagrams, {len(SCENARIOS)} scenarios "
                                    f"({refused} refused at deploy)")
    terminalreporter.write_line("diagrams per construct: " + ", ".join(f"{c}={n}" for c, n in counts.items()))
