"""The read model: every list and lookup the pages, the API and the CLI show of the engine's tables.

One function per list (open tasks, timers, incidents, instances, audit), each
with its filters, a stable order and keyset pagination: a page is ``limit`` rows
after the opaque ``after`` cursor of the previous page, so a deep page costs
what the first one does.  Readers get ORM rows to read; nothing here writes.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Generic, Iterable, Iterator, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import (AuditEvent, InboxTask, Incident, InstanceArchive, InstanceSnapshot, Message, OutboundDelivery,
                     OutboundEvent, ProcessDefinition, ProcessInstance, ProcessSchedule, Timer)
from .status import UNRESOLVED, InboxState, TimerState

T = TypeVar("T")
MAX_LIMIT = 500
COUNT_CAP = 1000  # a list's total is counted exactly up to this many rows, then shown as "1000+"


@dataclass(frozen=True)
class Total:
    """How many rows a list has, without reading them all: exact, at least ``value`` (capped), or estimated."""

    value: int
    capped: bool = False  # there are more than ``value``
    estimated: bool = False  # from the database's statistics, not a count

    def __str__(self) -> str:
        return f"{self.value}+" if self.capped else (f"~{self.value}" if self.estimated else str(self.value))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # give it back as ``after`` for the next page; None on the last page
    total: Total | None = None  # when the caller asked for it

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class BadCursor(ValueError):
    """A cursor that this read model did not write (tampered with, or from another list)."""


def _encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        return [datetime.fromisoformat(v) if kind is datetime else kind(v) for v, kind in zip(raw, kinds)]
    except (ValueError, TypeError, json.JSONDecodeError) as err:
        raise BadCursor("分页参数无效，请从第一页重新查看") from err


def capped_count(session: Session, query: sa.Select[Any], key: Any, cap: int = COUNT_CAP) -> Total:
    """Rows of ``query`` counted up to ``cap``: reads at most ``cap + 1`` index entries, at any size."""
    inner = query.with_only_columns(key, maintain_column_froms=True).order_by(None).limit(cap + 1).subquery()
    found = session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0
    return Total(min(found, cap), capped=found > cap)


def _page(session: Session, query: sa.Select[Any], keys: Sequence[Any], kinds: Sequence[type],
          *, descending: bool, after: str | None, limit: int, total: bool = False) -> Page[Any]:
    """Rows of ``query`` ordered by ``keys`` (the last one unique), ``limit`` after the cursor; with
    ``total``, the whole list's row count (capped) besides."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    counted = capped_count(session, query, keys[-1]) if total else None
    if after:
        values = _decode_cursor(after, kinds)
        bound = sa.tuple_(*keys) < sa.tuple_(*values) if descending else sa.tuple_(*keys) > sa.tuple_(*values)
        query = query.where(bound)
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if more:
        last = rows[-1]
        cursor = _encode_cursor([getattr(last, k.key) for k in keys])
    return Page(rows, cursor, counted)


def _prefix(column: Any, prefix: str) -> list[Any]:
    """``column`` starts with ``prefix``: a range the column's index serves on either database (business keys
    are letters and digits, which every collation orders alike), and the exact LIKE (wildcards escaped)
    to keep only true prefixes within it."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if ord(prefix[-1]) < 0x10FFFF else prefix + "\uffff"
    return [column >= prefix, column < upper, column.like(escaped + "%", escape="\\")]


class ReadModel:
    """Read-only queries over the engine's tables; each call runs in the caller's session."""

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory

    @property
    def _session(self) -> Session:
        return self.session_factory()

    # ------------------------------------------------------------------ inbox

    def task(self, task_id: str) -> InboxTask | None:
        return self._session.get(InboxTask, str(task_id))

    def open_tasks(self, *, roles: Iterable[str] | None = None, started_by: str | None = None,
                   instance_id: int | None = None, process_id: str | None = None, name: str | None = None,
                   business_key: str | None = None, assignee: str | None = None,
                   created_from: datetime | None = None, created_before: datetime | None = None,
                   due_before: datetime | None = None,
                   newest_first: bool = False, after: str | None = None, limit: int = 50,
                   total: bool = False) -> Page[InboxTask]:
        """READY user tasks; ``roles`` limits to those lanes, ``started_by`` to instances that person started,
        ``due_before`` to tasks due before then (the overdue ones, given now)."""
        query = sa.select(InboxTask).where(InboxTask.state == InboxState.READY)
        if roles is not None:
            query = query.where(InboxTask.role.in_(list(roles)))
        if started_by is not None:
            # From that person's instances (by index) to their open rows, never from every open task
            # of the lane: written as IN, SQLite starts from the instances (a join it started from the lane).
            query = query.where(InboxTask.instance_id.in_(
                sa.select(ProcessInstance.id).where(ProcessInstance.started_by == started_by)))
        for column, value in ((InboxTask.instance_id, instance_id), (InboxTask.process_id, process_id),
                              (InboxTask.name, name), (InboxTask.business_key, business_key),
                              (InboxTask.assignee, assignee)):
            if value is not None:
                query = query.where(column == value)
        if created_from is not None:
            query = query.where(InboxTask.created_at >= created_from)
        if created_before is not None:
            query = query.where(InboxTask.created_at < created_before)
        if due_before is not None:
            query = query.where(InboxTask.due_at.is_not(None), InboxTask.due_at < due_before)
        return _page(self._session, query, [InboxTask.created_at, InboxTask.id], [datetime, str],
                     descending=newest_first, after=after, limit=limit, total=total)

    def tasks_of_instance(self, instance_id: int) -> list[InboxTask]:
        """Every inbox row of an instance, open and done, in the order they arrived."""
        return list(self._session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance_id)
                                          .order_by(InboxTask.created_at, InboxTask.id)))

    # ------------------------------------------------------------------ timers, incidents

    def timers(self, *, state: TimerState | None = TimerState.WAITING, instance_id: int | None = None,
               process_id: str | None = None, due_from: datetime | None = None, due_before: datetime | None = None,
               after: str | None = None, limit: int = 100, total: bool = False) -> Page[Timer]:
        """Timers by due time, soonest first (of one process: ``ix_timer_process_due``)."""
        query = sa.select(Timer)
        if state is not None:
            query = query.where(Timer.state == state)
        if instance_id is not None:
            query = query.where(Timer.instance_id == instance_id)
        if process_id is not None:
            query = query.where(Timer.process_id == process_id)
        if due_from is not None:
            query = query.where(Timer.due_at >= due_from)
        if due_before is not None:
            query = query.where(Timer.due_at < due_before)
        return _page(self._session, query, [Timer.due_at, Timer.id], [datetime, int],
                     descending=False, after=after, limit=limit, total=total)

    def messages(self, *, state: str = "kept", business_key: str | None = None, after: str | None = None,
                 limit: int = 100) -> Page[Message]:
        """Messages by id: ``kept`` (no instance took them in yet, with their ``expires_at``), ``expired``
        (their time-to-live passed first) or ``consumed`` (taken in, or discarded)."""
        query = sa.select(Message)
        if state == "kept":
            query = query.where(Message.consumed_at.is_(None))
        elif state == "expired":
            query = query.where(Message.expired_at.is_not(None))
        elif state == "consumed":
            query = query.where(Message.consumed_at.is_not(None), Message.expired_at.is_(None))
        if business_key is not None:
            query = query.where(Message.business_key == business_key)
        return _page(self._session, query, [Message.id], [int], descending=False, after=after, limit=limit)

    def schedules(self, *, state: str | None = "waiting") -> list[ProcessSchedule]:
        """Timer start events of the deployed versions, soonest due first (``waiting``: still to start some)."""
        query = sa.select(ProcessSchedule)
        if state is not None:
            query = query.where(ProcessSchedule.state == state)
        return list(self._session.scalars(query.order_by(ProcessSchedule.due_at, ProcessSchedule.id)))
    def deadlines(self, business_keys: Iterable[str], names: Iterable[str] | None = None) -> dict[str, datetime]:
        """Business key → the soonest due time of the timers named ``names`` (all when None) its unfinished
        instances wait on: a deadline as the diagram computed it (what pages show, so a changed timer
        expression shows at once; a reminder timer beside it is not the deadline).

        From the keys to their instances (by the business-key index), then to those instances' timers (by
        the instance index): never through the city's waiting timers, whose number grows with the city."""
        keys = sorted(set(business_keys))
        if not keys:
            return {}
        instances = dict(self._session.execute(sa.select(ProcessInstance.id, ProcessInstance.business_key)
                                               .where(ProcessInstance.business_key.in_(keys))).all())
        if not instances:
            return {}
        # Only the instance index, with the state and the name checked here: given ``state = 'waiting'`` too,
        # SQLite (no statistics) prefers ix_timer_due and reads every waiting timer of the city (~100 ms at
        # 20,000 instances) to find these few; an instance's own timers, fired ones included, are a handful.
        query = sa.select(Timer.instance_id, Timer.due_at, Timer.state, Timer.name).where(
            Timer.instance_id.in_(list(instances)))
        wanted = None if names is None else set(names)
        soonest: dict[str, datetime] = {}
        for instance_id, due, state, name in self._session.execute(query):
            if state != TimerState.WAITING or (wanted is not None and name not in wanted):
                continue
            key = str(instances[instance_id])
            if key not in soonest or due < soonest[key]:
                soonest[key] = due
        return soonest

    def incidents(self, *, statuses: Iterable[str] | None = UNRESOLVED, instance_id: int | None = None,
                  process_id: str | None = None, created_from: datetime | None = None,
                  created_before: datetime | None = None, after: str | None = None, limit: int = 100,
                  total: bool = False) -> Page[Incident]:
        """Incidents, oldest first (unresolved ones unless ``statuses`` says otherwise)."""
        query = sa.select(Incident)
        if statuses is not None:
            query = query.where(Incident.status.in_(list(statuses)))
        if instance_id is not None:
            query = query.where(Incident.instance_id == instance_id)
        if process_id is not None:
            query = query.where(Incident.process_id == process_id)
        if created_from is not None:
            query = query.where(Incident.created_at >= created_from)
        if created_before is not None:
            query = query.where(Incident.created_at < created_before)
        return _page(self._session, query, [Incident.created_at, Incident.id], [datetime, int],
                     descending=False, after=after, limit=limit, total=total)

    def incidents_by_id(self, incident_ids: Iterable[int]) -> list[Incident]:
        ids = list(incident_ids)
        if not ids:
            return []
        return list(self._session.scalars(sa.select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)))

    def incident(self, incident_id: int) -> Incident | None:
        return self._session.get(Incident, incident_id)

    def unresolved_incident_count(self) -> int:
        return self._session.scalar(sa.select(sa.func.count()).select_from(Incident).where(
            Incident.status.in_(UNRESOLVED))) or 0

    # ------------------------------------------------------------------ instances, definitions

    def instance(self, instance_id: int) -> ProcessInstance | None:
        return self._session.get(ProcessInstance, instance_id)

    def instances(self, *, process_id: str | None = None, status: str | None = None,
                  business_key: str | None = None, business_key_prefix: str | None = None,
                  started_by: str | None = None, after: str | None = None,
                  limit: int = 50, total: bool = False) -> Page[ProcessInstance]:
        """Instances, newest first (the state column is left unloaded: lists never need it)."""
        query = sa.select(ProcessInstance).options(sa.orm.defer(ProcessInstance.state))
        for column, value in ((ProcessInstance.process_id, process_id), (ProcessInstance.status, status),
                              (ProcessInstance.business_key, business_key),
                              (ProcessInstance.started_by, started_by)):
            if value is not None:
                query = query.where(column == value)
        if business_key_prefix:
            query = query.where(*_prefix(ProcessInstance.business_key, business_key_prefix))
        return _page(self._session, query, [ProcessInstance.id], [int], descending=True, after=after, limit=limit,
                     total=total)

    def instances_by_id(self, instance_ids: Iterable[int]) -> dict[int, ProcessInstance]:
        """The instances of a page's rows (timers, incidents, audit) in one query, without their state.
        Rows of no instance (a deploy, a password reset) bring ``None``, which is skipped."""
        ids = sorted({instance_id for instance_id in instance_ids if instance_id is not None})
        if not ids:
            return {}
        rows = self._session.scalars(sa.select(ProcessInstance).options(sa.orm.defer(ProcessInstance.state))
                                     .where(ProcessInstance.id.in_(ids)))
        return {row.id: row for row in rows}

    def started_by(self, instance_id: int) -> str | None:
        """Who started an instance (the policy of citizen lanes), without loading its state."""
        return self._session.scalar(sa.select(ProcessInstance.started_by).where(ProcessInstance.id == instance_id))

    def instance_counts_capped(self, statuses: Iterable[str]) -> dict[str, Total]:
        """Instances per status, each counted up to :data:`COUNT_CAP` on the status index."""
        return {status: capped_count(self._session, sa.select(ProcessInstance.id).where(
            ProcessInstance.status == status), ProcessInstance.id) for status in statuses}

    def instance_total_estimate(self) -> Total:
        """How many instances there are, from the database's statistics (PostgreSQL ``reltuples``) or
        the highest id (SQLite): one lookup, never a count."""
        session = self._session
        if session.get_bind().dialect.name == "postgresql":
            tuples = session.scalar(sa.text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'process_instance'"))
            if tuples is not None and tuples >= 0:
                return Total(int(tuples), estimated=True)
        return Total(session.scalar(sa.select(sa.func.max(ProcessInstance.id))) or 0, estimated=True)

    def instance_counts(self) -> dict[str, int]:
        """Instances per status (reads every instance: tests and tools, not pages)."""
        rows = self._session.execute(sa.select(ProcessInstance.status, sa.func.count())
                                     .group_by(ProcessInstance.status)).all()
        return {status: count for status, count in rows}

    def definitions(self, *, process_id: str | None = None, newest_first: bool = False) -> list[ProcessDefinition]:
        """Deployed versions, by process id and version."""
        query = sa.select(ProcessDefinition)
        if process_id is not None:
            query = query.where(ProcessDefinition.process_id == process_id)
        version = ProcessDefinition.version.desc() if newest_first else ProcessDefinition.version
        return list(self._session.scalars(query.order_by(ProcessDefinition.process_id, version)))

    def process_names(self) -> dict[str, str]:
        """Process id → the name its newest version gives it, without reading the versions' (large) sources."""
        rows = self._session.execute(sa.select(ProcessDefinition.process_id, ProcessDefinition.name)
                                     .order_by(ProcessDefinition.process_id, ProcessDefinition.version))
        return {str(process_id): str(name) for process_id, name in rows}  # the newest version wins

    def definition(self, definition_id: int) -> ProcessDefinition | None:
        return self._session.get(ProcessDefinition, definition_id)

    def deployed_sources(self) -> dict[str, str]:
        """Every file of every deployed version, the newest text of each name winning."""
        sources: dict[str, str] = {}
        for definition in self._session.scalars(sa.select(ProcessDefinition).order_by(ProcessDefinition.id)):
            sources.update(definition.sources)
        return sources

    def snapshots(self, *, instance_id: int | None = None, process_id: str | None = None,
                  limit: int = 200) -> list[InstanceSnapshot]:
        """Pre-migration snapshots (without their state), newest first."""
        query = sa.select(InstanceSnapshot).options(sa.orm.defer(InstanceSnapshot.state))
        if instance_id is not None:
            query = query.where(InstanceSnapshot.instance_id == instance_id)
        if process_id is not None:
            query = query.where(InstanceSnapshot.instance_id.in_(
                sa.select(ProcessInstance.id).where(ProcessInstance.process_id == process_id)))
        return list(self._session.scalars(query.order_by(InstanceSnapshot.id.desc()).limit(min(limit, MAX_LIMIT))))

    # ------------------------------------------------------------------ outbound events

    def outbound_events(self, *, kind: str | None = None, business_key: str | None = None,
                        after: str | None = None, limit: int = 50) -> Page[OutboundEvent]:
        """Outbound events, newest first."""
        query = sa.select(OutboundEvent)
        if kind:
            query = query.where(OutboundEvent.kind == kind)
        if business_key:
            query = query.where(OutboundEvent.business_key == business_key)
        return _page(self._session, query, [OutboundEvent.created_at, OutboundEvent.id], [datetime, str],
                     descending=True, after=after, limit=limit)

    def deliveries(self, event_ids: Iterable[str]) -> list[OutboundDelivery]:
        ids = list(event_ids)
        if not ids:
            return []
        return list(self._session.scalars(sa.select(OutboundDelivery).where(OutboundDelivery.event_id.in_(ids))
                                          .order_by(OutboundDelivery.id)))

    def delivery(self, delivery_id: int) -> OutboundDelivery | None:
        return self._session.get(OutboundDelivery, delivery_id)

    # ------------------------------------------------------------------ audit

    def audit(self, *, instance_id: int | None = None, kinds: Iterable[str] | None = None,
              actor: str | None = None, at_from: datetime | None = None, at_before: datetime | None = None,
              newest_first: bool = False, after: str | None = None, limit: int = 200,
              total: bool = False) -> Page[AuditEvent]:
        """Audit events in the order they happened (or newest first): instance events, deploys, password
        resets, account changes.  One kind or an actor has an index in id order; a time range becomes
        an id range (ids grow with time), so the trail keeps no time index that every step would write."""
        query = sa.select(AuditEvent)
        if instance_id is not None:
            query = query.where(AuditEvent.instance_id == instance_id)
        if kinds is not None:
            wanted = list(kinds)
            query = query.where(AuditEvent.kind == wanted[0] if len(wanted) == 1 else AuditEvent.kind.in_(wanted))
        if actor is not None:
            query = query.where(AuditEvent.actor == actor)
        if at_from is not None:
            query = query.where(AuditEvent.id >= self._first_audit_id(at_from))
        if at_before is not None:
            query = query.where(AuditEvent.id < self._first_audit_id(at_before))
        return _page(self._session, query, [AuditEvent.id], [int], descending=newest_first, after=after,
                     limit=limit, total=total)

    def _first_audit_id(self, at: datetime) -> int:
        """The id of the first audit event at or after ``at``: a binary search over the primary key."""
        session = self._session
        low = session.scalar(sa.select(sa.func.min(AuditEvent.id))) or 0
        high = (session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0) + 1
        while low < high:
            middle = (low + high) // 2
            row = session.execute(sa.select(AuditEvent.id, AuditEvent.at).where(AuditEvent.id >= middle)
                                  .order_by(AuditEvent.id).limit(1)).first()
            if row is None or row.at >= at:
                high = middle
            else:
                low = row.id + 1
        return low

    def completed_nodes(self, instance_id: int) -> list[dict[str, Any]]:
        """The flow nodes an instance got past, in order: ``{"bpmn_id", "name"}`` each."""
        events = self._session.scalars(sa.select(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.kind == "nodes_completed").order_by(AuditEvent.id))
        nodes = [node for event in events for node in event.details["nodes"]]
        if nodes:
            return nodes
        # An archived instance (engine.retention) keeps its path, not its audit rows.
        path = self._session.scalar(sa.select(InstanceArchive.path).where(InstanceArchive.instance_id == instance_id))
        return list(path or [])
