"""The SQL a step runs, prepared once.

A step is short (a few milliseconds of SpiffWorkflow work), so what it costs to
*say* something to the database matters as much as what the database does: an
ORM ``session.get`` or an ORM bulk insert spends ~100 µs in Python before the
driver sees it, a prepared Core statement ~20 µs.  Every statement on the step
path is therefore built here once, with bind parameters, and executed on the
session's connection (same transaction as the handlers' ORM writes, which
SQLAlchemy flushes at commit).  The ORM models in :mod:`engine.models` stay the
schema and what pages, the CLI and tests read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import bindparam

from .errors import Conflict
from .models import AuditEvent, InboxTask, Message, ProcessDefinition, ProcessInstance, Timer

_definition = ProcessDefinition.__table__
_instance = ProcessInstance.__table__
_inbox = InboxTask.__table__
_timer = Timer.__table__
_message = Message.__table__
_audit = AuditEvent.__table__


@dataclass
class InstanceRecord:
    """The instance row as a step sees it (handlers read ``id``, ``process_id``, ``started_by``)."""

    id: int
    definition_id: int
    process_id: str
    business_key: str | None
    status: str
    end_event: str | None
    started_by: str
    version: int
    completed_at: datetime | None


# The newest version of a process, without its (large) sources.
_LATEST_DEFINITION = (sa.select(_definition.c.id, _definition.c.version, _definition.c.content_hash)
                      .where(_definition.c.process_id == bindparam("process_id"))
                      .order_by(_definition.c.version.desc()).limit(1))

_RECORD_COLUMNS = [_instance.c[name] for name in InstanceRecord.__dataclass_fields__]

_LOCK = sa.select(*_RECORD_COLUMNS).where(_instance.c.id == bindparam("id")).with_for_update()
# A worker sweep passes over an instance someone else holds instead of queueing behind it.
_LOCK_OR_SKIP = sa.select(*_RECORD_COLUMNS).where(_instance.c.id == bindparam("id")).with_for_update(
    skip_locked=True)
_STATE = sa.select(_instance.c.state).where(_instance.c.id == bindparam("id"))
_INSERT_INSTANCE = sa.insert(_instance)
# The version check makes a writer that somehow missed the lock fail instead of overwriting.
_SAVE = (sa.update(_instance)
         .where(_instance.c.id == bindparam("b_id"), _instance.c.version == bindparam("b_version"))
         .values(state=bindparam("state"), version=bindparam("new_version"), status=bindparam("status"),
                 end_event=bindparam("end_event"), business_key=bindparam("business_key"),
                 completed_at=bindparam("completed_at"), updated_at=bindparam("updated_at")))

_INBOX_ROW = sa.select(_inbox).where(_inbox.c.id == bindparam("id"))
_INBOX_INSERT = sa.insert(_inbox)
_INBOX_CLOSE = (sa.update(_inbox).where(_inbox.c.id == bindparam("b_id"))
                .values(state=bindparam("state"), completed_at=bindparam("completed_at"),
                        completed_by=bindparam("completed_by")))
_INBOX_REKEY = (sa.update(_inbox)
                .where(_inbox.c.instance_id == bindparam("b_instance_id"), _inbox.c.state == "READY")
                .values(business_key=bindparam("business_key")))
_FOUR_EYES = (sa.select(_inbox.c.id)
              .where(_inbox.c.instance_id == bindparam("instance_id"),
                     _inbox.c.bpmn_id.in_(bindparam("bpmn_ids", expanding=True)),
                     _inbox.c.state == "COMPLETED", _inbox.c.completed_by == bindparam("actor"))
              .limit(1))

_TIMER_INSERT = sa.insert(_timer)
_TIMER_CLOSE = (sa.update(_timer).where(_timer.c.task_id == bindparam("b_task_id"))
                .values(state=bindparam("state"), fired_at=bindparam("fired_at")))

_MESSAGE_SEEN = sa.select(_message.c.id).where(_message.c.idempotency_key == bindparam("key"))
_MESSAGE_INSERT = sa.insert(_message)
_RUNNING_BY_KEY = (sa.select(_instance.c.id)
                   .where(_instance.c.business_key == bindparam("business_key"), _instance.c.status != "completed")
                   .order_by(_instance.c.id))
_PENDING_MESSAGES = (sa.select(_message.c.id, _message.c.name, _message.c.payload)
                     .where(_message.c.business_key == bindparam("business_key"),
                            _message.c.consumed_at.is_(None))
                     .order_by(_message.c.id))
_MESSAGE_CONSUMED = (sa.update(_message).where(_message.c.id == bindparam("b_id"))
                     .values(consumed_at=bindparam("consumed_at"), instance_id=bindparam("instance_id")))

_AUDIT_INSERT = sa.insert(_audit)


def latest_definition(conn, process_id: str):
    """``(id, version, content_hash)`` of the newest version of ``process_id``, or None."""
    return conn.execute(_LATEST_DEFINITION, {"process_id": process_id}).first()


def lock_instance(conn, instance_id: int, *, skip_locked: bool = False) -> InstanceRecord | None:
    """The instance row, locked until the transaction ends (SQLite: BEGIN IMMEDIATE already holds it)."""
    row = conn.execute(_LOCK_OR_SKIP if skip_locked else _LOCK, {"id": instance_id}).first()
    return InstanceRecord(*row) if row is not None else None


def instance_state(conn, instance_id: int) -> str:
    return conn.execute(_STATE, {"id": instance_id}).scalar_one()


def insert_instance(conn, **values) -> int:
    return conn.execute(_INSERT_INSTANCE, values).inserted_primary_key[0]


def save_instance(conn, record: InstanceRecord, state: str, now: datetime) -> None:
    """Write the step's state and bump the row version (``record.version`` follows)."""
    result = conn.execute(_SAVE, {
        "b_id": record.id, "b_version": record.version, "new_version": record.version + 1, "state": state,
        "status": record.status, "end_event": record.end_event, "business_key": record.business_key,
        "completed_at": record.completed_at, "updated_at": now})
    if result.rowcount != 1:
        raise Conflict("流程实例已被其他操作修改，请刷新后重试")
    record.version += 1


def inbox_row(conn, task_id: str):
    return conn.execute(_INBOX_ROW, {"id": task_id}).first()


def insert_inbox(conn, rows: list[dict]) -> None:
    conn.execute(_INBOX_INSERT, rows)


def close_inbox(conn, rows: list[dict]) -> None:
    """``rows``: ``{"b_id", "state", "completed_at", "completed_by"}`` each."""
    conn.execute(_INBOX_CLOSE, rows)


def rekey_inbox(conn, instance_id: int, business_key: str | None) -> None:
    conn.execute(_INBOX_REKEY, {"b_instance_id": instance_id, "business_key": business_key})


def completed_by_actor(conn, instance_id: int, bpmn_ids: list[str], actor: str) -> bool:
    return conn.execute(_FOUR_EYES, {"instance_id": instance_id, "bpmn_ids": bpmn_ids,
                                     "actor": actor}).first() is not None


def insert_timers(conn, rows: list[dict]) -> None:
    conn.execute(_TIMER_INSERT, rows)


def close_timers(conn, rows: list[dict]) -> None:
    """``rows``: ``{"b_task_id", "state", "fired_at"}`` each."""
    conn.execute(_TIMER_CLOSE, rows)


def message_seen(conn, idempotency_key: str) -> bool:
    return conn.execute(_MESSAGE_SEEN, {"key": idempotency_key}).first() is not None


def insert_message(conn, **values) -> None:
    conn.execute(_MESSAGE_INSERT, values)


def running_instances(conn, business_key: str) -> list[int]:
    return list(conn.execute(_RUNNING_BY_KEY, {"business_key": business_key}).scalars())


def pending_messages(conn, business_key: str):
    return conn.execute(_PENDING_MESSAGES, {"business_key": business_key}).all()


def consume_message(conn, message_id: int, instance_id: int, now: datetime) -> None:
    conn.execute(_MESSAGE_CONSUMED, {"b_id": message_id, "instance_id": instance_id, "consumed_at": now})


def insert_audit(conn, rows: list[dict]) -> None:
    conn.execute(_AUDIT_INSERT, rows)
