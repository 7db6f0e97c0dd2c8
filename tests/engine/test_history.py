"""Loops do not accumulate: finished earlier passes leave the live state (engine/history.py)."""
from __future__ import annotations

import pytest

from engine.coverage import taken_pairs
from engine.testing import ProcessHarness

from .test_constructs import _engine_factory


def _round(case, again: bool) -> None:
    case.complete("登记", {"note": "n"})
    case.complete("复核", {"approved": again})
    case.complete("决定", {"again": again})


@pytest.mark.parametrize("restart", [True, False], ids=["restart-each-step", "cached"])
def test_a_loop_keeps_one_pass_and_its_history(session_factory, restart):
    harness = ProcessHarness(_engine_factory(session_factory, "c_loop_back_parallel.bpmn"),
                             restart_each_step=restart)
    case = harness.start("c_loop_back_parallel")
    sizes = []
    for _ in range(12):
        _round(case, True)
        workflow = harness.engine.load_workflow(case.id)
        sizes.append((len(workflow.tasks), len(workflow.subprocesses)))
    # One pass and what is predicted ahead of it, and the one running review: after 2 rounds as after 12.
    assert sizes[-1] == sizes[1] and sizes[-1][1] == 1, sizes
    workflow = harness.engine.load_workflow(case.id)
    # The flow that led back is still visible to path coverage.
    assert ("Again", "Merge") in taken_pairs(workflow)
    _round(case, False)
    assert case.status == "completed"
    assert case.data()["rounds"] == 13 and case.data()["reviews"] == 13
    assert case.path().count("决定") == 13  # the audit trail keeps every pass
