"""The SQL a step runs, prepared once.

A step is short (a few milliseconds of SpiffWorkflow work), so what it costs to
*say* something to the database matters as much as what the database does: an
ORM ``session.get`` or an ORM bulk insert spends ~100 µs in Python before the
driver sees it, a Core statement ~20 µs, the driver itself 2-5 µs.  Every
statement on the step path is therefore a Core statement built here once, with
bind parameters, which :class:`Prepared` compiles once per dialect and runs on
the driver's cursor of the session's connection: SQLAlchemy still writes the
SQL and converts every value (its own bind and result processors, so SQLite and
PostgreSQL behave exactly as through SQLAlchemy); only its per-execution
bookkeeping is skipped.  The statements run in the session's transaction, the
same one as the handlers' ORM writes, which SQLAlchemy flushes at commit.

The ORM models in :mod:`engine.models` stay the schema and what pages, the CLI
and tests read.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlalchemy.engine import Connection

from .db import utcnow
from .errors import Conflict
from .prepared import Prepared, _dbapi
from .models import (AuditEvent, InboxTask, Incident, InstanceSnapshot, Message, ProcessDefinition, ProcessInstance,
                     Timer)
from .status import LIVE, UNRESOLVED, IncidentStatus, InboxState, TimerState

_definition = cast(sa.Table, ProcessDefinition.__table__)
_instance = cast(sa.Table, ProcessInstance.__table__)
_inbox = cast(sa.Table, InboxTask.__table__)
_timer = cast(sa.Table, Timer.__table__)
_message = cast(sa.Table, Message.__table__)
_audit = cast(sa.Table, AuditEvent.__table__)
_incident = cast(sa.Table, Incident.__table__)
_snapshot = cast(sa.Table, InstanceSnapshot.__table__)


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
    # Whether messages were kept for ``business_key`` when the row was locked (read by the same
    # statement); None when not known. A step reads the kept messages only when there are some.
    kept_messages: bool | None = None

    def __post_init__(self) -> None:
        # The indexed columns as they are in the database: a step that leaves them alone does not
        # rewrite them (SQLite rewrites an index entry for every column an UPDATE sets).
        self.stored = self._indexed()

    def _indexed(self) -> tuple[Any, ...]:
        return self.status, self.business_key, self.end_event, self.completed_at


# The newest version of a process, without its (large) sources.
_LATEST_DEFINITION = Prepared(
    sa.select(_definition.c.id, _definition.c.version, _definition.c.content_hash)
    .where(_definition.c.process_id == bindparam("process_id"))
    .order_by(_definition.c.version.desc()).limit(1))

_RECORD_COLUMNS = [_instance.c[name] for name in InstanceRecord.__dataclass_fields__ if name != "kept_messages"]
# Read with the lock, so that a step on an instance with no kept messages (nearly every step) needs
# no statement of its own to find that out (one round trip less on PostgreSQL while it waits for one).
_KEPT = sa.exists().where(_message.c.business_key == _instance.c.business_key,
                          _message.c.consumed_at.is_(None)).label("kept_messages")
_LOCKED_COLUMNS = [*_RECORD_COLUMNS, _KEPT]
_INSTANCE_WHERE = (_instance.c.id == bindparam("b_id"), _instance.c.version == bindparam("b_version"))
_LOCK = Prepared(sa.select(*_LOCKED_COLUMNS).where(_instance.c.id == bindparam("id")).with_for_update())
# A worker sweep passes over an instance someone else holds instead of queueing behind it.
_LOCK_OR_SKIP = Prepared(
    sa.select(*_LOCKED_COLUMNS).where(_instance.c.id == bindparam("id")).with_for_update(skip_locked=True))
_STATE = sa.select(_instance.c.state).where(_instance.c.id == bindparam("id"))
_INSERT_INSTANCE = sa.insert(_instance)
# The version check makes a writer that somehow missed the lock fail instead of overwriting.
_SAVE_STATE = Prepared(
    sa.update(_instance).where(*_INSTANCE_WHERE)
    .values(state=bindparam("state"), version=bindparam("new_version"), updated_at=bindparam("updated_at")))
_SAVE_ALL = Prepared(
    sa.update(_instance).where(*_INSTANCE_WHERE)
    .values(state=bindparam("state"), version=bindparam("new_version"), status=bindparam("status"),
            end_event=bindparam("end_event"), business_key=bindparam("business_key"),
            completed_at=bindparam("completed_at"), updated_at=bindparam("updated_at")))

# A task and its instance in one round trip, the instance locked (SQLite: BEGIN IMMEDIATE holds it).
_TASK_AND_INSTANCE = Prepared(
    sa.select(*_inbox.c, *(column.label(f"locked_{column.key}") for column in _LOCKED_COLUMNS))
    .join_from(_inbox, _instance, _inbox.c.instance_id == _instance.c.id)
    .where(_inbox.c.id == bindparam("id")).with_for_update(of=_instance))
_INBOX_FIELDS = len(_inbox.c)
_INBOX_INSERT = Prepared(sa.insert(_inbox))
_INBOX_CLOSE = Prepared(
    sa.update(_inbox).where(_inbox.c.id == bindparam("b_id"))
    .values(state=bindparam("state"), completed_at=bindparam("completed_at"), completed_by=bindparam("completed_by")))
_INBOX_REKEY = Prepared(
    sa.update(_inbox).where(_inbox.c.instance_id == bindparam("b_instance_id"), _inbox.c.state == InboxState.READY)
    .values(business_key=bindparam("business_key")))
_FOUR_EYES = (sa.select(_inbox.c.id)
              .where(_inbox.c.instance_id == bindparam("instance_id"),
                     _inbox.c.bpmn_id.in_(bindparam("bpmn_ids", expanding=True)),
                     _inbox.c.state == InboxState.COMPLETED, _inbox.c.completed_by == bindparam("actor")).limit(1))

_TIMER_INSERT = Prepared(sa.insert(_timer))
# A cycle timer's next repetition: the same task waits again, until a later moment.
_TIMER_RESCHEDULE = Prepared(
    sa.update(_timer).where(_timer.c.task_id == bindparam("b_task_id")).values(due_at=bindparam("due_at")))
_TIMER_CLOSE = Prepared(
    sa.update(_timer).where(_timer.c.task_id == bindparam("b_task_id")).values(state=bindparam("state"), fired_at=bindparam("fired_at")))

# A callback delivered twice at the same moment: the second insert finds the key taken and
# inserts nothing (both SQLite and PostgreSQL know ON CONFLICT), instead of failing the request.
_MESSAGE_INSERT = Prepared(sa.text(
    "INSERT INTO message (name, business_key, idempotency_key, payload, correlations, received_at, expires_at, "
    "sender_instance_id) VALUES (:name, :business_key, :idempotency_key, :payload, :correlations, :received_at, "
    ":expires_at, :sender_instance_id) ON CONFLICT (idempotency_key) DO NOTHING").bindparams(
    bindparam("expires_at", type_=_message.c.expires_at.type),
    bindparam("sender_instance_id", type_=_message.c.sender_instance_id.type),
    bindparam("name", type_=_message.c.name.type), bindparam("business_key", type_=_message.c.business_key.type),
    bindparam("idempotency_key", type_=_message.c.idempotency_key.type),
    bindparam("payload", type_=_message.c.payload.type),
    bindparam("correlations", type_=_message.c.correlations.type),
    bindparam("received_at", type_=_message.c.received_at.type)))
# Written out (no IN list): a prepared statement is compiled once, without expanding parameters.
_LIVE_STATUS = sa.or_(*(_instance.c.status == status for status in LIVE))
_RUNNING_BY_KEY = Prepared(
    sa.select(_instance.c.id)
    # A suspended instance takes no message in: it stays kept until the instance is resumed.
    .where(_instance.c.business_key == bindparam("business_key"), _LIVE_STATUS)
    .order_by(_instance.c.id))
# A kept message whose time-to-live has passed is never taken in, even before the sweep expires it.
_UNEXPIRED = sa.or_(_message.c.expires_at.is_(None), _message.c.expires_at > bindparam("now"))
_PENDING_MESSAGES = Prepared(
    sa.select(_message.c.id, _message.c.name, _message.c.payload, _message.c.correlations,
              _message.c.sender_instance_id)
    .where(_message.c.business_key == bindparam("business_key"), _message.c.consumed_at.is_(None), _UNEXPIRED)
    .order_by(_message.c.id))
_MESSAGE_CONSUMED = Prepared(
    sa.update(_message).where(_message.c.id == bindparam("b_id"))
    .values(consumed_at=bindparam("consumed_at"), instance_id=bindparam("instance_id")))

_AUDIT_INSERT = Prepared(sa.insert(_audit))


def latest_definition(conn: Connection, process_id: str) -> Any:
    """``(id, version, content_hash)`` of the newest version of ``process_id``, or None."""
    return _LATEST_DEFINITION.first(conn, {"process_id": process_id})


def lock_instance(conn: Connection, instance_id: int, *, skip_locked: bool = False) -> InstanceRecord | None:
    """The instance row, locked until the transaction ends (SQLite: BEGIN IMMEDIATE already holds it)."""
    row = (_LOCK_OR_SKIP if skip_locked else _LOCK).first(conn, {"id": instance_id})
    return InstanceRecord(*row) if row is not None else None


def instance_state(conn: Connection, instance_id: int) -> str:
    state: str = conn.execute(_STATE, {"id": instance_id}).scalar_one()
    return state


def insert_instance(conn: Connection, **values: Any) -> int:
    key = conn.execute(_INSERT_INSTANCE, values).inserted_primary_key
    assert key is not None
    return int(key[0])


@contextmanager
def batch(conn: Connection) -> Iterator[None]:
    """Send the block's statements together where the driver can: psycopg's pipeline mode makes
    them one round trip to PostgreSQL instead of one each; their errors surface at the end of the
    block.  SQLite runs in this process: nothing to batch."""
    pipeline = getattr(_dbapi(conn), "pipeline", None)
    if pipeline is None:
        yield
        return
    with pipeline():
        yield


def save_instance(conn: Connection, record: InstanceRecord, state: str, now: datetime) -> Callable[[], None]:
    """Write the step's state and bump the row version (``record.version`` follows).

    Returns the version check, to call once the statement has run (after :func:`batch`).
    """
    values = {"b_id": record.id, "b_version": record.version, "new_version": record.version + 1,
              "state": state, "updated_at": now}
    indexed = record._indexed()
    if indexed == record.stored:
        cursor = _SAVE_STATE.start(conn, values)
    else:
        cursor = _SAVE_ALL.start(conn, {**values, "status": record.status, "end_event": record.end_event,
                                        "business_key": record.business_key, "completed_at": record.completed_at})
    record.version += 1
    record.stored = indexed

    def check_version() -> None:
        changed = cursor.rowcount
        cursor.close()
        if changed != 1:
            raise Conflict("流程实例已被其他操作修改，请刷新后重试")

    return check_version


def lock_task(conn: Connection, task_id: str) -> tuple[Any, InstanceRecord | None]:
    """``(inbox row, locked InstanceRecord)`` of a task, or ``(None, None)``."""
    row = _TASK_AND_INSTANCE.first(conn, {"id": task_id})
    if row is None:
        return None, None
    return _InboxRow(*row[:_INBOX_FIELDS]), InstanceRecord(*row[_INBOX_FIELDS:])


_InboxRow = namedtuple("InboxRow", [column.key for column in _inbox.c])  # type: ignore[misc]


def insert_inbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _INBOX_INSERT.executemany(conn, rows)


def close_inbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``rows``: ``{"b_id", "state", "completed_at", "completed_by"}`` each."""
    _INBOX_CLOSE.executemany(conn, rows)


def rekey_inbox(conn: Connection, instance_id: int, business_key: str | None) -> None:
    _INBOX_REKEY.execute(conn, {"b_instance_id": instance_id, "business_key": business_key})


def completed_by_actor(conn: Connection, instance_id: int, bpmn_ids: list[str], actor: str) -> bool:
    return conn.execute(_FOUR_EYES, {"instance_id": instance_id, "bpmn_ids": bpmn_ids,
                                     "actor": actor}).first() is not None


def insert_timers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _TIMER_INSERT.executemany(conn, rows)


def close_timers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``rows``: ``{"b_task_id", "state", "fired_at"}`` each."""
    _TIMER_CLOSE.executemany(conn, rows)


def reschedule_timers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``rows``: ``{"b_task_id", "due_at"}`` each."""
    _TIMER_RESCHEDULE.executemany(conn, rows)


def insert_message(conn: Connection, **values: Any) -> bool:
    """Keep an inbound message; False when its idempotency key was taken meanwhile."""
    values.setdefault("correlations", None)
    values.setdefault("expires_at", None)
    values.setdefault("sender_instance_id", None)
    return _MESSAGE_INSERT.execute(conn, values) == 1


def running_instances(conn: Connection, business_key: str) -> list[int]:
    return [row.id for row in _RUNNING_BY_KEY.rows(conn, {"business_key": business_key})]


def pending_messages(conn: Connection, business_key: str, now: datetime) -> list[Any]:
    return _PENDING_MESSAGES.rows(conn, {"business_key": business_key, "now": now})


def consume_message(conn: Connection, message_id: int, instance_id: int, now: datetime) -> None:
    _MESSAGE_CONSUMED.execute(conn, {"b_id": message_id, "instance_id": instance_id, "consumed_at": now})


def discard_message(conn: Connection, idempotency_key: str, now: datetime) -> bool:
    """Mark a still-kept message consumed by no instance; True if it was kept."""
    kept = sa.and_(_message.c.idempotency_key == idempotency_key, _message.c.consumed_at.is_(None))
    return conn.execute(sa.update(_message).where(kept).values(consumed_at=now)).rowcount == 1


def discard_kept(conn: Connection, business_key: str, name: str, now: datetime) -> list[int]:
    """Mark the still-kept messages ``name`` of ``business_key`` consumed by no instance; their ids."""
    kept = sa.and_(_message.c.business_key == business_key, _message.c.name == name,
                   _message.c.consumed_at.is_(None))
    ids = [row.id for row in conn.execute(sa.select(_message.c.id).where(kept))]
    if ids:
        conn.execute(sa.update(_message).where(_message.c.id.in_(ids)).values(consumed_at=now))
    return ids


def insert_audit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _AUDIT_INSERT.executemany(conn, rows)


# ---------------------------------------------------------------- off the step path: definitions, sweeps,
# incidents and assignment. Plain Core statements: they run once per deploy, sweep or failure.

_DEFINITION_SOURCES = sa.select(_definition.c.id, _definition.c.process_id, _definition.c.content_hash,
                                _definition.c.sources).where(_definition.c.id == bindparam("id"))


def definition_sources(conn: Connection, definition_id: int) -> Any:
    """``(id, process_id, content_hash, sources)`` of a definition version, or None."""
    return conn.execute(_DEFINITION_SOURCES, {"id": definition_id}).first()


def latest_definition_ids(conn: Connection) -> list[int]:
    """The id of the newest version of every deployed process."""
    newest = (sa.select(_definition.c.process_id, sa.func.max(_definition.c.version).label("version"))
              .group_by(_definition.c.process_id).subquery())
    return list(conn.execute(sa.select(_definition.c.id).join(
        newest, sa.and_(_definition.c.process_id == newest.c.process_id, _definition.c.version == newest.c.version))
        .order_by(_definition.c.id)).scalars())


def insert_definition(conn: Connection, **values: Any) -> int:
    key = conn.execute(sa.insert(_definition), values).inserted_primary_key
    assert key is not None
    return int(key[0])


def instance_for_reading(conn: Connection, instance_id: int) -> Any:
    """``(definition_id, state)`` of an instance, unlocked, or None."""
    return conn.execute(sa.select(_instance.c.definition_id, _instance.c.state)
                        .where(_instance.c.id == instance_id)).first()


def instances_awaiting(conn: Connection, business_key: str | None) -> list[int]:
    """Running instances that have kept messages (of ``business_key``, or of any key)."""
    query = sa.select(_instance.c.id).where(_instance.c.status.in_(LIVE)).where(
        sa.exists().where(_message.c.business_key == _instance.c.business_key, _message.c.consumed_at.is_(None),
                          _UNEXPIRED, sa.or_(_message.c.sender_instance_id.is_(None),
                                             _message.c.sender_instance_id != _instance.c.id)))
    if business_key is not None:
        query = query.where(_instance.c.business_key == business_key)
    return list(conn.execute(query.order_by(_instance.c.id), {"now": utcnow()}).scalars())


def claim_due_timer(conn: Connection, now: datetime, passed: Collection[int]) -> tuple[int, InstanceRecord] | None:
    """The soonest due timer with its instance locked, passing over instances other workers hold (``SKIP
    LOCKED``: each takes the next free one), failing timers (they wait for their retry) and ``passed``."""
    failing = sa.exists().where(_incident.c.instance_id == _timer.c.instance_id,
                                _incident.c.task_id == _timer.c.task_id, _incident.c.status.in_(UNRESOLVED))
    query = (sa.select(_timer.c.id, *_LOCKED_COLUMNS).join(_instance, _instance.c.id == _timer.c.instance_id)
             .where(_timer.c.state == TimerState.WAITING, _timer.c.due_at <= now, ~failing,
                    _instance.c.status.in_(LIVE))  # a suspended instance's timers wait for its resume
             .order_by(_timer.c.due_at, _timer.c.id).limit(1).with_for_update(of=_instance, skip_locked=True))
    row = conn.execute(query.where(_timer.c.id.not_in(list(passed))) if passed else query).first()
    return None if row is None else (int(row[0]), InstanceRecord(*row[1:]))


def timer(conn: Connection, timer_id: int) -> Any:
    return conn.execute(sa.select(_timer).where(_timer.c.id == timer_id)).first()


def retry_candidates(conn: Connection, now: datetime, limit: int, *, only_due: bool, incident_id: int | None) -> list[Any]:
    """``(id, instance_id)`` of incidents to retry: one by id (open or failed), or the open ones (due)."""
    query = (sa.select(_incident.c.id, _incident.c.instance_id)
             .join(_instance, _instance.c.id == _incident.c.instance_id)
             .where(_instance.c.status.in_(LIVE)))  # not while the instance is suspended
    if incident_id is not None:
        query = query.where(_incident.c.id == incident_id, _incident.c.status.in_(UNRESOLVED))
    else:
        query = query.where(_incident.c.status == IncidentStatus.OPEN)
        if only_due:
            query = query.where(_incident.c.next_retry_at <= now)
    return list(conn.execute(query.order_by(_incident.c.id).limit(limit)).all())


def incident(conn: Connection, incident_id: int) -> Any:
    return conn.execute(sa.select(_incident).where(_incident.c.id == incident_id)).first()


def unresolved_incidents(conn: Connection, instance_id: int) -> list[Any]:
    return list(conn.execute(sa.select(_incident).where(
        _incident.c.instance_id == instance_id, _incident.c.status.in_(UNRESOLVED))
        .order_by(_incident.c.id)).all())


def insert_incident(conn: Connection, **values: Any) -> int:
    """A new incident row, carrying its instance's process (the admin list filters by it)."""
    process = sa.select(_instance.c.process_id).where(_instance.c.id == values["instance_id"]).scalar_subquery()
    key = conn.execute(sa.insert(_incident).values(process_id=process, **values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_incident(conn: Connection, incident_id: int, **values: Any) -> None:
    conn.execute(sa.update(_incident).where(_incident.c.id == incident_id).values(**values))


def lock_inbox_row(conn: Connection, task_id: str) -> Any:
    """An inbox row, locked until the transaction ends, or None."""
    return conn.execute(sa.select(_inbox).where(_inbox.c.id == task_id).with_for_update()).first()


def set_assignee(conn: Connection, task_id: str, assignee: str | None) -> None:
    conn.execute(sa.update(_inbox).where(_inbox.c.id == task_id).values(assignee=assignee))


def set_instance_status(conn: Connection, instance_id: int, status: str) -> None:
    """Only the status: the state and its row version stay (a cached workflow of it stays valid)."""
    conn.execute(sa.update(_instance).where(_instance.c.id == instance_id).values(status=status))


def claim_expired_messages(conn: Connection, now: datetime, limit: int) -> list[Any]:
    """Kept messages whose time-to-live has passed, soonest first, at most ``limit``, locked (a second
    worker passes over them)."""
    query = (sa.select(_message.c.id, _message.c.name, _message.c.business_key, _message.c.idempotency_key,
                       _message.c.received_at, _message.c.expires_at)
             .where(_message.c.consumed_at.is_(None), _message.c.expires_at <= now)
             .order_by(_message.c.expires_at, _message.c.id).limit(limit).with_for_update(skip_locked=True))
    return list(conn.execute(query).all())


def expire_messages(conn: Connection, ids: list[int], now: datetime) -> None:
    conn.execute(sa.update(_message).where(_message.c.id.in_(ids)).values(consumed_at=now, expired_at=now))
def reopen_inbox(conn: Connection, task_ids: Collection[str], now: datetime) -> set[str]:
    """Open again the inbox rows of tasks a reset made READY once more; the ids that had a row."""
    ids = {row.id for row in conn.execute(sa.select(_inbox.c.id).where(_inbox.c.id.in_(list(task_ids))))}
    if ids:
        conn.execute(sa.update(_inbox).where(_inbox.c.id.in_(list(ids))).values(
            state=InboxState.READY, created_at=now, completed_at=None, completed_by=None, assignee=None))
    return ids
