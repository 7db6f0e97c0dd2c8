"""DMN decision tables run in business-rule tasks with the engine's restricted Python."""
from __future__ import annotations

import pytest

from engine import validate_sources
from engine.specs import read_directory
from tests.engine.conftest import DIAGRAMS


@pytest.mark.parametrize("amount, member, perks", [
    (150, True, ["满百包邮", "会员九折"]),
    (150, False, ["满百包邮"]),
    (10, True, ["会员九折"]),
    (10, False, []),
])
def test_collect_table_outputs_land_in_task_data(harness, amount, member, perks):
    case = harness.start("discount_flow", data={"amount": amount, "member": member})
    assert case.status == "completed"
    assert case.data().get("perks", []) == perks


def test_unsafe_dmn_cell_is_refused(registry):
    sources = read_directory(DIAGRAMS)
    sources["discount.dmn"] = sources["discount.dmn"].replace('"会员九折"', '__import__("os").getcwd()')
    problems = validate_sources(sources, registry).problems
    assert any("discount.dmn" in p and "OE_member" in p and "下划线" in p for p in problems), problems


def test_dmn_bundle_changes_make_a_new_version(harness):
    sources = read_directory(DIAGRAMS)
    sources["discount.dmn"] = sources["discount.dmn"].replace('"满百包邮"', '"满百减十"')
    results = {r.process_id: r for r in harness.engine.deploy(sources)}
    assert results["discount_flow"].created and results["discount_flow"].version == 2
    assert not results["order"].created
