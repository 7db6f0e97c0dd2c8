"""Timer start events: a deployed version's schedule, and the worker starting an instance when it is due.

Deploying a version whose process starts with a timer (date, duration or cycle) writes one
``process_schedule`` row per timer start event, with the moment it is next due, and retires the
rows of the versions before it.  The worker's timer sweep claims the soonest due row with its row
lock (``SKIP LOCKED`` on PostgreSQL; SQLite has one writer at a time), starts the instance past
its start event and moves the row to its next repetition, all in one transaction: each due moment
starts exactly one instance, whatever the number of workers.  A repetition missed while no worker
ran is started by the next sweep, one instance per repetition, oldest first.

The value of a timer start event must be a literal (``"PT1H"``, ``"2026-03-01T09:00:00+08:00"``,
``"R3/PT1H"``): there is no instance yet whose data could compute it (deploy refuses anything else).
"""
from __future__ import annotations

import ast
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                             DurationTimerEventDefinition,
                                                             TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from . import store
from .db import utcnow
from .models import ProcessSchedule

if TYPE_CHECKING:
    from .step import Steps

log = logging.getLogger(__name__)

_schedule = cast(sa.Table, ProcessSchedule.__table__)
WAITING, DONE, REPLACED = "waiting", "done", "replaced"


def timer_starts(spec: Any) -> list[tuple[Any, TimerEventDefinition]]:
    """The timer start events of a process (not those of its event subprocesses)."""
    found = []
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(task_spec, StartEvent) and isinstance(definition, TimerEventDefinition):
            found.append((task_spec, definition))
    return found


def literal_value(definition: TimerEventDefinition) -> str | None:
    """The timer's value when its expression is a string literal, else None."""
    try:
        value = ast.literal_eval(definition.expression.strip())
    except (ValueError, SyntaxError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def check_timer_starts(spec: Any, where: str) -> list[str]:
    """Deploy problems of a process's timer start events: a value that is not a literal, or that does not parse."""
    problems = []
    for task_spec, definition in timer_starts(spec):
        label = f"{where}: 定时开始事件「{task_spec.bpmn_name or task_spec.bpmn_id}」({task_spec.bpmn_id})"
        value = literal_value(definition)
        if value is None:
            problems.append(f"{label} 的时间必须是字符串常量（如 \"PT1H\"、\"R3/P1D\"）：启动前没有流程数据可用于计算")
            continue
        try:
            first_due(definition, value, utcnow())
        except Exception as err:  # noqa: BLE001 - Spiff's parsers raise what they raise
            problems.append(f"{label} 的时间 `{value}` 无法解析: {err}")
    return problems


def first_due(definition: TimerEventDefinition, value: str, now: datetime) -> tuple[datetime | None, int | None, float | None]:
    """``(due, cycles left after it, interval seconds)`` as SpiffWorkflow would compute them at ``now``."""
    if isinstance(definition, CycleTimerEventDefinition):
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
        if cycles == 0:
            return None, None, None
        return _aware(start), (cycles - 1 if cycles > 0 else -1), duration.total_seconds()
    if isinstance(definition, DurationTimerEventDefinition):
        return now + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(value)), None, None
    return _aware(TimerEventDefinition.get_datetime(value)), None, None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def register(conn: Connection, definition_id: int, process_id: str, spec: Any, now: datetime) -> None:
    """At deploy of a new version: retire the schedules of the older versions, write this version's."""
    conn.execute(sa.update(_schedule).where(_schedule.c.process_id == process_id, _schedule.c.state == WAITING)
                 .values(state=REPLACED))
    for task_spec, definition in timer_starts(spec):
        value = literal_value(definition)
        assert value is not None  # checked at deploy
        due, cycles_left, interval = first_due(definition, value, now)
        conn.execute(sa.insert(_schedule).values(
            definition_id=definition_id, process_id=process_id, bpmn_id=task_spec.bpmn_id,
            name=task_spec.bpmn_name or task_spec.bpmn_id, due_at=due, cycles_left=cycles_left,
            interval_seconds=interval, state=WAITING if due is not None else DONE, started=0))


def _claim(conn: Connection, now: datetime, passed: set[int]) -> Any:
    query = (sa.select(_schedule).where(_schedule.c.state == WAITING, _schedule.c.due_at <= now)
             .order_by(_schedule.c.due_at, _schedule.c.id).limit(1).with_for_update(skip_locked=True))
    if passed:
        query = query.where(_schedule.c.id.not_in(sorted(passed)))
    return conn.execute(query).first()


def _advance(row: Any) -> dict[str, Any]:
    """The row after the repetition due now started its instance."""
    values: dict[str, Any] = {"started": row.started + 1}
    if row.cycles_left is None or row.cycles_left == 0:
        values["state"] = DONE
    else:
        values["due_at"] = row.due_at + timedelta(seconds=row.interval_seconds)
        if row.cycles_left > 0:
            values["cycles_left"] = row.cycles_left - 1
    return values


def start_due(steps: Steps, limit: int | None = 100) -> int:
    """Start an instance for every due timer start event (each due moment once); how many were started here.

    One transaction each; one that fails is logged, left due for the next sweep, and the sweep goes on."""
    from .tasks import start_in

    started = 0
    passed: set[int] = set()
    while limit is None or started < limit:
        claimed: Any = None
        try:
            with steps.transaction() as session:
                conn = session.connection()
                claimed = _claim(conn, utcnow(), passed)
                if claimed is None:
                    break
                definition = steps.definitions.latest(conn, claimed.process_id)
                if definition.id != claimed.definition_id:  # a newer version was deployed meanwhile
                    conn.execute(sa.update(_schedule).where(_schedule.c.id == claimed.id).values(state=REPLACED))
                    continue
                result = start_in(steps, session, definition, claimed.process_id, "worker", None, None,
                                  fired_start=claimed.bpmn_id)
                conn.execute(sa.update(_schedule).where(_schedule.c.id == claimed.id).values(**_advance(claimed)))
                store.insert_audit(conn, [{"instance_id": result.instance_id, "task_id": None,
                                           "kind": "timer_start_fired", "actor": "worker", "at": utcnow(),
                                           "details": {"bpmn_id": claimed.bpmn_id, "name": claimed.name,
                                                       "due_at": claimed.due_at.isoformat(),
                                                       "schedule_id": claimed.id}}])
                log.info("timer start %s of %s (due %s) started instance %s", claimed.bpmn_id, claimed.process_id,
                         claimed.due_at.isoformat(), result.instance_id)
            started += 1
        except Exception:  # noqa: BLE001 - one schedule that cannot start must not stop the others
            if claimed is None:
                raise  # the claim itself failed (the database)
            passed.add(claimed.id)
            log.exception("timer start %s of %s failed; it stays due", claimed.bpmn_id, claimed.process_id)
    return started
