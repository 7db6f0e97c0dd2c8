"""The worker's loop: sweep (due timers, kept messages, incident retries) again at once while a sweep
did something, and sleep only when one found nothing; ``once`` drains what is due, then stops.

Any number of workers may run it side by side: the timer sweep claims each due timer with its
instance's lock (``SKIP LOCKED``), so they split the work and each timer fires exactly once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import logcontext, metrics
from .heartbeat import Heartbeat

if TYPE_CHECKING:
    from .runtime import ProcessEngine

log = logging.getLogger(__name__)

# Timers fired per sweep before kept messages and retries get their turn (the next sweep goes on at once).
BATCH = 100


def sweep(engine: ProcessEngine, batch: int = BATCH) -> dict[str, int]:
    """One sweep: up to ``batch`` due timers, then kept messages that can be taken in, then due retries,
    then kept messages past their time-to-live, then up to ``batch`` due outbound event deliveries, then
    (with a retention period) one batch of finished instances to archive (engine.retention)."""
    return {
        "timers": engine.fire_due_timers(limit=batch),
        "messages": engine.deliver_pending(),
        "retries": engine.retry_incidents(),
        "expired": engine.expire_messages(),
        "events": engine.deliver_events(batch),
        "archived": engine.archive_finished(max_batches=1).instances if engine.retention_days is not None else 0,
    }


def run(engine: ProcessEngine, *, once: bool = False, interval: float = 5.0, limit: int | None = None,
        stop: Callable[[], bool] = lambda: False,
        after_sweep: Callable[[dict[str, int]], None] = lambda done: None,
        worker_id: str | None = None, beat: bool = True) -> dict[str, int]:
    """Sweep until stopped (``once``: until a sweep finds nothing, or ``limit`` timers were fired);
    what was done in all.  ``after_sweep`` gets each sweep's counts (also of a failed sweep: empty).

    With ``beat`` the worker keeps its heartbeat row (``worker_id``, default ``host:pid``) after every sweep."""
    heart = Heartbeat(engine.transaction, worker_id) if beat else None
    with logcontext.scope(worker=heart.worker_id if heart else worker_id):
        return _loop(engine, heart, once, interval, limit, stop, after_sweep)


def _loop(engine: ProcessEngine, heart: Heartbeat | None, once: bool, interval: float, limit: int | None,
          stop: Callable[[], bool], after_sweep: Callable[[dict[str, int]], None]) -> dict[str, int]:
    total = {"timers": 0, "messages": 0, "retries": 0, "expired": 0, "events": 0, "archived": 0}
    started = False
    while not stop():
        batch = BATCH if limit is None else min(BATCH, limit - total["timers"])
        try:
            done = sweep(engine, batch)
        except sa.exc.DBAPIError as err:
            # The database itself (down, not yet set up by `netsign init`): one line a sweep, not a traceback;
            # the worker goes on trying, so it picks up as soon as the database is there.
            log.error("worker sweep failed, database unavailable: %s", str(err.orig).splitlines()[0])
            done = {}
        except Exception:  # keep sweeping; the failed step was rolled back
            log.exception("worker sweep failed")
            done = {}
        started = _beat(heart, done, started)
        after_sweep(done)
        for kind, count in done.items():
            total[kind] += count
            metrics.SWEPT.labels(kind).inc(count)
        if any(done.values()):
            log.info("worker swept", extra={**done})
        busy = any(done.values())
        if once and (not busy or (limit is not None and total["timers"] >= limit)):
            break
        if not busy:
            _sleep(interval, stop)
    return total


def _beat(heart: Heartbeat | None, done: dict[str, int], started: bool) -> bool:
    """Write the heartbeat (its first beat writes the row afresh); whether the row was started.  A database
    that is down is already said once a sweep above: the heartbeat then just stays old."""
    if heart is None:
        return started
    try:
        if not started:
            heart.start()
        heart.beat(done)
        return True
    except sa.exc.DBAPIError:
        return started
    except Exception:
        log.exception("worker heartbeat failed")
        return started


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    """Sleep in short naps so that a stop request (SIGTERM) is seen within a tenth of a second."""
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
