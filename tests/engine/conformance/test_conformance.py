"""Every conformance diagram behaves through the engine, reloaded after every step, as in SpiffWorkflow alone.

One test per scenario (its id starts with the construct it is about); a diagram
the engine refuses at deploy must be refused for the reason its scenario names.
"""
from __future__ import annotations

import pytest

from engine.specs import DefinitionError

from .runners import deploy_and_check, run_in_engine, run_in_memory, sources_of
from .scenarios import REFUSAL_REASONS, SCENARIOS, constructs_summary, diagram_count


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_engine_matches_spiffworkflow(session_factory, scenario):
    if scenario.refused:
        with pytest.raises(DefinitionError) as refused:
            deploy_and_check(session_factory, scenario)
        assert REFUSAL_REASONS[scenario.refused] in str(refused.value)
        return
    make_engine = deploy_and_check(session_factory, scenario)
    expected = run_in_memory(scenario)
    actual = run_in_engine(make_engine, scenario)
    assert actual["steps"] == expected["steps"], "flow nodes passed per action differ"
    assert actual["errors"] == expected["errors"], "errors differ"
    assert actual["final"] == expected["final"], "final state differs"
    if expected["errors"]:
        assert actual["status"] == "error"
    elif expected["final"]["completed"]:
        assert actual["status"] == "completed"


def test_every_construct_has_a_diagram():
    constructs = constructs_summary()
    assert diagram_count() >= 25
    required = {"bpmn:task", "manualTask", "userTask", "scriptTask", "serviceTask", "businessRuleTask",
                "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                "gateway-no-true-condition", "subProcess", "callActivity", "standardLoop",
                "multiInstance-parallel-collection", "multiInstance-sequential-cardinality",
                "multiInstance-parallel-cardinality", "multiInstance-pre-post-scripts",
                "eventSubProcess-interrupting", "eventSubProcess-non-interrupting",
                "boundaryTimer-interrupting", "boundaryTimer-non-interrupting",
                "timer-date", "timer-duration", "timer-cycle", "message-correlation", "sendTask", "throwEvent",
                "userTask-variableName", "dataObject", "lanes", "integer-dict-keys",
                "timerStartEvent-date", "timerStartEvent-duration", "timerStartEvent-computed",
                "sendTask-other-instance", "throwEvent-other-instance", "receiveTask-from-other-instance"}
    assert required <= set(constructs), required - set(constructs)
    for scenario in SCENARIOS:
        assert sources_of(scenario)
