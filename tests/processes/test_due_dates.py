"""Due dates declared in the diagrams (dueIn on 审核备案 and 审核注销): kept on the inbox row, the 「已逾期」
filter, and the escalation the diagram draws (a non-interrupting timer that texts the reviewers)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.models import InboxTask
from handlers.models import SmsMessage
from handlers.usecases import tasks as task_cases
from handlers.usecases.policy import Actor

from .flows import offline_to_window, staff, upload_materials
from .test_cancellation import CLERK, REVIEWER, contract_of_no, filed_offline, intake

T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")
REVIEWER_PHONES = {"13700000003", "13700000004"}


def _texts(harness) -> dict[str, list[str]]:
    session = harness.session
    session.expire_all()
    found: dict[str, list[str]] = {}
    for m in session.scalars(sa.select(SmsMessage).order_by(SmsMessage.id)):
        found.setdefault(m.phone, []).append(m.text)
    session.rollback()
    return found


def _overdue(services, reviewer) -> list[str]:
    me = Actor(reviewer.id, str(reviewer.id), roles=frozenset({"reviewer"}))
    page = task_cases.staff_inbox(services, me, task_cases.InboxFilter(overdue=True))
    names = [t.name for t in page]
    services.end_session()
    return names


def test_the_filing_review_is_due_in_a_day_then_overdue_and_the_reviewers_are_texted(harness, accounts, services):
    seller, clerk, reviewer = accounts["张伟"], accounts["窗口受理员甲"], accounts["审核员甲"]
    with harness.clock(T0) as clock:
        case = offline_to_window(harness, seller)
        staff(harness, case, "受理并核验身份", clerk, {"identities_checked": True}, CLERK)
        staff(harness, case, "打印表格并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
        review = case.task("审核备案")
        row = harness.session.get(InboxTask, review.id)
        assert row.due_at - row.created_at == timedelta(days=1)  # P1D from when it arrived
        assert row.due_at - T0 < timedelta(days=1, minutes=5)
        clerk_row = harness.session.scalars(sa.select(InboxTask).where(
            InboxTask.instance_id == case.id, InboxTask.name == "受理并核验身份")).one()
        assert clerk_row.due_at is None  # no dueIn in the diagram: no due date
        harness.session.rollback()
        clock.move_to(T0 + timedelta(hours=23, minutes=59))
        assert harness.fire_timers() == 0 and _overdue(services, reviewer) == []
        clock.move_to(T0 + timedelta(days=1, minutes=5))
        assert harness.fire_timers() == 1
        assert case.current_tasks() == ["审核备案"]  # non-interrupting: still the reviewer's task
        assert _overdue(services, reviewer) == ["审核备案"]
        harness.engine.deliver_events()
        texts = _texts(harness)
        assert set(texts) == REVIEWER_PHONES  # unclaimed: every reviewer
        assert "业务「审核备案」" in texts["13700000003"][0] and "办理期限为2026年11月25日 09:0" in texts["13700000003"][0]
        staff(harness, case, "审核备案", reviewer, {"review_decision": "通过"}, REVIEWER)
        assert _overdue(services, reviewer) == []
    assert case.end_event == "已签约"


def test_the_cancellation_review_escalates_to_the_reviewer_who_claimed_it(harness, accounts, services):
    clerk, reviewer = accounts["窗口受理员乙"], accounts["审核员乙"]
    with harness.clock(T0) as clock:
        contract = filed_offline(harness, accounts)
        case = harness.start("offline_cancellation", actor=str(clerk.id))
        staff(harness, case, "受理注销申请", clerk, intake(contract.contract_no), CLERK)
        staff(harness, case, "采集照片并上传材料", clerk, upload_materials(harness, case, clerk), CLERK)
        review = case.task("审核注销")
        harness.engine.claim(review.id, str(reviewer.id), ["reviewer"])
        clock.move_to(T0 + timedelta(days=1, hours=1))
        assert harness.fire_timers() == 1
        harness.engine.deliver_events()
        texts = _texts(harness)
        # The parties got 「已签约」 earlier; of the reviewers only the one who claimed it is texted.
        assert {phone for phone in texts if phone in REVIEWER_PHONES} == {"13700000004"}
        assert f"业务「审核注销」（{contract.contract_no}）" in texts["13700000004"][0]
        staff(harness, case, "审核注销", reviewer, {"review_decision": "通过"}, REVIEWER)
    assert case.end_event == "已注销"
    assert contract_of_no(harness, contract.contract_no).status == "已注销"
