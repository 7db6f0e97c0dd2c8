"""Moving running instances to another definition version, with a dry run first and a way back.

Built on SpiffWorkflow 3.2's ``SpiffWorkflow.bpmn.util.diff``: ``diff_workflow`` aligns every task of an
instance (and of its call activities) with the new version's task specs by BPMN id; ``migrate_workflow``
points the tasks at the new specs and resets the READY and WAITING ones, so that they are predicted and
evaluated again under the new diagram (a waiting timer computes its new due time; an open form keeps its
task id, so the inbox row stays).

- :func:`dry_run`: a :class:`Plan` for every unfinished instance of a process not on the target version:
  can it move, which waiting tasks map to which element, what would be reset, which tasks changed.
- :func:`migrate`: one instance in one transaction (snapshot first, then the move, audited); a bulk
  migration calls it per instance, so one that fails does not stop the others.
- :func:`revert`: put an instance back exactly as its snapshot kept it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import migration_store, snapshot, store
from .db import utcnow
from .errors import Conflict, NotFound
from .operations import status_label
from .serialization import converter_registry, load_state
from .status import UNFINISHED, InstanceStatus
from .step import Steps

LIVE_TASKS = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class TaskMove:
    name: str
    from_id: str
    to_id: str | None
    state: str
    changed: list[str] = field(default_factory=list)  # attributes of the element that differ
    to_name: str | None = None  # the new element's name as its diagram gives it (its id when it has none)


def N_(message: str) -> str:
    """Marks a message for `make i18n` (the pages translate it when they show it); returns it unchanged."""
    return message


class Problem(str):
    """Why an instance cannot move, in Chinese (it is a ``str``), keeping its message template and values so
    that a page can show it in the reader's language: ``problem.shown(translate)``."""

    template: str
    values: dict[str, str]

    def __new__(cls, template: str, **values: str) -> Problem:
        problem = super().__new__(cls, template % values)
        problem.template, problem.values = template, values
        return problem

    def shown(self, translate: Callable[[str], str]) -> str:
        """The message through ``translate`` (a catalog lookup), its names too."""
        return translate(self.template) % {key: translate(value) for key, value in self.values.items()}


@dataclass
class Plan:
    """What migrating one instance would do."""

    instance_id: int
    business_key: str | None
    status: str
    from_definition_id: int
    from_version: int
    to_definition_id: int
    to_version: int
    moves: list[TaskMove] = field(default_factory=list)  # the open and waiting tasks, each to its new element
    reset: list[str] = field(default_factory=list)  # names of the tasks that are predicted again
    problems: list[Problem] = field(default_factory=list)  # why it cannot move (empty: it can)

    @property
    def can_move(self) -> bool:
        return not self.problems


@dataclass
class Outcome:
    instance_id: int
    ok: bool
    message: str
    snapshot_id: int | None = None
    from_version: int | None = None  # the versions of a move that succeeded
    to_version: int | None = None


def _target(conn: Any, process_id: str, to_definition_id: int | None) -> Any:
    if to_definition_id is None:
        latest = store.latest_definition(conn, process_id)
        if latest is None:
            raise NotFound(f"流程「{process_id}」尚未部署")
        to_definition_id = latest.id
    target = migration_store.definition_row(conn, to_definition_id)
    if target is None or target.process_id != process_id:
        raise NotFound(f"流程「{process_id}」没有定义版本#{to_definition_id}")
    return target


def _name(task: Any) -> str:
    return _spec_name(task.task_spec)


def _spec_name(spec: Any) -> str:
    return str(spec.bpmn_name or spec.bpmn_id or spec.name)


def _pairs(workflow: Any, spec: Any, subprocess_specs: dict[str, Any]) -> list[tuple[Any, Any, Any, Any]]:
    """``(workflow or subprocess, its WorkflowDiff, its SpecDiff, its new spec)``; the diffs are None for a
    subprocess whose process the new version no longer has (as ``diff_workflow`` does it)."""
    registry = converter_registry()
    top = SpecDiff(registry, workflow.spec, spec)
    pairs = [(workflow, WorkflowDiff(workflow, top), top, spec)]
    for sub in workflow.subprocesses.values():
        new = subprocess_specs.get(sub.spec.name)
        spec_diff = SpecDiff(registry, sub.spec, new) if new is not None else None
        pairs.append((sub, WorkflowDiff(sub, spec_diff) if spec_diff else None, spec_diff, new))
    return pairs


def _diff(workflow: Any, plan: Plan, spec: Any, subprocess_specs: dict[str, Any]) -> list[tuple[Any, Any, Any, Any]]:
    """Fill ``plan`` from SpiffWorkflow's diff of ``workflow`` against the new specs; the diffs."""
    try:
        pairs = _pairs(workflow, spec, subprocess_specs)
    except KeyError as err:
        plan.problems.append(Problem(N_("无法与新版本对齐：元素 %(element)s 在新版本中找不到对应"), element=str(err)))
        return []
    for owner, diff, spec_diff, _ in pairs:
        live = [t for t in owner.get_tasks(state=LIVE_TASKS, skip_subprocesses=True) if t.task_spec.bpmn_id]
        if diff is None:
            # Its state names its process, which the new version could not load back.
            plan.problems.append(Problem(N_("子流程「%(name)s」在新版本中不存在（实例中仍有它的记录）"),
                                         name=str(owner.spec.name)))
            continue
        changed = spec_diff.changed
        for task in live:
            new = diff.alignment.get(task)
            plan.moves.append(TaskMove(_name(task), task.task_spec.bpmn_id, getattr(new, "bpmn_id", None),
                                       TaskState.get_name(task.state), list(changed.get(task.task_spec, [])),
                                       _spec_name(new) if new is not None else None))
            if new is None:
                plan.problems.append(Problem(N_("进行中的「%(name)s」在新版本中已删除"), name=_name(task)))
            elif task.state & (TaskState.READY | TaskState.WAITING):
                plan.reset.append(_name(task))
    return pairs


def plan_for(steps: Steps, conn: Any, instance: Any, target: Any) -> Plan:
    """The plan of one instance (read from its stored state, nothing locked or written)."""
    current = migration_store.definition_row(conn, instance.definition_id)
    plan = Plan(instance.id, instance.business_key, instance.status, instance.definition_id, current.version,
                target.id, target.version)
    old_spec, old_subs = steps.definitions.specs_for(conn, instance.definition_id)
    workflow = load_state(store.instance_state(conn, instance.id), old_spec, old_subs)
    spec, subprocess_specs = steps.definitions.specs_for(conn, target.id)
    _diff(workflow, plan, spec, subprocess_specs)
    return plan


def dry_run(steps: Steps, process_id: str, to_definition_id: int | None = None) -> list[Plan]:
    """A plan for every unfinished instance of ``process_id`` that runs on another version than the target."""
    session = steps.session_factory()
    conn = session.connection()
    target = _target(conn, process_id, to_definition_id)
    plans = [plan_for(steps, conn, row, target) for row in migration_store.unfinished_instances(conn, process_id, UNFINISHED)
             if row.definition_id != target.id]
    if session.in_transaction() and not (session.new or session.dirty):
        session.rollback()
    return plans


def migrate(steps: Steps, instance_id: int, to_definition_id: int, actor: str) -> Outcome:
    """Move one instance to ``to_definition_id`` in one transaction: snapshot, move, audit."""
    with steps.transaction() as session:
        conn = session.connection()
        instance = store.lock_instance(conn, instance_id)
        if instance is None:
            raise NotFound(f"流程实例#{instance_id}不存在")
        if instance.status not in UNFINISHED:
            raise Conflict(f"流程实例#{instance_id}当前状态为「{status_label(instance.status)}」，不能迁移")
        target = _target(conn, instance.process_id, to_definition_id)
        if instance.definition_id == target.id:
            raise Conflict(f"流程实例#{instance_id}已在版本 {target.version} 上")
        from_version = migration_store.definition_row(conn, instance.definition_id).version
        snapshot_id = migration_store.insert_snapshot(
            conn, instance_id=instance_id, kind="migration", definition_id=instance.definition_id,
            to_definition_id=target.id, status=instance.status, state=store.instance_state(conn, instance_id),
            taken_at=utcnow(), taken_by=actor)
        with steps.on(session, instance_id, actor, "migrate", instance=instance) as step:
            spec, subprocess_specs = steps.definitions.specs_for(conn, target.id)
            plan = Plan(instance_id, instance.business_key, instance.status, instance.definition_id,
                        from_version, target.id, target.version)
            pairs = _diff(step.workflow, plan, spec, subprocess_specs)
            if plan.problems:
                raise Conflict("；".join(plan.problems))
            try:
                _move(step.workflow, pairs, subprocess_specs)
            except WorkflowException as err:  # e.g. a timer of the new version reads data this one lacks
                task = getattr(err, "task", None)
                where = f"「{_name(task)}」({task.task_spec.bpmn_id}) " if task is not None else ""
                raise Conflict(f"迁移后{where}出错：{err}；未迁移") from err
            migration_store.set_instance_definition(conn, instance_id, target.id)
            instance.definition_id = target.id
            step.audit("instance_migrated", from_version=from_version, to_version=target.version,
                       snapshot_id=snapshot_id, reset=plan.reset)
            if instance.status != InstanceStatus.SUSPENDED:
                step.run_engine()  # a suspended instance moves, but nothing fires until it is resumed
            _refuse_new_errors(step)
        _keep_suspended(conn, instance_id, plan.status)
    return Outcome(instance_id, True, f"已从版本 {from_version} 迁移到版本 {target.version}", snapshot_id,
                   from_version, target.version)


def _refuse_new_errors(step: Any) -> None:
    """A move after which a task fails (e.g. a new timer expression reads data this instance does not have)
    is refused: the transaction is rolled back and the instance stays as it was."""
    after = step.after or snapshot.take(step.workflow)
    failed = [task for task_id, task in after.errored.items() if task_id not in step.before.errored]
    if failed:
        task = failed[0]
        raise Conflict(f"迁移后「{_name(task)}」({task.task_spec.bpmn_id}) 出错："
                       f"{step.failures.get(task.id, '未知错误')}；未迁移")


def _move(workflow: Any, pairs: list[tuple[Any, Any, Any, Any]], subprocess_specs: dict[str, Any]) -> None:
    # Subprocesses (call activities) first, then the top workflow; each resets its own open tasks.
    for owner, diff, _, new_spec in reversed(pairs):
        if diff is not None:
            migrate_workflow(diff, owner, new_spec)
    workflow.subprocess_specs = subprocess_specs


def _keep_suspended(conn: Any, instance_id: int, status: str) -> None:
    """A step ends as running or error; an instance that was suspended stays suspended."""
    if status == InstanceStatus.SUSPENDED:
        store.set_instance_status(conn, instance_id, InstanceStatus.SUSPENDED)


def migrate_many(steps: Steps, instance_ids: list[int], to_definition_id: int, actor: str) -> list[Outcome]:
    """Each instance in a transaction of its own: one that cannot move is reported, the others go on."""
    outcomes = []
    for instance_id in instance_ids:
        try:
            outcomes.append(migrate(steps, instance_id, to_definition_id, actor))
        except Exception as err:  # noqa: BLE001 - reported per instance; its transaction was rolled back
            outcomes.append(Outcome(instance_id, False, str(err) or type(err).__name__))
    return outcomes


def revert(steps: Steps, snapshot_id: int, actor: str) -> int:
    """Put an instance back exactly as a migration found it (its definition version and state); its id."""
    with steps.transaction() as session:
        conn = session.connection()
        snap = migration_store.lock_snapshot(conn, snapshot_id)
        if snap is None:
            raise NotFound(f"迁移快照#{snapshot_id}不存在")
        if snap.reverted_at is not None:
            raise Conflict(f"迁移快照#{snapshot_id}已经还原过")
        instance = store.lock_instance(conn, snap.instance_id)
        assert instance is not None  # a snapshot keeps its instance row
        if instance.definition_id != snap.to_definition_id or instance.status not in UNFINISHED:
            raise Conflict(f"流程实例#{instance.id}在这次迁移之后已有变化（版本或状态），不能还原这个快照")
        with steps.on(session, instance.id, actor, "revert", instance=instance) as step:
            spec, subprocess_specs = steps.definitions.specs_for(conn, snap.definition_id)
            restored = load_state(snap.state, spec, subprocess_specs)
            restored.script_engine = step.workflow.script_engine
            step.workflow = restored
            migration_store.set_instance_definition(conn, instance.id, snap.definition_id)
            instance.definition_id = snap.definition_id
            migration_store.mark_snapshot_reverted(conn, snapshot_id, actor, utcnow())
            step.audit("migration_reverted", snapshot_id=snapshot_id)
        _keep_suspended(conn, instance.id, snap.status)
    return int(instance.id)
