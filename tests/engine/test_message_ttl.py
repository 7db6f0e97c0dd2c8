"""A message no instance waits for is kept for its time-to-live at most: delivered if its receiver arrives
before, expired by the worker's sweep after (an audit row each, in one bounded transaction)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from engine import ProcessEngine, worker
from engine.specs import read_directory

HERE = Path(__file__).parent
BASE = datetime.fromisoformat("2026-11-24T10:00:00+08:00")


@pytest.fixture
def engine(session_factory, registry):
    engine = ProcessEngine(session_factory, registry, message_ttl=timedelta(days=7))
    engine.deploy(read_directory(HERE / "diagrams_sweeps"))
    return engine


def _reread(engine):
    engine.session_factory().expire_all()


def test_a_kept_message_expires_once_the_clock_passes_its_ttl(engine):
    with time_machine.travel(BASE, tick=False) as clock:
        assert engine.deliver_message("poke", "K-1", {"n": 1}, "poke-1")
        [kept] = engine.queries.messages(business_key="K-1")
        assert kept.expires_at == BASE + timedelta(days=7)
        clock.shift(timedelta(days=7) - timedelta(seconds=1))
        assert worker.sweep(engine)["expired"] == 0
        clock.shift(timedelta(seconds=1))
        assert worker.sweep(engine)["expired"] == 1
        _reread(engine)
        assert engine.queries.messages(business_key="K-1").items == []
        [expired] = engine.queries.messages(state="expired", business_key="K-1")
        assert expired.expired_at == BASE + timedelta(days=7) and expired.instance_id is None
        [audit] = engine.queries.audit(kinds=["message_expired"])
        assert audit.details["idempotency_key"] == "poke-1" and audit.actor == "worker"
        # Its receiver comes too late: it waits, the message is gone.
        late = engine.start("poke", "tester", business_key="K-1")
        assert late.status == "running"
        assert worker.sweep(engine) == {"timers": 0, "messages": 0, "retries": 0, "expired": 0, "events": 0,
                                        "archived": 0}


def test_a_kept_message_is_delivered_if_its_receiver_arrives_before_its_ttl(engine):
    with time_machine.travel(BASE, tick=False) as clock:
        assert engine.deliver_message("poke", "K-2", {}, "poke-2", ttl=timedelta(hours=1))
        clock.shift(timedelta(minutes=59))
        assert engine.start("poke", "tester", business_key="K-2").status == "completed"
        clock.shift(timedelta(hours=2))
        assert worker.sweep(engine)["expired"] == 0
        _reread(engine)
        [consumed] = engine.queries.messages(state="consumed", business_key="K-2")
        assert consumed.instance_id is not None and consumed.expired_at is None


def test_a_message_past_its_ttl_is_not_taken_in_before_the_sweep_expires_it(engine):
    with time_machine.travel(BASE, tick=False) as clock:
        assert engine.deliver_message("poke", "K-3", {}, "poke-3", ttl=timedelta(hours=1))
        clock.shift(timedelta(hours=1))
        assert engine.start("poke", "tester", business_key="K-3").status == "running"


def test_the_expiry_sweep_is_bounded_and_goes_on_in_the_next_batch(engine):
    with time_machine.travel(BASE, tick=False) as clock:
        for n in range(5):
            engine.deliver_message("poke", f"B-{n}", {}, f"bulk-{n}", ttl=timedelta(minutes=1))
        clock.shift(timedelta(minutes=1))
        assert engine.expire_messages(limit=3) == 3
        assert engine.expire_messages(limit=3) == 2
        assert len(engine.queries.audit(kinds=["message_expired"]).items) == 5


def test_a_failing_expiry_never_fails_the_sweep(engine, monkeypatch):
    from engine import store

    def broken(*args, **kwargs):
        raise RuntimeError("数据库不可用")

    with time_machine.travel(BASE, tick=False) as clock:
        engine.deliver_message("poke", "K-4", {}, "poke-4", ttl=timedelta(minutes=1))
        clock.shift(timedelta(minutes=1))
        monkeypatch.setattr(store, "expire_messages", broken)
        assert worker.sweep(engine)["expired"] == 0
        monkeypatch.undo()
        assert worker.sweep(engine)["expired"] == 1
