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

from .models import AuditEvent, InboxTask, Incident, InstanceArchive, ProcessDefinition, ProcessInstance, Timer
from .status import UNRESOLVED, InboxState, TimerState

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # give it back as ``after`` for the next page; None on the last page

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


def _page(session: Session, query: sa.Select[Any], keys: Sequence[Any], kinds: Sequence[type],
          *, descending: bool, after: str | None, limit: int) -> Page[Any]:
    """Rows of ``query`` ordered by ``keys`` (the last one unique), ``limit`` after the cursor."""
    limit = max(1, min(int(limit), MAX_LIMIT))
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
    return Page(rows, cursor)


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
                   newest_first: bool = False, after: str | None = None, limit: int = 50) -> Page[InboxTask]:
        """READY user tasks; ``roles`` limits to those lanes, ``started_by`` to instances that person started."""
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
        return _page(self._session, query, [InboxTask.created_at, InboxTask.id], [datetime, str],
                     descending=newest_first, after=after, limit=limit)

    def tasks_of_instance(self, instance_id: int) -> list[InboxTask]:
        """Every inbox row of an instance, open and done, in the order they arrived."""
        return list(self._session.scalars(sa.select(InboxTask).where(InboxTask.instance_id == instance_id)
                                          .order_by(InboxTask.created_at, InboxTask.id)))

    # ------------------------------------------------------------------ timers, incidents

    def timers(self, *, state: TimerState | None = TimerState.WAITING, instance_id: int | None = None,
               after: str | None = None, limit: int = 100) -> Page[Timer]:
        """Timers by due time, soonest first."""
        query = sa.select(Timer)
        if state is not None:
            query = query.where(Timer.state == state)
        if instance_id is not None:
            query = query.where(Timer.instance_id == instance_id)
        return _page(self._session, query, [Timer.due_at, Timer.id], [datetime, int],
                     descending=False, after=after, limit=limit)

    def incidents(self, *, statuses: Iterable[str] | None = UNRESOLVED, instance_id: int | None = None,
                  after: str | None = None, limit: int = 100) -> Page[Incident]:
        """Incidents, oldest first (unresolved ones unless ``statuses`` says otherwise)."""
        query = sa.select(Incident)
        if statuses is not None:
            query = query.where(Incident.status.in_(list(statuses)))
        if instance_id is not None:
            query = query.where(Incident.instance_id == instance_id)
        return _page(self._session, query, [Incident.id], [int], descending=False, after=after, limit=limit)

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
                  limit: int = 50) -> Page[ProcessInstance]:
        """Instances, newest first (the state column is left unloaded: lists never need it)."""
        query = sa.select(ProcessInstance).options(sa.orm.defer(ProcessInstance.state))
        for column, value in ((ProcessInstance.process_id, process_id), (ProcessInstance.status, status),
                              (ProcessInstance.business_key, business_key),
                              (ProcessInstance.started_by, started_by)):
            if value is not None:
                query = query.where(column == value)
        if business_key_prefix:
            escaped = business_key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(ProcessInstance.business_key.like(escaped + "%", escape="\\"))
        return _page(self._session, query, [ProcessInstance.id], [int], descending=True, after=after, limit=limit)

    def started_by(self, instance_id: int) -> str | None:
        """Who started an instance (the policy of citizen lanes), without loading its state."""
        return self._session.scalar(sa.select(ProcessInstance.started_by).where(ProcessInstance.id == instance_id))

    def instance_counts(self) -> dict[str, int]:
        """Instances per status."""
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

    def definition(self, definition_id: int) -> ProcessDefinition | None:
        return self._session.get(ProcessDefinition, definition_id)

    def deployed_sources(self) -> dict[str, str]:
        """Every file of every deployed version, the newest text of each name winning."""
        sources: dict[str, str] = {}
        for definition in self._session.scalars(sa.select(ProcessDefinition).order_by(ProcessDefinition.id)):
            sources.update(definition.sources)
        return sources

    # ------------------------------------------------------------------ audit

    def audit(self, *, instance_id: int | None = None, kinds: Iterable[str] | None = None,
              actor: str | None = None, after: str | None = None, limit: int = 200) -> Page[AuditEvent]:
        """Audit events in the order they happened."""
        query = sa.select(AuditEvent)
        if instance_id is not None:
            query = query.where(AuditEvent.instance_id == instance_id)
        if kinds is not None:
            query = query.where(AuditEvent.kind.in_(list(kinds)))
        if actor is not None:
            query = query.where(AuditEvent.actor == actor)
        return _page(self._session, query, [AuditEvent.id], [int], descending=False, after=after, limit=limit)

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
