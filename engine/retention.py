"""The retention policy: finished instances older than N days give up their state and detailed audit.

What stays: the instance row (process, business key, who started it, start and end time,
outcome: status and end event), an ``instance_archive`` row with the path it took (the flow
nodes of its ``nodes_completed`` audit rows, in order) and what was purged, and everything
outside the engine's tables (the business records of the handlers are not the engine's to
touch).  What goes: the stored workflow state and every audit row of the instance.

Archiving runs in batches, one transaction each, so a long backlog never holds a lock for
long.  A batch claims its instances with their row locks (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the write lock taken at ``BEGIN``), so two workers split the work and
archive each instance once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .db import utcnow
from .models import AuditEvent, InstanceArchive, ProcessInstance
from .status import InstanceStatus

# What the state of an archived instance is set to: loading it says why there is nothing to load.
ARCHIVED_STATE = '{"format":"netsign-archived"}'
DEFAULT_BATCH = 200

_instance = cast(sa.Table, ProcessInstance.__table__)
_audit = cast(sa.Table, AuditEvent.__table__)
_archive = cast(sa.Table, InstanceArchive.__table__)


@dataclass
class RetentionReport:
    """What an archiving run did (or, dry, would do)."""

    cutoff: datetime
    instances: int = 0
    audit_rows: int = 0
    state_chars: int = 0
    batches: int = 0
    instance_ids: list[int] = field(default_factory=list)


def _candidates(cutoff: datetime, limit: int) -> sa.Select[Any]:
    archived = sa.exists().where(_archive.c.instance_id == _instance.c.id)
    return (sa.select(_instance.c.id)
            .where(_instance.c.status == InstanceStatus.COMPLETED, _instance.c.completed_at < cutoff, ~archived)
            .order_by(_instance.c.completed_at, _instance.c.id).limit(limit))


def _archive_batch(conn: Connection, cutoff: datetime, limit: int, now: datetime, report: RetentionReport) -> int:
    query = _candidates(cutoff, limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # another worker's batch is left to it
    ids = list(conn.scalars(query))
    for instance_id in ids:
        events = conn.execute(sa.select(_audit.c.kind, _audit.c.details).where(_audit.c.instance_id == instance_id)
                              .order_by(_audit.c.id)).all()
        path = [node for kind, details in events if kind == "nodes_completed" for node in details["nodes"]]
        chars = conn.scalar(sa.select(sa.func.length(_instance.c.state)).where(_instance.c.id == instance_id)) or 0
        conn.execute(_archive.insert().values(instance_id=instance_id, archived_at=now, path=path,
                                              audit_rows=len(events), state_chars=chars))
        conn.execute(_audit.delete().where(_audit.c.instance_id == instance_id))
        # The state goes; the row's version is untouched: archiving is not a step of the instance.
        conn.execute(_instance.update().where(_instance.c.id == instance_id).values(state=ARCHIVED_STATE))
        report.audit_rows += len(events)
        report.state_chars += chars
    report.instances += len(ids)
    report.instance_ids += ids
    return len(ids)


def _dry_run(conn: Connection, cutoff: datetime, report: RetentionReport) -> RetentionReport:
    ids = list(conn.scalars(_candidates(cutoff, 1_000_000)))
    report.instances, report.instance_ids = len(ids), ids
    if ids:
        report.audit_rows = conn.scalar(sa.select(sa.func.count()).select_from(_audit)
                                        .where(_audit.c.instance_id.in_(ids))) or 0
        report.state_chars = conn.scalar(sa.select(sa.func.sum(sa.func.length(_instance.c.state)))
                                         .where(_instance.c.id.in_(ids))) or 0
    return report


def archive_finished(transaction: Callable[[], Any], read: Callable[[], Any], days: float, *,
                     batch: int = DEFAULT_BATCH, max_batches: int | None = None,
                     dry_run: bool = False) -> RetentionReport:
    """Archive instances finished more than ``days`` ago, ``batch`` at a time, each batch one transaction,
    until none is left (or ``max_batches`` ran).  ``dry_run`` only counts what would go.

    ``transaction``: a context manager giving a write session (the engine's step transaction);
    ``read``: a session to read from.
    """
    now = utcnow()
    report = RetentionReport(cutoff=now - timedelta(days=days))
    if dry_run:
        session = read()
        try:
            return _dry_run(session.connection(), report.cutoff, report)
        finally:
            session.rollback()
    while max_batches is None or report.batches < max_batches:
        with transaction() as session:
            done = _archive_batch(session.connection(), report.cutoff, batch, now, report)
        if not done:
            break
        report.batches += 1
    return report


def archived_path(conn: Connection, instance_id: int) -> list[dict[str, Any]] | None:
    """The path kept for an archived instance; None if it is not archived."""
    path = conn.scalar(sa.select(_archive.c.path).where(_archive.c.instance_id == instance_id))
    return None if path is None else list(path)
