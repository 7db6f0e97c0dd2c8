"""DMN cells as dmn-js writes them work at run time, or deploy refuses them naming the cell."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import DefinitionError, validate_sources
from engine.specs import read_directory

DMN_JS = Path(__file__).parent / "dmn_js"


def sources(**cells: str) -> dict[str, str]:
    """The dmn-js table with some cells' text replaced (cell id → new text)."""
    files = read_directory(DMN_JS)
    text = files["approval.dmn"]
    for cell_id, new in cells.items():
        start = text.index(f'id="{cell_id}"><text>') + len(f'id="{cell_id}"><text>')
        end = text.index("</text>", start)
        text = text[:start] + new + text[end:]
    files["approval.dmn"] = text
    return files


@pytest.mark.parametrize("approved, level, route", [
    (True, "VIP", "快速通道"),
    (True, "普通", "普通通道"),
    (False, "VIP", "退回"),
    (None, "VIP", None),
])
def test_boolean_column_as_dmn_js_writes_it_runs(harness, registry, approved, level, route):
    assert validate_sources(sources(), registry).problems == []
    harness.engine.deploy(sources())
    case = harness.start("approval_flow", data={"approved": approved, "level": level})
    assert (case.status, case.incidents()) == ("completed", [])
    assert case.data()["route"] == route


@pytest.mark.parametrize("cell, text, reason", [
    ("IE_vip_level", '"VIP","SVIP"', "in ("),
    ("IE_vip_level", 'not("VIP")', "not(...)"),
    ("IE_vip_level", "[1..5]", "区间"),
    ("IE_vip_level", 'in ("VIP", "SVIP")', "? in ("),
    ("IE_vip_level", "&lt;&lt;&gt;", "语法错误"),
    ("IE_vip_level", "  ", "永远不匹配"),
    ("IE_vip_level", "level = 1", "语法错误"),
    ("OE_vip", " ", "语法错误"),
    ("OE_vip", "1/0", "ZeroDivisionError"),
    ("OE_vip", "'a'*10**10", "重复"),
    ("OE_vip", '"x".zfill(10**9)', "zfill"),
    ("OE_vip", "date(2026, 2, 30)", "ValueError"),
    ("OE_vip", 'open("/etc/passwd")', "open"),
])
def test_cells_that_would_fail_or_mislead_at_run_time_are_refused(harness, registry, cell, text, reason):
    changed = sources(**{cell: text})
    found = validate_sources(changed, registry).problems
    assert any("approval.dmn" in p and cell in p and reason in p for p in found), found
    with pytest.raises(DefinitionError):
        harness.engine.deploy(changed)


def test_question_mark_cells_and_unary_tests_pass(registry):
    changed = sources(IE_vip_level='? in ("VIP", "SVIP")', IE_normal_level='!= "黑名单"')
    assert validate_sources(changed, registry).problems == []


def test_registry_globals_are_there_when_cells_are_evaluated_at_deploy(registry):
    registry.expression_globals["fee_rate"] = 0.01
    assert validate_sources(sources(OE_vip="fee_rate * 100"), registry).problems == []


def test_a_data_driven_cell_is_bounded_at_run_time(harness):
    harness.engine.deploy(sources(OE_vip="level * copies"))
    case = harness.start("approval_flow", data={"approved": True, "level": "VIP", "copies": 10 ** 10})
    assert case.status == "error"
    [incident] = case.incidents()
    assert incident.task_name == "选择通道" and "重复" in incident.error
