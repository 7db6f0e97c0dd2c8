"""An analyst changes a rule in the browser: opens 「online_signing」 in the editor, edits the deadline
timer in the properties panel, sees a bad expression marked on its element, fixes it, sees the change
against the running version, deploys version 2 with a reason, runs the migration's dry run (the running
contract is listed), migrates it and its deletion timer moves to the new deadline. Screenshots in
artifacts/browser/."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.models import AuditEvent, ProcessDefinition, Timer
from tests.browser.test_walkthrough import (  # noqa: F401 (fixtures)
    browser,
    live_server,
    login_staff,
    see,
    seller_opens_contract,
    shot,
)

TWO_NATURAL_DAYS = 'end_of_natural_day(contract["created_at"], days=2)'

TIMER_VALUE = "#bio-properties-panel-timerEventDefinitionValue"


def set_deadline(page, expression: str) -> None:
    # Select the event as a click on it would (the overlays of an earlier check may lie over its shape).
    page.evaluate("""() => { const m = window.netsignEditor.modeler;
        m.get('selection').select(m.get('elementRegistry').get('Event_signing_deadline')); }""")
    header = page.locator('[data-group-id="group-timer"] .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()
    page.fill(TIMER_VALUE, expression)
    page.press(TIMER_VALUE, "Tab")
    page.wait_for_timeout(400)  # the panel writes after its debounce


def deadline_due(sa_engine):
    """Due time of the waiting 「合同逾期未签」 timer (one running contract in these tests)."""
    with sa_engine.connect() as conn:
        return conn.execute(sa.select(Timer.due_at).where(Timer.name == "合同逾期未签", Timer.state == "waiting")
                            ).scalar_one()


def test_an_analyst_changes_the_deadline_deploys_it_and_moves_a_running_contract(live_server, browser, sa_engine):  # noqa: F811
    """The must-show of issue 13: a running contract's deadline follows a rule changed in the editor."""
    seller = browser.new_page(viewport={"width": 1200, "height": 900})
    seller_opens_contract(seller, live_server, "签订买卖合同线上", "粤（2023）中山市不动产权第0012345号")
    seller.close()
    before = deadline_due(sa_engine)

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login_staff(page, live_server, "admin")
    page.goto(live_server + "/admin/editor/")
    see(page, "online_signing.bpmn")
    page.click("a[href='/admin/editor/online_signing.bpmn']")
    page.wait_for_selector("#netsign-editor[data-ready='true']", timeout=20000)
    see(page, "已打开")

    set_deadline(page, '__import__("os").getcwd()')
    page.click("#editor-check")
    see(page, "已在图上标出")
    marked = page.locator('.djs-element.netsign-problem[data-element-id="Event_signing_deadline"]')
    assert marked.count() == 1
    assert "不安全" in page.inner_text("#editor-problems")
    shot(page, "editor-01-bad-expression-marked")

    set_deadline(page, TWO_NATURAL_DAYS)
    page.click("#editor-check")
    see(page, "检查通过")
    assert page.locator(".netsign-problem").count() == 0
    page.click("#editor-diff")
    see(page, "与运行版本 v1 相比")
    assert "修改：合同逾期未签" in page.inner_text("#editor-problems")
    assert page.locator('.djs-element.netsign-changed[data-element-id="Event_signing_deadline"]').count() == 1
    shot(page, "editor-02-difference")

    page.click("#editor-save")
    see(page, "草稿已保存")
    page.fill("#deploy-reason", "删除期限改为两个自然日")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#editor-deploy button")
    see(page, "已部署新版本")
    shot(page, "editor-03-deployed")
    with sa_engine.connect() as conn:
        newest = conn.execute(sa.select(ProcessDefinition.sources).where(
            ProcessDefinition.process_id == "online_signing", ProcessDefinition.version == 2)).scalar_one()
        assert TWO_NATURAL_DAYS in newest["online_signing.bpmn"]
        reason = conn.execute(sa.select(AuditEvent.details).where(AuditEvent.kind == "definition_deployed")
                              .order_by(AuditEvent.id.desc())).first()[0]["reason"]
        assert reason == "删除期限改为两个自然日"

    # The running contract is still on v1: the dry run lists it, then it is moved and its timer follows.
    page.click("text=迁移运行中的实例到 online_signing v2")
    see(page, "演练报告")
    report = page.inner_text("#migration-report")
    assert "v1 → v2" in report and "可以" in report
    shot(page, "editor-04-migration-dry-run")
    assert deadline_due(sa_engine) == before
    page.click("button:has-text('迁移选中的实例')")
    see(page, "已从版本 1 迁移到版本 2")
    shot(page, "editor-05-migrated")
    assert deadline_due(sa_engine) == before + timedelta(days=1)
    page.close()


def test_the_monitoring_diagrams_mark_the_path_and_the_waiting(live_server, browser):  # noqa: F811
    seller = browser.new_page(viewport={"width": 1200, "height": 900})
    seller.goto(live_server + "/login")
    seller.select_option("select[name=unified_id]", label="张伟")
    seller.click("button:has-text('扫码登录')")
    seller.click("button:has-text('签订买卖合同线上')")
    see(seller, "选择业务类型")
    seller.close()

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login_staff(page, live_server, "admin")
    page.goto(live_server + "/admin/instances?process_id=online_signing")
    page.click("a[href^='/admin/instances/']")
    page.wait_for_selector(".bpmn-monitor[data-file='property_verification.bpmn'][data-ready='true']", timeout=20000)
    current = page.locator(".bpmn-monitor[data-file='property_verification.bpmn'] "
                           ".djs-element.netsign-current[data-element-id='Activity_select_business_type']")
    assert current.count() == 1
    # The start event passed, and the flow from it to the open task, drawn as the path taken.
    passed = page.locator(".bpmn-monitor[data-file='property_verification.bpmn'] .djs-element.netsign-done")
    assert passed.count() == 2
    assert page.locator(".bpmn-monitor[data-file='online_signing.bpmn'] .djs-element.netsign-done").count() >= 1
    shot(page, "monitor-01-instance")

    page.click("text=此版本所有实例的分布")
    page.wait_for_selector(".bpmn-monitor[data-file='property_verification.bpmn'][data-ready='true']", timeout=20000)
    badge = page.locator(".bpmn-monitor[data-file='property_verification.bpmn'] "
                         ".netsign-count[data-element='Activity_select_business_type']")
    assert badge.inner_text() == "等待 1"
    shot(page, "monitor-02-definition")
    page.close()


def test_a_decision_table_opens_and_checks_in_the_editor(live_server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login_staff(page, live_server, "admin")
    page.goto(live_server + "/admin/editor/materials.dmn")
    page.wait_for_selector("#netsign-editor[data-ready='true']", timeout=20000)
    see(page, "已打开")
    page.wait_for_selector(".tjs-table", timeout=10000)  # dmn-js shows the decision table itself
    page.click("#editor-check")
    see(page, "检查通过")
    shot(page, "editor-04-decision-table")
    page.close()
