"""Per element of a definition version: how many instances wait there now, and how long people took there.

Costs stay bounded as the database grows: the waiting counts read only open rows (indexed by state), and
the times come from the person tasks of the newest ``sample`` instances of the version (indexed by
definition, then by instance), not from every task ever done.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import InboxTask, ProcessInstance, Timer
from .status import InboxState, TimerState


@dataclass
class ElementStats:
    waiting: int = 0
    done: int = 0  # person tasks completed there, among the sampled instances
    median_seconds: float | None = None


def element_statistics(session: Session, definition_id: int, *, sample: int = 300) -> dict[str, ElementStats]:
    stats: dict[str, ElementStats] = {}
    of_version = sa.select(ProcessInstance.id).where(ProcessInstance.definition_id == definition_id)
    for model, open_state in ((InboxTask, InboxState.READY), (Timer, TimerState.WAITING)):
        rows = session.execute(
            sa.select(model.bpmn_id, sa.func.count()).where(model.state == open_state,
                                                             model.instance_id.in_(of_version))
            .group_by(model.bpmn_id))
        for bpmn_id, count in rows:
            stats.setdefault(bpmn_id, ElementStats()).waiting += count
    newest = of_version.order_by(ProcessInstance.id.desc()).limit(sample).scalar_subquery()
    durations: dict[str, list[float]] = {}
    for bpmn_id, created, completed in session.execute(
            sa.select(InboxTask.bpmn_id, InboxTask.created_at, InboxTask.completed_at)
            .where(InboxTask.instance_id.in_(newest), InboxTask.state == InboxState.COMPLETED)):
        if created is not None and completed is not None:
            durations.setdefault(bpmn_id, []).append((completed - created).total_seconds())
    for bpmn_id, seconds in durations.items():
        entry = stats.setdefault(bpmn_id, ElementStats())
        entry.done, entry.median_seconds = len(seconds), statistics.median(seconds)
    return stats


def describe_duration(seconds: float) -> str:
    """A median time as people say it: 「3天4小时」, 「25分钟」, 「不到1分钟」."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "不到1分钟"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{minutes}分钟" if minutes and not days else ""]
    return "".join(parts)
