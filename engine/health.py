"""After every step: find instances that cannot move on by themselves and say why, as incidents.

An instance must always have a way forward: a task in somebody's inbox, a timer
or message it waits for, or an incident an administrator sees.  A READY task
that SpiffWorkflow does not run and no person can complete, or a running
instance with nothing open and nothing awaited, would otherwise hang silently.
Errors SpiffWorkflow raises outside a task's own code (a gateway with no true
condition, an event subprocess it cannot wire) are turned into incidents on
the task they happened at, with the state up to there stored.
"""
from __future__ import annotations

import logging

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from .registry import EMPTY_FORM_KEY
from .specs import form_key_of

if TYPE_CHECKING:
    from .registry import Registry
    from .snapshot import Snapshot
    from .step import Step

log = logging.getLogger(__name__)


def _label(task: Any) -> str:
    spec = task.task_spec
    return f"「{spec.bpmn_name or spec.bpmn_id or spec.name}」({spec.bpmn_id or spec.name})"


def record_engine_error(step: Step, err: Exception) -> None:
    """Note an error SpiffWorkflow raised while running automatic tasks, against the task it failed at.

    SpiffWorkflow puts the task it was running into ERROR before re-raising, so the
    task is found by its state even when the exception does not name it.  Database
    errors are not the diagram's fault: they end the step (and roll it back).
    """
    if isinstance(err, sa.exc.SQLAlchemyError):
        raise err
    # Tasks that failed in an earlier step keep their own incident and message.
    failed = [t for t in _all_tasks(step.workflow) if t.state == TaskState.ERROR and t.id not in step.failures
              and t.last_state_change >= step.started]
    task = getattr(err, "task", None)
    if task is not None and task.id not in step.failures and task not in failed:
        failed.append(task)
    for failed_task in failed:
        step.failures[failed_task.id] = _explain(failed_task, err)
    if not failed:
        step.orphan_error = f"{type(err).__name__}: {err}"
    log.warning("instance %s: engine error: %s", step.instance.id, err)


def _unbound_inbox_tasks(snap: Snapshot, registry: Registry) -> dict[str, tuple[object, str]]:
    """Open tasks whose form or lane the running registry no longer knows (deploy checked an older one)."""
    found: dict[str, tuple[object, str]] = {}
    for task_id, task in snap.ready_user_tasks.items():
        spec = task.task_spec
        form_key = form_key_of(spec)
        if form_key != EMPTY_FORM_KEY and form_key not in registry.forms:
            found[task_id] = (task, f"任务{_label(task)}的表单「{form_key}」没有注册表单结构，无人能办理；"
                                    f"请注册该表单，或部署不再使用它的流程版本")
        elif spec.lane is not None and registry.role_for_lane(spec.lane) is None:
            found[task_id] = (task, f"任务{_label(task)}所在泳道「{spec.lane}」没有对应的角色，无人能办理；"
                                    f"请为该泳道登记角色")
    return found


def _explain(task: Any, err: Exception) -> str:
    detail = f"{type(err).__name__}: {err}"
    if "Gateway" in type(task.task_spec).__name__ and "No conditions satisfied" in str(err):
        return (f"网关{_label(task)}没有成立的条件，也没有默认流向：请为它设置默认流向，"
                f"或修改各流向的条件（{detail}）")
    return f"{_label(task)}执行出错：{detail}；请检查该元素的条件、脚本和配置"


def _all_tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def blocked_tasks(workflow: Any, snap: Snapshot, registry: Registry,
                  orphan_error: str | None = None) -> dict[str, tuple[object, str]]:
    """Task id → (task, reason) for every way this instance is stuck; empty when it can move on.

    ``snap`` is the snapshot taken after the step; tasks in ERROR already have incidents.
    """
    if snap.errored:
        return {}
    unbound = _unbound_inbox_tasks(snap, registry)
    if unbound:
        return unbound
    if snap.ready_automatic:
        # do_engine_steps runs every READY automatic task; one still READY has nobody to run it.
        return {str(t.id): (t, f"任务{_label(t)}已就绪，但引擎无法执行它，也没有人可以办理；"
                               f"请检查该元素的类型和配置") for t in snap.ready_automatic}
    if snap.ready_user_tasks or snap.waiting_events or workflow.is_completed():
        return {}
    started = [t for t in _all_tasks(workflow) if t.state == TaskState.STARTED]
    task = started[-1] if started else (workflow.last_task or workflow.task_tree)
    reason = (f"流程实例停滞在{_label(task)}：没有待办任务，也没有等待中的定时器或消息"
              + (f"（引擎错误：{orphan_error}）" if orphan_error else "")
              + "；请检查流程图在此处的连线和配置")
    return {str(task.id): (task, reason)}
