"""The editor's difference between two versions of a file: by element id, layout and defaults ignored,
a change inside an element that is not drawn (a timer definition) counted on the element drawn around it."""
from __future__ import annotations

from pathlib import Path

from engine.diagram_diff import diff_diagrams

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
ONLINE = (PROCESSES / "online_signing.bpmn").read_text(encoding="utf-8")
DEADLINE = 'contract["deletion_deadline"]'


def test_the_same_text_has_no_difference():
    assert diff_diagrams(ONLINE, ONLINE).empty


def test_moving_a_shape_or_writing_a_default_is_no_change():
    moved = ONLINE.replace('<dc:Bounds x="', '<dc:Bounds x="1', 3)
    defaults = ONLINE.replace(' cancelActivity="true"', "")
    assert moved != ONLINE and defaults != ONLINE
    assert diff_diagrams(ONLINE, moved).empty
    assert diff_diagrams(ONLINE, defaults).empty


def test_a_timer_expression_is_a_change_of_its_event():
    changed = diff_diagrams(ONLINE, ONLINE.replace(DEADLINE, 'contract["created_at"]', 1)).changed
    assert [(c.id, c.what) for c in changed] == [("Event_signing_deadline", ["定时器"])]
    assert changed[0].label == "合同逾期未签（Event_signing_deadline）"


def test_added_and_removed_elements_are_named():
    extra = '<bpmn:task id="Activity_extra" name="新增环节"/>'
    added = ONLINE.replace("</bpmn:process>", extra + "</bpmn:process>", 1)
    result = diff_diagrams(ONLINE, added)
    assert [c.label for c in result.added] == ["新增环节（Activity_extra）"]
    assert [c.id for c in diff_diagrams(added, ONLINE).removed] == ["Activity_extra"]


def test_a_decision_table_cell_is_a_change():
    dmn = (PROCESSES / "materials.dmn").read_text(encoding="utf-8")
    start = dmn.index("<text>", dmn.index("<inputEntry")) + len("<text>")
    changed = dmn[:start] + "x" + dmn[start:]
    result = diff_diagrams(dmn, changed)
    assert len(result.changed) == 1 and result.changed[0].what == ["内容"]
