"""Outbound events: a transactional outbox and its delivery to subscribers.

A step (through :meth:`engine.step.StepContext.emit`) or a use case's own transaction writes an event
row and one delivery row per subscriber that wants its kind, in the same transaction as the change
it reports: a step that rolls back leaves no event, a step that commits cannot lose one.  After
commit the worker's sweep delivers them (:meth:`Outbound.deliver_due`): it claims the next due
delivery (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers split the work; SQLite has one writer)
by moving its next attempt a lease ahead and commits; then a remote subscriber (a webhook) gets the
event outside any transaction, and a second transaction records the outcome: delivered, or the next
attempt after an exponential backoff, or ``failed`` after the last one (an administrator may retry).
A local subscriber (one that writes rows, e.g. an SMS outbox) runs inside the claiming transaction,
so its rows and the delivered mark commit together.

Webhooks are signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` (headers ``X-Netsign-Timestamp``,
``X-Netsign-Signature: sha256=<hex>``); the event id is the idempotency key (``Idempotency-Key``), the
same on every retry, so a receiver that saw it already can answer 2xx and do nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .db import utcnow
from .models import OutboundDelivery, OutboundEvent
from .status import DeliveryStatus

_event = cast(sa.Table, OutboundEvent.__table__)
_delivery = cast(sa.Table, OutboundDelivery.__table__)

# Seconds before each next attempt; after the last one the delivery is failed (9 attempts over ~4 h).
DEFAULT_BACKOFF = (30, 60, 120, 300, 600, 1200, 2400, 4800)
# How long a claimed webhook delivery stays with the worker that sends it (then another may try).
LEASE_SECONDS = 120
# A receiver refuses a signature whose timestamp is further than this from its clock.
SIGNATURE_TOLERANCE = 300


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    business_key: str | None
    instance_id: int | None
    payload: dict[str, Any]
    created_at: datetime

    def body(self) -> bytes:
        return json.dumps({"id": self.id, "kind": self.kind, "business_key": self.business_key,
                           "created_at": self.created_at.isoformat(), "payload": self.payload},
                          ensure_ascii=False, sort_keys=True).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, event: Event, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {"Content-Type": "application/json; charset=utf-8", "X-Netsign-Event": event.kind,
            "X-Netsign-Event-Id": event.id, "Idempotency-Key": event.id, "X-Netsign-Timestamp": timestamp,
            "X-Netsign-Signature": "sha256=" + sign(secret, timestamp, body)}


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: datetime) -> bool:
    """A receiver's check: the signature matches and its timestamp is recent (no replays of old bodies)."""
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > SIGNATURE_TOLERANCE:
        return False
    expected = "sha256=" + sign(secret, timestamp, body)
    return hmac.compare_digest(expected, signature)


Post = Callable[..., Any]  # requests.post's shape: (url, data=, headers=, timeout=) -> response with status_code


def _requests_post(url: str, **kwargs: Any) -> Any:
    import requests  # imported when the first webhook goes out: most processes never send one

    return requests.post(url, **kwargs)


@dataclass
class WebhookSubscriber:
    """A configured receiver: each event of its kinds POSTed once, signed with its own secret."""

    name: str
    url: str
    secret: str
    kinds: frozenset[str] | None = None  # None: every kind
    timeout: float = 10.0
    post: Post = _requests_post
    local = False

    def send(self, event: Event, now: datetime) -> str | None:
        """Deliver; None when the receiver answered 2xx, else what went wrong."""
        body = event.body()
        try:
            response = self.post(self.url, data=body, headers=signed_headers(self.secret, event, body, now),
                                 timeout=self.timeout)
        except Exception as err:  # noqa: BLE001 - any transport error is a failed attempt
            return f"{type(err).__name__}: {err}"[:500]
        status = int(response.status_code)
        return None if 200 <= status < 300 else f"HTTP {status}"


@dataclass
class LocalSubscriber:
    """A subscriber inside this system (e.g. an SMS outbox): ``handle(session, event)`` runs in the
    transaction that marks the delivery done, so what it writes and that mark commit together."""

    name: str
    handle: Callable[[Session, Event], None]
    kinds: frozenset[str] | None = None
    local = True


Subscriber = WebhookSubscriber | LocalSubscriber


@dataclass
class Outbound:
    """The outbox of one engine: subscribers (filled at start-up), backoff, the transaction maker."""

    transaction: Callable[[], AbstractContextManager[Session]]
    subscribers: list[Subscriber] = field(default_factory=list)
    backoff: tuple[int, ...] = DEFAULT_BACKOFF
    # For a plain read before claiming: an idle sweep must not take SQLite's write lock to find nothing.
    session_factory: Callable[[], Session] | None = None

    def subscriber(self, name: str) -> Subscriber | None:
        return next((s for s in self.subscribers if s.name == name), None)

    def emit(self, conn: Connection, kind: str, payload: dict[str, Any], *, business_key: str | None = None,
             instance_id: int | None = None) -> str:
        """Write an event and its deliveries in the caller's transaction; the event id."""
        event_id, now = str(uuid.uuid4()), utcnow()
        conn.execute(_event.insert().values(id=event_id, kind=kind, business_key=business_key,
                                            instance_id=instance_id, payload=payload, created_at=now))
        rows = [{"event_id": event_id, "subscriber": s.name, "status": DeliveryStatus.PENDING, "attempts": 0,
                 "next_attempt_at": now} for s in self.subscribers if s.kinds is None or kind in s.kinds]
        if rows:
            conn.execute(_delivery.insert(), rows)
        return event_id

    def deliver_due(self, limit: int = 100) -> int:
        """Deliver due deliveries (each claimed by one worker) until none is left or ``limit`` were tried."""
        tried = 0
        if not self._any_due():
            return 0
        while tried < limit:
            claimed = self._claim_next()
            if claimed is None:
                break
            tried += 1
            delivery_id, attempts, subscriber, event = claimed
            if isinstance(subscriber, WebhookSubscriber):
                self._record(delivery_id, attempts, subscriber.send(event, utcnow()))
        return tried

    def _any_due(self) -> bool:
        if self.session_factory is None or not self.subscribers:
            return bool(self.subscribers)
        session = self.session_factory()
        try:
            found = session.connection().execute(
                sa.select(_delivery.c.id).where(_delivery.c.status == DeliveryStatus.PENDING,
                                                _delivery.c.next_attempt_at <= utcnow()).limit(1)).first()
        finally:
            if not (session.new or session.dirty or session.deleted):
                session.rollback()  # end the read: the claim begins its own (write) transaction
        return found is not None

    def _claim_next(self) -> tuple[int, int, Subscriber, Event] | None:
        names = [s.name for s in self.subscribers]
        if not names:
            return None
        with self.transaction() as session:
            conn, now = session.connection(), utcnow()
            row = conn.execute(
                sa.select(_delivery.c.id, _delivery.c.subscriber, _delivery.c.attempts,
                          _event.c.id.label("event_id"), _event.c.kind, _event.c.business_key,
                          _event.c.instance_id, _event.c.payload, _event.c.created_at)
                .join(_event, _event.c.id == _delivery.c.event_id)
                .where(_delivery.c.status == DeliveryStatus.PENDING, _delivery.c.next_attempt_at <= now,
                       _delivery.c.subscriber.in_(names))
                .order_by(_delivery.c.next_attempt_at, _delivery.c.id).limit(1)
                .with_for_update(of=_delivery, skip_locked=True)).first()
            if row is None:
                return None
            subscriber = cast(Subscriber, self.subscriber(row.subscriber))
            event = Event(row.event_id, row.kind, row.business_key, row.instance_id, dict(row.payload or {}),
                          row.created_at)
            attempts = int(row.attempts) + 1
            if isinstance(subscriber, LocalSubscriber):
                error = _run_local(session, subscriber, event)
                _write_outcome(conn, int(row.id), attempts, error, now, self.backoff)
            else:
                conn.execute(_delivery.update().where(_delivery.c.id == row.id).values(
                    attempts=attempts, next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)))
            return int(row.id), attempts, subscriber, event

    def _record(self, delivery_id: int, attempts: int, error: str | None) -> None:
        with self.transaction() as session:
            _write_outcome(session.connection(), delivery_id, attempts, error, utcnow(), self.backoff)

    def retry(self, delivery_ids: Iterable[int]) -> int:
        """An administrator's 「重新投递」: the deliveries are due now, with a fresh round of attempts."""
        ids = list(delivery_ids)
        if not ids:
            return 0
        with self.transaction() as session:
            result = session.connection().execute(
                _delivery.update().where(_delivery.c.id.in_(ids), _delivery.c.status != DeliveryStatus.DELIVERED)
                .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow(), last_error=None))
            return int(result.rowcount or 0)


def _run_local(session: Session, subscriber: LocalSubscriber, event: Event) -> str | None:
    savepoint = session.begin_nested()
    try:
        subscriber.handle(session, event)
        session.flush()
        savepoint.commit()
        return None
    except Exception as err:  # noqa: BLE001 - a failed local delivery is retried like a webhook
        savepoint.rollback()
        return f"{type(err).__name__}: {err}"[:500]


def _write_outcome(conn: Connection, delivery_id: int, attempts: int, error: str | None, now: datetime,
                   backoff: tuple[int, ...]) -> None:
    if error is None:
        values: dict[str, Any] = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "attempts": attempts,
                                  "last_error": None}
    elif attempts > len(backoff):
        values = {"status": DeliveryStatus.FAILED, "attempts": attempts, "last_error": error}
    else:
        values = {"attempts": attempts, "last_error": error,
                  "next_attempt_at": now + timedelta(seconds=backoff[attempts - 1])}
    conn.execute(_delivery.update().where(_delivery.c.id == delivery_id,
                                          _delivery.c.status == DeliveryStatus.PENDING).values(**values))



def _no_transaction() -> AbstractContextManager[Session]:
    raise RuntimeError("outbound events used before the engine was built")


# What a step holds until the engine gives it its own: no subscribers, so an event is only recorded.
NO_OUTBOUND = Outbound(_no_transaction)
