"""The diagrams stay readable: the layout check of tools/diagram_layout.py over every process file, and
the check itself proven on diagrams broken on purpose (so a passing run means something)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import diagram_layout as layout  # noqa: E402

FILES = sorted((ROOT / "processes").glob("*.bpmn"))
PV = ROOT / "processes" / "property_verification.bpmn"


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "d.bpmn"
    path.write_text(text, encoding="utf-8")
    return layout.problems(layout.read(path)[1])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_the_diagram_has_no_layout_problem(path):
    assert layout.problems(layout.read(path)[1]) == []


def test_a_label_moved_onto_a_shape_is_found(tmp_path):
    text = PV.read_text(encoding="utf-8")
    broken = re.sub(r'(bpmnElement="Flow_pv_scope_no".*?<dc:Bounds )x="[^"]*" y="[^"]*"', r'\1x="540" y="120"', text, count=1)
    found = problems_of(broken, tmp_path)
    assert "Flow_pv_scope_no 的标签压在 Gateway_business_in_scope 上" in found


def test_a_label_by_the_other_edge_is_found(tmp_path):
    text = PV.read_text(encoding="utf-8")
    # 「否」 placed by the 「是」 edge: readers would take the wrong branch for the default.
    broken = re.sub(r'(bpmnElement="Flow_pv_scope_no".*?<dc:Bounds )x="[^"]*" y="[^"]*"', r'\1x="620" y="112"', text, count=1)
    assert any(p.startswith("Flow_pv_scope_no 的标签离它的连线太远") for p in problems_of(broken, tmp_path))


def test_an_edge_through_a_shape_a_hidden_marker_and_an_unnamed_split_are_found(tmp_path):
    text = PV.read_text(encoding="utf-8")
    broken = text.replace('bpmnElement="Gateway_property_found" isMarkerVisible="true"', 'bpmnElement="Gateway_property_found"')
    broken = broken.replace('name="房源是否验证通过？"', "")
    # The 「业务不予受理」 end event moved onto the 「是」 flow beside it.
    broken = broken.replace('bpmnElement="EndEvent_business_refused"><dc:Bounds x="542" y="227"',
                            'bpmnElement="EndEvent_business_refused"><dc:Bounds x="622" y="117"')
    found = problems_of(broken, tmp_path)
    assert "排他网关 Gateway_property_found 没有显示「X」标记" in found
    assert "分支网关 Gateway_property_found 没有名称（应写成一个问题）" in found
    assert "连线 Flow_pv_scope_yes 穿过 EndEvent_business_refused" in found


def test_fix_moves_only_labels_and_markers_and_leaves_the_rest_of_the_text(tmp_path):
    text = PV.read_text(encoding="utf-8")
    broken = text.replace('bpmnElement="Gateway_property_found" isMarkerVisible="true"', 'bpmnElement="Gateway_property_found"')
    broken = re.sub(r'(bpmnElement="Flow_pv_scope_no".*?<dc:Bounds )x="[^"]*" y="[^"]*"', r'\1x="540" y="120"', broken, count=1)
    path = tmp_path / "d.bpmn"
    path.write_text(broken, encoding="utf-8")
    markers, moved = layout.fix(layout.read(path)[1])
    fixed = layout.patch(broken, markers, moved)
    path.write_text(fixed, encoding="utf-8")
    assert layout.problems(layout.read(path)[1]) == []
    changed = [line for a, line in zip(broken.splitlines(), fixed.splitlines()) if a != line]
    assert len(changed) == 2 and all("BPMNShape" in line or "BPMNEdge" in line for line in changed)
