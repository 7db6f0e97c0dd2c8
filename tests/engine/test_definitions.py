"""Deploy-time checks and versioning: what an administrator sees when a diagram is wrong."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import DefinitionError, validate_sources
from engine.specs import read_directory

DIAGRAMS = Path(__file__).parent / "diagrams"


def order_xml() -> str:
    return (DIAGRAMS / "order.bpmn").read_text(encoding="utf-8")


def problems_of(xml: str, registry) -> list[str]:
    return validate_sources({"order.bpmn": xml}, registry).problems


def test_clean_diagram_passes(registry):
    report = validate_sources(read_directory(DIAGRAMS), registry)
    assert report.ok, report.problems
    assert report.processes == {"order": "测试订单", "discount_flow": "测试折扣", "deadline": "限期办理"}


def test_doctype_is_refused(registry):
    xml = order_xml().replace('<?xml version="1.0" encoding="UTF-8"?>',
                              '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    [problem] = problems_of(xml, registry)
    assert "DOCTYPE" in problem and "order.bpmn" in problem


def test_service_operator_without_handler_names_the_element(registry):
    xml = order_xml().replace('id="process_order"', 'id="charge_card"')
    [problem] = problems_of(xml, registry)
    assert "「处理订单」" in problem and "charge_card" in problem


def test_user_task_without_form_and_lane_without_role(registry):
    xml = order_xml().replace('value="order_form"', 'value="missing_form"').replace('name="客户"', 'name="访客"')
    problems = problems_of(xml, registry)
    assert any("「填写订单」" in p and "missing_form" in p for p in problems)
    assert any("泳道「访客」" in p for p in problems)


@pytest.mark.parametrize("expression, reason", [
    ('__import__("os").system("id")', "下划线"),
    ('().__class__.__base__.__subclasses__()', "下划线"),
    ('open("/etc/passwd").read()', "open"),
    ('eval("1")', "eval"),
    ('order["deadline"] if len(order) else exec("x=1")', "exec"),
])
def test_unsafe_expressions_are_refused(registry, expression, reason):
    from xml.sax.saxutils import escape
    xml = order_xml().replace('>order["deadline"]<', f">{escape(expression)}<")
    problems = problems_of(xml, registry)
    assert any("「付款期限已到」" in p and reason in p for p in problems), problems


def test_xsd_errors_are_reported(registry):
    xml = order_xml().replace("<bpmn:incoming>F1</bpmn:incoming>", "<bpmn:bogus/>")
    problems = problems_of(xml, registry)
    assert problems and "order.bpmn" in problems[0]


def test_unchanged_bundle_makes_no_new_version_and_instances_keep_theirs(harness):
    engine = harness.engine
    same = {r.process_id: r for r in engine.deploy(read_directory(DIAGRAMS))}["order"]
    assert (same.version, same.created) == (1, False)
    old_case = harness.start("order")
    changed = order_xml().replace('name="填写订单"', 'name="填写订单（新）"')
    [new] = engine.deploy({"order.bpmn": changed})
    assert (new.version, new.created) == (2, True)
    new_case = harness.start("order")
    assert old_case.current_tasks() == ["填写订单"]
    assert new_case.current_tasks() == ["填写订单（新）"]
    old_case.complete("填写订单", {"amount": 1})
    assert old_case.status == "running"


def test_deploy_refuses_and_stores_nothing(harness, registry):
    engine = harness.engine
    bad = order_xml().replace('id="process_order"', 'id="charge_card"')
    with pytest.raises(DefinitionError) as err:
        engine.deploy({"order.bpmn": bad})
    assert any("charge_card" in p for p in err.value.problems)
    again = {r.process_id: r for r in engine.deploy(read_directory(DIAGRAMS))}["order"]
    assert again.version == 1


def test_deploy_refuses_exactly_what_validate_reports(harness, registry):
    # One check pipeline: an administrator's dry run and the deploy never disagree.
    bad = order_xml().replace('id="process_order"', 'id="charge_card"').replace(
        'value="amount"', 'value="__import__(\'os\')"')
    sources = {**read_directory(DIAGRAMS), "order.bpmn": bad}
    report = validate_sources(sources, registry)
    assert len(report.problems) >= 2
    with pytest.raises(DefinitionError) as err:
        harness.engine.deploy(sources)
    assert err.value.problems == sorted(set(report.problems))
