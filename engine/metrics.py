"""Prometheus metrics of the engine.

Measured in the process that does the work (kept in that process's memory): step latency by kind
(start, complete, message, timer), timer lag (firing time − due time) and what the worker swept.
Read from the database when scraped (:class:`DatabaseCollector`, a few indexed counts, so every process
that serves ``/metrics`` shows the same): the due-timer backlog, open incidents, the open inbox per role,
and each worker's heartbeat age and counts.

The metric objects are made unregistered; :func:`registry` puts them with a database collector into a
registry of its own (one per application), so that several applications in one process (tests) never
register a name twice.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from . import heartbeat
from .db import utcnow
from .models import InboxTask, Incident, Timer
from .status import IncidentStatus, InboxState, TimerState

STEP_KINDS = ("start", "complete", "message", "timer")

STEP_SECONDS = Histogram(
    "netsign_step_duration_seconds", "One engine step from its transaction's start to its commit, by kind",
    ["kind"], registry=None,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TIMER_LAG = Histogram(
    "netsign_timer_lag_seconds", "Firing time minus due time of each timer the worker fired", registry=None,
    buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 86400.0))
SWEPT = Counter("netsign_worker_swept", "What this worker process swept: fired timers, taken-in messages, retries",
                ["kind"], registry=None)

IN_PROCESS = (STEP_SECONDS, TIMER_LAG, SWEPT)
# The children of each kind, looked up once (``labels()`` takes a lock and hashes on every call).
STEP_OF = {kind: STEP_SECONDS.labels(kind) for kind in STEP_KINDS}

_TIMER, _INCIDENT, _INBOX = Timer.__table__, Incident.__table__, InboxTask.__table__
# Counts over the leading columns of an index each: ix_timer_due (state, due_at), ix_incident_retry
# (status, …), ix_inbox_open_role (state, role).
DUE_TIMERS = sa.select(sa.func.count()).select_from(_TIMER).where(
    _TIMER.c.state == TimerState.WAITING, _TIMER.c.due_at <= sa.bindparam("now"))
OPEN_INCIDENTS = (sa.select(_INCIDENT.c.status, sa.func.count()).where(
    _INCIDENT.c.status.in_([IncidentStatus.OPEN, IncidentStatus.FAILED])).group_by(_INCIDENT.c.status))
INBOX_BY_ROLE = (sa.select(_INBOX.c.role, sa.func.count()).where(_INBOX.c.state == InboxState.READY)
                 .group_by(_INBOX.c.role))


@contextmanager
def timed(kind: str) -> Iterator[None]:
    """Observe the block's duration as one step of ``kind`` (also when it fails)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STEP_OF[kind].observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """The gauges that are facts of the database, computed at scrape time."""

    def __init__(self, session_factory: Callable[[], Session], stale_after: float):
        self.session_factory = session_factory
        self.stale_after = stale_after

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("netsign_database_up", "1 when the scrape could read the database")
        session = self.session_factory()
        try:
            found = list(self._read(session.connection()))
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            return [up]
        finally:
            session.rollback()
        up.add_metric([], 1)
        return [up, *found]

    def _read(self, conn: sa.Connection) -> Iterator[Metric]:
        due = GaugeMetricFamily("netsign_timers_due", "Waiting timers whose due time has passed (the backlog)")
        due.add_metric([], conn.execute(DUE_TIMERS, {"now": utcnow()}).scalar_one())
        yield due
        incidents = GaugeMetricFamily("netsign_incidents_open", "Unresolved incidents (open: retried; "
                                      "failed: retries exhausted)", labels=["status"])
        counts: dict[str, int] = {status: count for status, count in conn.execute(OPEN_INCIDENTS)}
        for status in (IncidentStatus.OPEN, IncidentStatus.FAILED):
            incidents.add_metric([str(status)], counts.get(status, 0))
        yield incidents
        inbox = GaugeMetricFamily("netsign_inbox_tasks", "Open user tasks per role (lane)", labels=["role"])
        for role, count in conn.execute(INBOX_BY_ROLE):
            inbox.add_metric([role or ""], count)
        yield inbox
        yield from self._workers(heartbeat.read_all(conn))

    def _workers(self, beats: list[heartbeat.Beat]) -> Iterator[Metric]:
        age = GaugeMetricFamily("netsign_worker_heartbeat_age_seconds", "Seconds since each worker's last sweep",
                                labels=["worker"])
        stale = GaugeMetricFamily("netsign_worker_stale", f"1 when a worker's heartbeat is older than "
                                  f"{self.stale_after:g} s", labels=["worker"])
        swept = CounterMetricFamily("netsign_worker_heartbeat_swept", "What each worker swept since it started "
                                    "(from its heartbeat row)", labels=["worker", "kind"])
        for beat in beats:
            age.add_metric([beat.worker_id], beat.age)
            stale.add_metric([beat.worker_id], 1 if beat.stale(self.stale_after) else 0)
            for kind in heartbeat.COUNTS:
                swept.add_metric([beat.worker_id, kind], getattr(beat, kind))
        yield from (age, stale, swept)


def registry(session_factory: Callable[[], Session] | None = None, stale_after: float = 60.0,
             extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry with the in-process metrics, the database gauges (given a session factory) and ``extra``."""
    found = CollectorRegistry()
    for collector in (*IN_PROCESS, *extra):
        found.register(collector)
    if session_factory is not None:
        found.register(DatabaseCollector(session_factory, stale_after))
    return found
