"""The timer sweep: fire every due timer exactly once, one instance per transaction.

Timer rows are the projection of the workflows' waiting timer events (written by
:mod:`engine.projections`); the sweep reads them, locks each instance with
``SKIP LOCKED`` so that any number of workers share the work, and runs a step on
it that fires what is due (a timer that is due is also fired by any other step
on its instance, see :meth:`engine.step.Step.fire_due_timers`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import store
from .db import utcnow
from .status import TimerState

if TYPE_CHECKING:
    from .step import Steps


def fire_due(steps: Steps, limit: int = 100) -> int:
    """Fire up to ``limit`` due timers; how many were fired here (not by another worker)."""
    with steps.transaction() as session:
        candidates = store.due_timers(session.connection(), utcnow(), limit)
    fired = 0
    for timer_id, instance_id in candidates:
        with steps.transaction() as session:
            conn = session.connection()
            locked = store.lock_instance(conn, instance_id, skip_locked=True)
            if locked is None:
                continue  # another worker is on this instance; it will fire the timer
            timer = store.timer(conn, timer_id)
            if timer.state != TimerState.WAITING:
                continue
            with steps.on(session, instance_id, "worker", "timer", instance=locked) as step:
                step.audit("timer_due", task_id=timer.task_id, bpmn_id=timer.bpmn_id, name=timer.name,
                           due_at=timer.due_at.isoformat())
                step.run_engine()
            fired += 1
    return fired
