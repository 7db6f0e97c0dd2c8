"""``deliver_message(..., keep=False)``: a request that only makes sense now is discarded, in the same
transaction, when no instance takes it in, so it can never be caught later by another flow of its key."""
from __future__ import annotations

import sqlalchemy as sa

from engine.models import Message


def kept(harness) -> list[str]:
    session = harness.session
    session.expire_all()
    rows = session.scalars(sa.select(Message.idempotency_key).where(Message.consumed_at.is_(None))).all()
    session.rollback()
    return list(rows)


def test_an_unclaimed_message_is_discarded_not_kept(harness):
    case = harness.start("order")
    key = f"ORDER-{case.id}"
    # Nobody waits for it yet: with keep=False it is discarded at once...
    assert harness.engine.deliver_message("paid", key, {"n": 1}, "now-only", keep=False) is True
    assert kept(harness) == []
    case.complete("填写订单", {"amount": 5})
    assert case.status == "running" and case.end_event is None  # ...so the later wait does not catch it
    # and its key stays taken: the same request again is a repeat, not a new message.
    assert harness.engine.deliver_message("paid", key, {"n": 1}, "now-only", keep=False) is False
    # Taken in at once, it is consumed by the instance as usual.
    assert harness.engine.deliver_message("paid", key, {"n": 2}, "taken-now", keep=False) is True
    assert case.end_event == "订单已支付" and kept(harness) == []


def test_by_default_an_early_message_is_still_kept(harness):
    case = harness.start("order")
    key = f"ORDER-{case.id}"
    assert harness.engine.deliver_message("paid", key, {"n": 1}, "early") is True
    assert kept(harness) == ["early"]
