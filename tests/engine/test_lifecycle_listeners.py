"""The business code hears of an administrator's cancel in the same transaction: what a listener writes commits
with the cancel, and a listener that fails refuses the cancel as a whole (the instance runs on as it was)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.models import AuditEvent, InboxTask


def test_a_listener_hears_the_cancel_and_writes_with_it(harness, registry):
    heard = []

    @registry.on_lifecycle
    def listener(ctx, event, **details):
        heard.append((event, ctx.instance.id, details))
        ctx.audit("business_followed", reason=details["reason"])
        ctx.session.add(AuditEvent(kind="business_row", actor="listener", details={}))

    case = harness.start("order")
    harness.engine.cancel(case.id, "admin", "重复申请")
    assert heard == [("cancelled", case.id, {"reason": "重复申请", "previous_status": "running"})]
    assert case.status == "cancelled"
    kinds = {e.kind: e for e in harness.session.scalars(sa.select(AuditEvent))}
    assert kinds["business_followed"].instance_id == case.id and kinds["business_followed"].actor == "admin"
    assert "business_row" in kinds and "instance_cancelled" in kinds


def test_a_failing_listener_refuses_the_cancel(harness, registry):
    @registry.on_lifecycle
    def listener(ctx, event, **details):
        ctx.audit("business_followed")
        raise RuntimeError("合同状态无法更新")

    case = harness.start("order")
    [task] = case.open_tasks()
    with pytest.raises(RuntimeError, match="合同状态无法更新"):
        harness.engine.cancel(case.id, "admin", "重复申请")
    assert case.status == "running"
    assert harness.session.get(InboxTask, task.id).state == "READY"
    kinds = set(harness.session.scalars(sa.select(AuditEvent.kind).where(AuditEvent.instance_id == case.id)))
    assert not kinds & {"instance_cancelled", "business_followed"}
    case.complete("填写订单", {"amount": 1})  # the instance goes on from where it was


def test_a_listener_is_registered_once(registry):
    def listener(ctx, event, **details):
        pass

    registry.on_lifecycle(listener)
    with pytest.raises(ValueError, match="twice"):
        registry.on_lifecycle(listener)
