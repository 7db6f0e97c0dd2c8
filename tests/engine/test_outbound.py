"""The engine's outbox: events written in the caller's transaction, each delivered once per subscriber
(also with two sweeps at once), retried with backoff after a failure, signed so a receiver can check."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from engine import ProcessEngine, Registry
from engine.models import OutboundDelivery, OutboundEvent
from engine.outbound import LocalSubscriber, WebhookSubscriber, sign, signed_headers, verify

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


class Receiver:
    """Stands in for the subscribers' servers: answers with the given statuses, then 200; records each call."""

    def __init__(self, statuses=(), delay=0.0):
        self.statuses = list(statuses)
        self.calls: list[tuple[str, dict]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def post(self, url, data, headers, timeout):
        time.sleep(self.delay)
        with self.lock:
            self.calls.append((url, headers))
            status = self.statuses.pop(0) if self.statuses else 200
        return type("Response", (), {"status_code": status})()


def _engine(session_factory, *subscribers):
    return ProcessEngine(session_factory, Registry(), subscribers=subscribers)


def _emit(engine, count=1, kind="contract_filed"):
    with engine.transaction() as session:
        return [engine.emit(session, kind, {"n": n}, business_key=f"ZS{n:05d}") for n in range(count)]


def _deliveries(session_factory):
    session = session_factory()
    rows = list(session.scalars(sa.select(OutboundDelivery).order_by(OutboundDelivery.id)))
    session.rollback()
    return rows


def test_two_sweeps_at_once_deliver_each_event_once_per_subscriber(session_factory):
    bank, tax = Receiver(delay=0.002), Receiver(delay=0.002)
    engine = _engine(session_factory, WebhookSubscriber("bank", "http://bank/hook", "b", post=bank.post),
                     WebhookSubscriber("tax", "http://tax/hook", "t", post=tax.post))
    ids = _emit(engine, 40)
    done: list[int] = []

    def sweep():
        done.append(engine.deliver_events(limit=1000))
        session_factory.remove()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 80
    for receiver in (bank, tax):
        seen = Counter(headers["Idempotency-Key"] for _, headers in receiver.calls)
        assert set(seen) == set(ids) and set(seen.values()) == {1}
    assert {d.status for d in _deliveries(session_factory)} == {"delivered"}
    assert engine.deliver_events() == 0


def test_a_500_is_retried_after_the_backoff_and_then_delivered_once(session_factory):
    bank = Receiver(statuses=[500])
    engine = _engine(session_factory, WebhookSubscriber("bank", "http://bank/hook", "b", post=bank.post))
    with time_machine.travel(T0, tick=False) as clock:
        [event_id] = _emit(engine)
        assert engine.deliver_events() == 1
        [delivery] = _deliveries(session_factory)
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
        assert delivery.next_attempt_at == T0 + timedelta(seconds=30)
        clock.move_to(T0 + timedelta(seconds=29))
        assert engine.deliver_events() == 0  # not before its time
        clock.move_to(T0 + timedelta(seconds=30))
        assert engine.deliver_events() == 1
        assert engine.deliver_events() == 0
    [delivery] = _deliveries(session_factory)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [h["Idempotency-Key"] for _, h in bank.calls] == [event_id, event_id]  # same key on the retry


def test_after_the_last_attempt_the_delivery_fails_until_an_administrator_retries(session_factory):
    down = Receiver(statuses=[503] * 3)
    engine = ProcessEngine(session_factory, Registry(),
                           subscribers=[WebhookSubscriber("bank", "http://bank/hook", "b", post=down.post)])
    engine.outbound.backoff = (10, 20)
    with time_machine.travel(T0, tick=False) as clock:
        _emit(engine)
        for wait in (0, 10, 20):
            clock.shift(timedelta(seconds=wait))
            assert engine.deliver_events() == 1
        [delivery] = _deliveries(session_factory)
        assert (delivery.status, delivery.attempts) == ("failed", 3)
        clock.shift(timedelta(days=1))
        assert engine.deliver_events() == 0
        assert engine.retry_deliveries([delivery.id]) == 1
        assert engine.deliver_events() == 1
    [delivery] = _deliveries(session_factory)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_events_are_written_only_with_their_transaction_and_only_for_subscribers_that_want_them(session_factory):
    kept: list[str] = []
    sms = LocalSubscriber("sms", lambda session, event: kept.append(event.kind), frozenset({"contract_filed"}))
    engine = _engine(session_factory, sms)
    with pytest.raises(RuntimeError):
        with engine.transaction() as session:
            engine.emit(session, "contract_filed", {})
            raise RuntimeError("the step failed")
    session = session_factory()
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboundEvent)) == 0
    session.rollback()
    _emit(engine, 1, "contract_filed")
    _emit(engine, 1, "contract_deleted")  # recorded, but nobody here wants it
    assert engine.deliver_events() == 1
    assert kept == ["contract_filed"]
    assert len(_deliveries(session_factory)) == 1


def test_a_failing_local_subscriber_is_retried_and_its_writes_undone(session_factory):
    attempts: list[int] = []

    def flaky(session, event):
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("gateway busy")

    engine = _engine(session_factory, LocalSubscriber("sms", flaky))
    with time_machine.travel(T0, tick=False) as clock:
        _emit(engine)
        engine.deliver_events()
        [delivery] = _deliveries(session_factory)
        assert delivery.status == "pending" and "gateway busy" in delivery.last_error
        clock.shift(timedelta(seconds=30))
        engine.deliver_events()
    assert [d.status for d in _deliveries(session_factory)] == ["delivered"]


def test_the_signature_covers_timestamp_and_body_and_a_stale_one_is_refused():
    from engine.outbound import Event

    event = Event("e-1", "contract_filed", "ZS1", None, {"a": 1}, T0)
    body = event.body()
    headers = signed_headers("s3cret", event, body, T0)
    ts, sig = headers["X-Netsign-Timestamp"], headers["X-Netsign-Signature"]
    assert sig == "sha256=" + sign("s3cret", ts, body) and headers["Idempotency-Key"] == "e-1"
    assert verify("s3cret", body, ts, sig, T0 + timedelta(seconds=60))
    assert not verify("other", body, ts, sig, T0)
    assert not verify("s3cret", body.replace(b"1", b"2"), ts, sig, T0)
    assert not verify("s3cret", body, ts, sig, T0 + timedelta(minutes=6))
    assert not verify("s3cret", body, None, sig, T0)
