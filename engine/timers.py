"""The timer sweep: fire every due timer exactly once, one instance per transaction.

Timer rows are the projection of the workflows' waiting timer events (written by
:mod:`engine.projections`); the sweep claims the soonest due one together with
its instance's lock (``SKIP LOCKED``, so any number of workers share the work,
each taking the next free timer), fires it in that transaction, and goes on until
nothing due is left (a timer that is due is also fired by any other step on its
instance, see :meth:`engine.step.Step.fire_due_timers`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import time

from . import logcontext, metrics, schedules, store
from .db import utcnow
from .incidents import Attempt, Element, record_failure
from .status import TimerState

if TYPE_CHECKING:
    from .step import Steps

_NONE_DUE, _FIRED, _GONE = 0, 1, 2


def fire_due(steps: Steps, limit: int | None = 100) -> int:
    """Fire due timers until none is left that this worker can take (or ``limit`` were fired);
    how many were fired here (not by another worker).

    Each instance in a transaction of its own: one that fails gets an incident and the sweep goes on.
    Due timer start events come first: each starts its instance (:mod:`engine.schedules`) and counts.
    """
    fired = schedules.start_due(steps, limit)
    passed: set[int] = set()  # timers whose step failed in this sweep: never claimed twice by it
    while limit is None or fired < limit:
        attempt = Attempt()
        started, lag = time.perf_counter(), [0.0]
        try:
            outcome = _fire_next(steps, attempt, passed, lag)
        except Exception as err:
            # One instance that cannot take its timer must not stop the others'.
            if attempt.instance_id is None or attempt.timer_id is None:
                raise  # the claim itself failed (the database): nothing to pin an incident on
            passed.add(attempt.timer_id)
            record_failure(steps, attempt.instance_id, attempt, err)
            continue
        if outcome == _NONE_DUE:
            break
        if outcome == _FIRED:
            fired += 1
            metrics.STEP_OF["timer"].observe(time.perf_counter() - started)
            metrics.TIMER_LAG.observe(lag[0])
    return fired


def _fire_next(steps: Steps, attempt: Attempt, passed: set[int], lag: list[float]) -> int:
    with steps.transaction() as session:
        conn = session.connection()
        claimed = store.claim_due_timer(conn, utcnow(), passed)
        if claimed is None:
            return _NONE_DUE  # nothing due, or every due one is held by another worker (it fires them)
        attempt.timer_id, locked = claimed
        attempt.instance_id = locked.id
        timer = store.timer(conn, attempt.timer_id)
        # Read again under the lock: another worker may have fired it (or a cycle's repetition) meanwhile.
        if timer.state != TimerState.WAITING or timer.due_at > utcnow():
            return _GONE
        attempt.element = Element(timer.task_id, timer.bpmn_id, timer.name)
        lag[0] = max(0.0, (utcnow() - timer.due_at).total_seconds())
        logcontext.bind(task=timer.name, task_id=timer.task_id)
        with steps.on(session, locked.id, "worker", "timer", instance=locked) as step:
            attempt.step = step
            step.audit("timer_due", task_id=timer.task_id, bpmn_id=timer.bpmn_id, name=timer.name,
                       due_at=timer.due_at.isoformat())
            step.run_engine()
    return _FIRED
