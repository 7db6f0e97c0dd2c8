"""Worker heartbeats: each worker process keeps one row (``host:pid``), rewritten after every sweep with
when it beat and what it has swept so far.  Readiness (:mod:`engine.readiness`) and the metrics
(:mod:`engine.metrics`) read the rows.

A worker that stopped leaves its row behind: it is shown as stale (its beat grows old) and deleted
only once it is older than ``keep`` (a week by default), by the next worker that starts or beats.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .db import utcnow
from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)
# A worker deletes rows older than ``keep`` at start and then once every this many beats.
PURGE_EVERY = 500

_T = cast(sa.Table, WorkerHeartbeat.__table__)
COUNTS = ("timers", "messages", "retries")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Beat:
    """One worker's row as read back; ``age`` in seconds at the time of reading."""

    worker_id: str
    started_at: datetime
    beat_at: datetime
    sweeps: int
    timers: int
    messages: int
    retries: int
    age: float

    def stale(self, after_seconds: float) -> bool:
        return self.age > after_seconds


class Heartbeat:
    """The heartbeat of one worker process; :meth:`beat` after every sweep (its own short transaction)."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]], worker_id: str | None = None,
                 keep: timedelta = KEEP):
        # ``transaction``: the engine's write transaction (ProcessEngine.transaction), a context manager.
        self._transaction = transaction
        self.worker_id = worker_id or default_worker_id()
        self.keep = keep
        self._beats = 0

    def _write(self, work: Callable[[sa.Connection], None]) -> None:
        with self._transaction() as session:
            work(session.connection())

    def start(self) -> None:
        """(Re)write this worker's row with zero counts; delete rows that are older than ``keep``."""
        now = utcnow()

        def work(conn: sa.Connection) -> None:
            conn.execute(_T.delete().where(_T.c.id == self.worker_id))
            conn.execute(_T.insert().values(id=self.worker_id, started_at=now, beat_at=now, sweeps=0,
                                            timers=0, messages=0, retries=0))
            purge(conn, now - self.keep)
        self._write(work)

    def beat(self, done: dict[str, int]) -> None:
        """Count one sweep and what it did; a row that vanished (purged by mistake, a restore) is re-made."""
        now = utcnow()
        self._beats += 1

        def work(conn: sa.Connection) -> None:
            changes = {name: getattr(_T.c, name) + int(done.get(name, 0)) for name in COUNTS}
            updated = conn.execute(_T.update().where(_T.c.id == self.worker_id)
                                   .values(beat_at=now, sweeps=_T.c.sweeps + 1, **changes))
            if updated.rowcount == 0:
                conn.execute(_T.insert().values(id=self.worker_id, started_at=now, beat_at=now, sweeps=1,
                                                **{name: int(done.get(name, 0)) for name in COUNTS}))
            if self._beats % PURGE_EVERY == 0:
                purge(conn, now - self.keep)
        self._write(work)


def purge(conn: sa.Connection, older_than: datetime) -> int:
    """Delete the rows of workers whose last beat is before ``older_than``; how many."""
    return conn.execute(_T.delete().where(_T.c.beat_at < older_than)).rowcount


def read_all(conn: sa.Connection) -> list[Beat]:
    """Every worker's row, the freshest first (a handful of rows: one per worker process)."""
    now = utcnow()
    rows = conn.execute(sa.select(_T).order_by(_T.c.beat_at.desc())).all()
    return [Beat(r.id, r.started_at, r.beat_at, r.sweeps, r.timers, r.messages, r.retries,
                 max(0.0, (now - r.beat_at).total_seconds())) for r in rows]
