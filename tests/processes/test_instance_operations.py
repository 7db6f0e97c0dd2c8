"""What an analyst and an administrator do to contracts that are running: change the deadline rule in the
diagram (no Python change), move running contracts to the new version and back, cancel, suspend and resume,
reset to an earlier task."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from engine import Conflict
from engine.models import AuditEvent, InboxTask, ProcessInstance

from .conftest import ROOT
from .flows import contract_of, start_and_verify

TWO_DAYS = 'end_of_natural_day(contract["created_at"], days=2)'
CREATED = "2026-11-23T10:00:00+08:00"
NEXT_DAY_ENDS = datetime.fromisoformat("2026-11-25T00:00:00+08:00")
TWO_DAYS_END = datetime.fromisoformat("2026-11-26T00:00:00+08:00")


def deploy_two_natural_days(harness) -> int:
    """Version N+1 of online_signing whose 「合同逾期未签」 gives two whole natural days: only the diagram changes."""
    text = (ROOT / "processes" / "online_signing.bpmn").read_text(encoding="utf-8")
    timer = '>end_of_next_natural_day(contract["created_at"])</bpmn:timeDate>'
    assert text.count(timer) == 2  # 「合同逾期未签」 and 「签字后逾期未提交」
    changed = text.replace(timer, f">{TWO_DAYS}</bpmn:timeDate>")
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "processes").iterdir()
               if p.suffix in (".bpmn", ".dmn")}
    results = harness.engine.deploy({**sources, "online_signing.bpmn": changed}, actor="analyst")
    (deployed,) = [r for r in results if r.process_id == "online_signing"]
    assert deployed.created and deployed.version == 2
    return deployed.definition_id


def drafting(harness, seller):
    """A contract just created (its deletion timer waits), at 「填写买卖合同」."""
    case = start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    assert case.current_tasks() == ["填写买卖合同"]
    return case


DELETION_TIMERS = ("合同逾期未签", "签字后逾期未提交")  # not 「删除前一晚提醒」, the SMS the evening before


def waiting_due(case) -> list[datetime]:
    """Due times of the waiting deletion deadlines."""
    return [t.due_at for t in case.timers() if t.state == "waiting" and t.name in DELETION_TIMERS]


def audit_kinds(harness, case) -> list[str]:
    session = harness.session
    session.expire_all()
    return list(session.scalars(sa.select(AuditEvent.kind).where(AuditEvent.instance_id == case.id)
                                .order_by(AuditEvent.id)))


def test_the_deadline_follows_a_deployed_diagram_without_python_changes(harness, accounts):
    seller = accounts["张伟"]
    deploy_two_natural_days(harness)
    with harness.clock(CREATED, tick=False) as clock:
        case = drafting(harness, seller)
        assert waiting_due(case) == [TWO_DAYS_END]
        # What the pages show is the timer, not a value computed in Python.
        contract_no = contract_of(harness, case).contract_no
        assert harness.engine.queries.deadlines([contract_no], DELETION_TIMERS) == {contract_no: TWO_DAYS_END}
        clock.move_to(datetime.fromisoformat("2026-11-25T23:59:59+08:00"))
        harness.fire_timers()  # the evening-before reminder may fire; the deadline must not
        assert case.end_event is None and waiting_due(case) == [TWO_DAYS_END]
        clock.move_to(TWO_DAYS_END)
        assert harness.fire_timers() == 1
    assert case.end_event == "合同已自动删除"


def test_dry_run_lists_running_contracts_then_migrate_and_revert(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False):
        case = drafting(harness, seller)
        assert waiting_due(case) == [NEXT_DAY_ENDS]
        task_before = case.task("填写买卖合同").id
        target = deploy_two_natural_days(harness)
        plans = harness.engine.migration_dry_run("online_signing")
        assert [p.instance_id for p in plans] == [case.id]
        plan = plans[0]
        assert plan.can_move and (plan.from_version, plan.to_version) == (1, 2)
        moves = {m.name: (m.from_id, m.to_id) for m in plan.moves}
        assert moves["填写买卖合同"] == ("Activity_fill_contract", "Activity_fill_contract")
        assert "合同逾期未签" in plan.reset

        (outcome,) = harness.engine.migrate([case.id], target, actor="admin")
        assert outcome.ok, outcome.message
        assert waiting_due(case) == [TWO_DAYS_END]  # the migrated contract's timer moved to the new deadline
        assert case.task("填写买卖合同").id == task_before  # the open form is the same inbox row
        assert harness.engine.queries.instance(case.id).definition_id == target
        assert harness.engine.migration_dry_run("online_signing") == []
        assert "instance_migrated" in audit_kinds(harness, case)

        assert harness.engine.revert_migration(outcome.snapshot_id, actor="admin") == case.id
        assert waiting_due(case) == [NEXT_DAY_ENDS]
        assert harness.engine.queries.instance(case.id).definition_id != target
        with pytest.raises(Conflict, match="已经还原过"):
            harness.engine.revert_migration(outcome.snapshot_id, actor="admin")
        (snapshot,) = harness.engine.queries.snapshots(instance_id=case.id)
        assert snapshot.reverted_by == "admin"
        # After the revert the contract goes on under version 1.
        case.complete("填写买卖合同", _contract(), actor=str(seller.id))
        assert case.current_tasks() == ["填写申请人信息"]


def _contract():
    from .flows import contract_form
    return contract_form()


def test_one_instance_that_cannot_move_does_not_stop_the_bulk_migration(harness, accounts):
    with harness.clock(CREATED, tick=False):
        moving = drafting(harness, accounts["张伟"])
        stuck = harness.start("online_signing", actor=str(accounts["赵敏"].id))
        harness.engine.cancel(stuck.id, "admin", "测试：已取消的业务不能迁移")
        target = deploy_two_natural_days(harness)
        outcomes = harness.engine.migrate([stuck.id, moving.id, 999999], target, actor="admin")
    assert [(o.instance_id, o.ok) for o in outcomes] == [(stuck.id, False), (moving.id, True), (999999, False)]
    assert "已取消" in outcomes[0].message and "不存在" in outcomes[2].message
    assert waiting_due(moving) == [TWO_DAYS_END]
    assert harness.engine.queries.snapshots(instance_id=stuck.id) == []


def test_suspended_timer_waits_and_fires_once_on_resume(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False) as clock:
        case = drafting(harness, seller)
        harness.engine.suspend(case.id, "admin", "核查材料")
        assert case.status == "suspended"
        clock.move_to(datetime.fromisoformat("2026-11-25T09:00:00+08:00"))  # past the deadline
        assert harness.fire_timers() == 0
        assert case.end_event is None and waiting_due(case) == [NEXT_DAY_ENDS]
        with pytest.raises(Conflict, match="已被管理员暂停"):
            case.complete("填写买卖合同", _contract(), actor=str(seller.id))
        result = harness.engine.resume(case.id, "admin")
        assert result.end_event == "合同已自动删除"
        assert harness.fire_timers() == 0
    fired = harness.engine.queries.audit(instance_id=case.id, kinds=["timer_fired"]).items
    assert [e.details["bpmn_id"] for e in fired].count("Event_signing_deadline") == 1
    assert contract_of(harness, case).status == "已删除"
    with pytest.raises(Conflict, match="不能恢复"):
        harness.engine.resume(case.id, "admin")


def test_cancel_closes_tasks_and_timers_with_the_reason(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False):
        case = drafting(harness, seller)
        task_id = case.task("填写买卖合同").id
        with pytest.raises(Conflict, match="请填写原因"):
            harness.engine.cancel(case.id, "admin", "  ")
        result = harness.engine.cancel(case.id, "admin", "当事人申请撤销")
    assert result.status == "cancelled" and case.status == "cancelled"
    assert case.open_tasks() == []
    assert harness.session.get(InboxTask, task_id).state == "CANCELLED"
    assert {t.state for t in case.timers()} == {"cancelled"}
    events = harness.engine.queries.audit(instance_id=case.id, kinds=["instance_cancelled"]).items
    assert events[0].details["reason"] == "当事人申请撤销" and events[0].actor == "admin"
    assert harness.fire_timers() == 0
    with pytest.raises(Conflict, match="不能取消"):
        harness.engine.cancel(case.id, "admin", "再次取消")


def test_reset_to_an_earlier_task_opens_it_again(harness, accounts):
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False):
        case = start_and_verify(harness, seller)
        assert case.current_tasks() == ["确认房源"]
        points = harness.engine.reset_points(case.id)
        names = [p["name"] for p in points]
        assert "选择业务类型" in names and "查询房源" in names
        query = next(p for p in points if p["name"] == "查询房源")
        old_task = case.task("确认房源").id
        harness.engine.reset(case.id, query["task_id"], "admin", "房源信息需重新查询")
        assert case.current_tasks() == ["查询房源"]
        assert harness.session.get(InboxTask, old_task).state == "CANCELLED"
        assert "instance_reset" in audit_kinds(harness, case)
        with pytest.raises(Conflict, match="只能退回到已完成的任务"):
            harness.engine.reset(case.id, case.task("查询房源").id, "admin")
    session = harness.session
    session.expire_all()
    assert session.get(ProcessInstance, case.id).status == "running"


def test_a_contract_waiting_for_signatures_migrates_and_is_signed_on_the_new_version(harness, accounts):
    """Waiting inside the e-signing call activity (messages, the deadline timer): everything maps by id."""
    from .flows import sign_all, to_signing
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False) as clock:
        case = to_signing(harness, seller)
        assert waiting_due(case) == [NEXT_DAY_ENDS]
        target = deploy_two_natural_days(harness)
        (plan,) = harness.engine.migration_dry_run("online_signing")
        assert plan.can_move, plan.problems
        (outcome,) = harness.engine.migrate([case.id], target, actor="admin")
        assert outcome.ok, outcome.message
        assert waiting_due(case) == [TWO_DAYS_END]
        clock.move_to(datetime.fromisoformat("2026-11-25T10:00:00+08:00"))  # past the old deadline
        harness.fire_timers()  # the evening-before reminder may fire; the deadline must not
        assert case.end_event is None and waiting_due(case) == [TWO_DAYS_END]
        sign_all(harness, case)
        assert case.current_tasks() == ["提交"]
        assert waiting_due(case) == [TWO_DAYS_END]  # 「签字后逾期未提交」 uses the new expression too
        case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    assert case.end_event == "已签约"


def test_a_callback_for_a_suspended_contract_is_kept_and_taken_in_on_resume(harness, accounts):
    from .flows import open_order, sign
    seller = accounts["张伟"]
    with harness.clock(CREATED, tick=False):
        from .flows import to_signing
        case = to_signing(harness, seller)
        first, second = open_order(harness, case).signatures
        harness.engine.suspend(case.id, "admin")
        assert sign(harness, first) is True  # accepted and kept
        assert "message_received" not in audit_kinds(harness, case)
        assert harness.engine.deliver_pending() == 0
        harness.engine.resume(case.id, "admin")
        assert audit_kinds(harness, case).count("message_received") == 1
        assert sign(harness, second) is True
        assert case.current_tasks() == ["提交"]


def test_a_move_after_which_a_task_fails_is_refused_and_changes_nothing(harness, accounts):
    """Version N+1 reads data running contracts do not have: each such migration is rolled back."""
    seller = accounts["张伟"]
    text = (ROOT / "processes" / "online_signing.bpmn").read_text(encoding="utf-8")
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "processes").iterdir()
               if p.suffix in (".bpmn", ".dmn")}
    with harness.clock(CREATED, tick=False):
        case = drafting(harness, seller)
        sources["online_signing.bpmn"] = text.replace(
            '>end_of_next_natural_day(contract["created_at"])</bpmn:timeDate>',
            '>end_of_next_natural_day(contract["signed_at"])</bpmn:timeDate>')
        [target] = [r for r in harness.engine.deploy(sources, actor="analyst") if r.process_id == "online_signing"]
        (outcome,) = harness.engine.migrate([case.id], target.definition_id, actor="admin")
        assert not outcome.ok and "合同逾期未签" in outcome.message and "未迁移" in outcome.message
        assert waiting_due(case) == [NEXT_DAY_ENDS] and case.incidents() == []
        assert harness.engine.queries.snapshots(instance_id=case.id) == []
        assert harness.engine.queries.instance(case.id).definition_id != target.definition_id
