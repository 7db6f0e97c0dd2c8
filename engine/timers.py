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
from .incidents import Attempt, Element, record_failure
from .status import TimerState

if TYPE_CHECKING:
    from .step import Steps


def fire_due(steps: Steps, limit: int = 100) -> int:
    """Fire up to ``limit`` due timers; how many were fired here (not by another worker).

    Each instance in a transaction of its own: one that fails gets an incident and the sweep goes on.
    """
    with steps.transaction() as session:
        candidates = store.due_timers(session.connection(), utcnow(), limit)
    fired = 0
    for timer_id, instance_id in candidates:
        attempt = Attempt()
        try:
            fired += _fire(steps, timer_id, instance_id, attempt)
        except Exception as err:
            # One instance that cannot take its timer must not stop the others'.
            record_failure(steps, instance_id, attempt, err)
    return fired


def _fire(steps: Steps, timer_id: int, instance_id: int, attempt: Attempt) -> int:
    with steps.transaction() as session:
        conn = session.connection()
        locked = store.lock_instance(conn, instance_id, skip_locked=True)
        if locked is None:
            return 0  # another worker is on this instance; it will fire the timer
        timer = store.timer(conn, timer_id)
        # A cycle keeps its row: another worker may have fired this repetition meanwhile.
        if timer.state != TimerState.WAITING or timer.due_at > utcnow():
            return 0
        attempt.element = Element(timer.task_id, timer.bpmn_id, timer.name)
        with steps.on(session, instance_id, "worker", "timer", instance=locked) as step:
            attempt.step = step
            step.audit("timer_due", task_id=timer.task_id, bpmn_id=timer.bpmn_id, name=timer.name,
                       due_at=timer.due_at.isoformat())
            step.run_engine()
    return 1
