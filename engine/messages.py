"""Messages: kept with an idempotency key and a time-to-live, handed to the running instance of their
business key; messages an instance throws for the others; the expiry sweep.

An early message waits in its row until the instance waits for it; every step
on an instance of that key offers it the messages it is waiting for
(:func:`take_in_one`), and the worker's sweep (:func:`deliver_pending`) offers
the kept ones to instances nobody is stepping.
"""
from __future__ import annotations

import contextvars
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as _Message
from SpiffWorkflow.util.task import TaskState

from . import messaging, metrics, store
from .db import utcnow
from .incidents import Attempt, record_failure
from .registry import json_safe
from .status import InstanceStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .step import Step, Steps

log = logging.getLogger(__name__)

# Kept messages expired per sweep (the worker sweeps again at once while it expired some).
EXPIRE_BATCH = 500
DEFAULT_MESSAGE_TTL = timedelta(days=7)


def take_in_one(step: Step) -> bool:
    """Deliver the oldest kept message the workflow now waits for; True if one was."""
    key = step.instance.business_key
    after = step.after
    if not key or after is None or not after.waits_for_message:
        return False
    if step.pending is None or step.pending[0] != key:
        # The lock said whether any were kept for the key the instance had then (no query when none).
        none_kept = key == step.business_key_before and step.instance.kept_messages is False
        step.pending = (key, [] if none_kept else list(store.pending_messages(step.conn, key, utcnow())))
    waiting = step.pending[1]
    for message in waiting:
        if message.sender_instance_id == step.instance.id:
            continue  # what an instance threw and did not catch itself goes to the others
        # A message whose correlation does not match what the instance waits for stays kept.
        if message.name in after.message_names and messaging.deliver(step.workflow, message):
            waiting.remove(message)
            store.consume_message(step.conn, message.id, step.instance.id, utcnow())
            step.audit("message_received", name=message.name, message_id=message.id)
            return True
    return False


def deliver(steps: Steps, name: str, business_key: str, payload: dict[str, Any], idempotency_key: str,
            correlations: dict[str, Any] | None = None, *, keep: bool = True,
            ttl: timedelta | None = None) -> bool:
    """Keep a message and hand it to whichever instance waits for it; False when it was seen before.

    ``correlations`` (property name → value) are matched against a receiver's correlation key;
    without them they are computed from the payload, as the sending side of the diagram would.

    The message row and the steps that take it in share one transaction, each
    step inside a savepoint: a step that fails is undone alone, and the message
    is still kept for a later step or sweep (the error is raised after commit).

    ``keep=False``: a request that only makes sense now (e.g. "cancel this, if it still waits"):
    if no instance takes it in within this transaction it is discarded (consumed by nobody), so it
    can never be caught later by another flow of the same business key.

    ``ttl``: how long it may be kept (default: the engine's ``message_ttl``); then the worker expires it.
    """
    failure: Exception | None = None
    with steps.transaction() as session:
        conn = session.connection()
        now = utcnow()
        if not store.insert_message(conn, name=name, business_key=business_key, payload=payload,
                                    correlations=correlations, idempotency_key=idempotency_key,
                                    received_at=now, expires_at=now + (steps.message_ttl if ttl is None else ttl)):
            return False  # seen before (or by a concurrent delivery of the same callback)
        for instance_id in store.running_instances(conn, business_key):
            savepoint = session.begin_nested()
            try:
                _take_in(steps, session, instance_id)
                savepoint.commit()
            except Exception as err:
                savepoint.rollback()
                log.exception("instance %s: message %s not taken in", instance_id, name)
                failure = failure or err
        if not keep and store.discard_message(conn, idempotency_key, utcnow()):
            log.info("message %s (%s) discarded: no instance of %s took it in", name, idempotency_key, business_key)
    if failure is not None:
        raise failure
    return True


def deliver_pending(steps: Steps, business_key: str | None = None) -> int:
    """Offer kept messages to the running instances of their business key, one transaction each;
    how many instances took a message in (a worker sweeps again at once while this is not 0, so an
    instance offered a message it does not wait for yet does not count).  One that fails gets an
    incident and the sweep goes on."""
    with steps.transaction() as session:
        instance_ids = store.instances_awaiting(session.connection(), business_key)
    offered = 0
    for instance_id in instance_ids:
        attempt = Attempt()
        try:
            with metrics.timed("message"), steps.transaction() as session:
                offered += _take_in(steps, session, instance_id, attempt)
        except _BackingOff:
            continue
        except Exception as err:
            record_failure(steps, instance_id, attempt, err)
    return offered


# Rounds of delivering thrown messages after a commit (a reply may throw again); the rest is the worker's.
DRAIN_ROUNDS = 10
_draining: contextvars.ContextVar[bool] = contextvars.ContextVar("draining_thrown", default=False)
THROWN = "netsign_thrown_keys"  # session.info: business keys that got thrown messages in this transaction


def keep_thrown(step: Step, now: datetime) -> None:
    """Keep the messages the step's send tasks and throw events threw that no catch of the instance took,
    as messages for the instance's business key, in the step's transaction (the outbox): after the
    commit they are offered to the other instances of that key (:func:`drain`), and a receiver that comes
    later takes them in as it would an external message, within their time-to-live."""
    thrown = [event for event in step.workflow.get_events() if isinstance(event.event_definition, _Message)]
    if not thrown:
        return
    key = step.instance.business_key
    for event in thrown:
        name = event.event_definition.name
        if not key:
            log.warning("instance %s: message %s thrown with no business key to address it", step.instance.id, name)
            step.audit("message_not_sent", name=name, reason="流程实例没有业务键，消息无法送达其他流程实例")
            continue
        flat = {prop: value for props in (event.correlations or {}).values() for prop, value in props.items()}
        store.insert_message(step.conn, name=name, business_key=key, payload=json_safe(event.payload or {}),
                             correlations=json_safe(flat) or None, idempotency_key=f"thrown:{uuid4().hex}",
                             received_at=now, expires_at=now + step.ttl, sender_instance_id=step.instance.id)
        step.audit("message_thrown", name=name, business_key=key)
        step.session.info.setdefault(THROWN, set()).add(key)


def drain(steps: Steps, keys: set[str]) -> None:
    """After a commit: offer the thrown messages to the instances of their business keys, each in its own
    transaction.  What fails or is left (a chain of replies) is kept for the worker's sweep."""
    session = steps.session_factory()
    if _draining.get():
        session.info.setdefault(THROWN, set()).update(keys)  # the outermost drain's next round takes them
        return
    token = _draining.set(True)
    try:
        for _ in range(DRAIN_ROUNDS):
            for key in sorted(keys):
                try:
                    deliver_pending(steps, key)
                except Exception:  # noqa: BLE001 - the thrower's step is committed; the sweep retries
                    log.exception("thrown messages for %s not delivered after commit; kept for the sweep", key)
            keys = session.info.pop(THROWN, set())
            if not keys:
                break
    finally:
        _draining.reset(token)


def expire(steps: Steps, limit: int = EXPIRE_BATCH) -> int:
    """Expire up to ``limit`` kept messages whose time-to-live has passed, in one transaction, with an
    audit row each; how many.  Never fails a sweep: a failure is logged and nothing is expired."""
    try:
        with steps.transaction() as session:
            conn = session.connection()
            now = utcnow()
            expired = store.claim_expired_messages(conn, now, limit)
            if expired:
                store.expire_messages(conn, [m.id for m in expired], now)
                store.insert_audit(conn, [
                    {"instance_id": None, "task_id": None, "kind": "message_expired", "actor": "worker", "at": now,
                     "details": {"message_id": m.id, "name": m.name, "business_key": m.business_key,
                                 "idempotency_key": m.idempotency_key, "received_at": m.received_at.isoformat(),
                                 "expires_at": m.expires_at.isoformat()}} for m in expired])
                log.info("%d kept message(s) expired", len(expired))
            return len(expired)
    except Exception:  # noqa: BLE001 - the sweep goes on; the messages expire on a later one
        log.exception("expiring kept messages failed")
        return 0


class _BackingOff(Exception):
    """The instance's last sweep step failed and its incident is not due yet: leave it alone."""


def _take_in(steps: Steps, session: Session, instance_id: int, attempt: Attempt | None = None) -> bool:
    """The step that hands an instance the kept messages it waits for; whether it took one in."""
    with steps.on(session, instance_id, "message", "message") as step:
        if attempt is not None:
            if _backing_off(step):
                raise _BackingOff
            attempt.step = step
        step.run_engine()
    return any(kind == "message_received" for kind, _, _ in step.events)


def _backing_off(step: Step) -> bool:
    """An incident of a failed step (its task not in ERROR, unlike a failed service task's) waits for its
    retry time: a sweep that tried again would fail again, every few seconds."""
    if step.instance.status != InstanceStatus.ERROR:
        return False
    now = utcnow()
    for incident in store.unresolved_incidents(step.conn, step.instance.id):
        if incident.next_retry_at is not None and incident.next_retry_at <= now:
            continue
        task = step.workflow.get_task_from_id(UUID(incident.task_id)) if incident.task_id else None
        if task is None or task.state != TaskState.ERROR:
            return True
    return False
