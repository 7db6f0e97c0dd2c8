"""Instance state: written incrementally, read back whole, and checked against Spiff's own converter."""
from __future__ import annotations

import json

import pytest

from engine import serialization
from engine.serialization import dump_state, load_state


def test_state_read_back_continues_where_it_was(harness):
    case = harness.start("order")
    engine = harness.engine
    workflow = engine.load_workflow(case.id)
    text = dump_state(workflow)
    again = load_state(text, workflow.spec, workflow.subprocess_specs)
    # The same document, whether written by a warm (cached) or a cold writer.
    assert json.loads(dump_state(again)) == json.loads(text)
    assert [t.task_spec.bpmn_name for t in again.get_tasks() if t.state == 16] == ["填写订单"]


def test_unchanged_finished_tasks_are_not_converted_again(harness, monkeypatch):
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    workflow = harness.engine.load_workflow(case.id)
    dump_state(workflow)  # fills the cache
    converted = []
    original = serialization._task_json
    monkeypatch.setattr(serialization, "_task_json", lambda task, ids: converted.append(task) or original(task, ids))
    dump_state(workflow)
    finished = [t for t in workflow.get_tasks() if t.state in (64, 256)]  # COMPLETED, CANCELLED
    assert finished and not any(t in converted for t in finished)


def test_verification_catches_a_change_the_cache_cannot_see(harness, monkeypatch):
    """The writer trusts that a finished task's data is not changed in place; the check would notice."""
    monkeypatch.setattr(serialization, "VERIFY_INCREMENTAL", True)
    case = harness.start("order")
    case.complete("填写订单", {"amount": 5})
    workflow = harness.engine.load_workflow(case.id)
    dump_state(workflow)
    finished = next(t for t in workflow.get_tasks() if t.state == 64 and t.data.get("amount") == 5
                    and t.parent is not None and t.parent.data.get("amount") != 5)
    finished.data["amount"] = 6  # same keys, same size: invisible to the fingerprint
    with pytest.raises(AssertionError, match="incremental state differs"):
        dump_state(workflow)
