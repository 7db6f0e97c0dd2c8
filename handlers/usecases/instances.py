"""What an administrator does to running instances, one function per action (pages, API and CLI call
these; a browser editor can build on them): cancel with a reason, suspend, resume, reset to an earlier
task, and move instances to another definition version (a dry-run report first, then the chosen ones, each
in its own transaction, with a snapshot kept so each can be reverted).

Every action is one engine transaction, audited with the administrator's name; errors are the engine's
(409 with a Chinese message when the instance's state does not allow it, 404 when it does not exist).
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.migration import Outcome, Plan
from engine.models import InstanceSnapshot, ProcessDefinition, ProcessInstance

from ..bootstrap import Services
from ..labels import Labels, labels_for
from .errors import Invalid, NotFound
from .policy import ADMIN_ROLE, Actor


def _who(actor: Actor) -> str:
    """Who the audit names: the administrator's account, or the command line."""
    return actor.ref if actor.account_id is not None else (actor.name or "cli")


@dataclass
class MigrationReport:
    process_id: str
    target: ProcessDefinition
    plans: list[Plan]
    snapshots: list[InstanceSnapshot]
    versions: list[ProcessDefinition]  # every version of the process, newest first (the targets to choose)
    labels: Labels  # the process's name and the people who deployed and migrated
    instances: dict[int, ProcessInstance]  # the snapshots' instances (their contract numbers)

    @property
    def movable(self) -> list[Plan]:
        return [p for p in self.plans if p.can_move]


def cancel(services: Services, actor: Actor, instance_id: int, reason: str) -> str:
    """End an instance with a reason: its open tasks and waiting timers are cancelled. The status.

    The contract follows in the same transaction (handlers.lifecycle): the flow's unfiled contract is 已删除 and
    the home free again; a cancellation's hold on a filed contract is let go (已签约 again)."""
    actor.require(ADMIN_ROLE)
    if not (reason or "").strip():
        raise Invalid("请填写取消原因", {"reason": ["请填写取消原因"]})
    return services.engine.cancel(instance_id, _who(actor), reason).status


def suspend(services: Services, actor: Actor, instance_id: int, reason: str = "") -> None:
    """Hold an instance: timers wait, messages are kept, its tasks cannot be completed."""
    actor.require(ADMIN_ROLE)
    services.engine.suspend(instance_id, _who(actor), reason)


def resume(services: Services, actor: Actor, instance_id: int) -> str:
    """Let it go on; timers that fell due meanwhile fire now, once. The status."""
    actor.require(ADMIN_ROLE)
    return services.engine.resume(instance_id, _who(actor)).status


def reset_points(services: Services, actor: Actor, instance_id: int) -> list[dict[str, str]]:
    """The completed tasks the instance can go back to, in the order they ran."""
    actor.require(ADMIN_ROLE)
    return services.engine.reset_points(instance_id)


def reset(services: Services, actor: Actor, instance_id: int, task_id: str, reason: str = "") -> list[str]:
    """Go back to a completed task; the names of the tasks open afterwards.

    The housing rows (the contract) are not rolled back: the tasks run again and write them again."""
    actor.require(ADMIN_ROLE)
    if not (task_id or "").strip():
        raise Invalid("请选择要退回到的任务", {"task_id": ["请选择要退回到的任务"]})
    return [t["name"] for t in services.engine.reset(instance_id, task_id.strip(), _who(actor), reason).ready_tasks]


def _target(services: Services, process_id: str, to_definition_id: int | None) -> ProcessDefinition:
    versions = services.queries.definitions(process_id=process_id, newest_first=True)
    if not versions:
        raise NotFound(f"流程「{process_id}」尚未部署")
    if to_definition_id is None:
        return versions[0]
    for definition in versions:
        if definition.id == to_definition_id:
            return definition
    raise NotFound(f"流程「{process_id}」没有定义版本#{to_definition_id}")


def migration_report(services: Services, actor: Actor, process_id: str,
                     to_definition_id: int | None = None) -> MigrationReport:
    """Dry run: for every unfinished instance on another version, can it move, which waiting task goes to
    which element, what is reset. Nothing is changed."""
    actor.require(ADMIN_ROLE)
    target = _target(services, process_id, to_definition_id)
    plans = services.engine.migration_dry_run(process_id, target.id)
    snapshots = services.queries.snapshots(process_id=process_id)
    versions = services.queries.definitions(process_id=process_id, newest_first=True)
    labels = labels_for(services, [*(s.taken_by for s in snapshots), *(d.deployed_by for d in versions)])
    instances = services.queries.instances_by_id({s.instance_id for s in snapshots})
    return MigrationReport(process_id, target, plans, snapshots, versions, labels, instances)


def migrate(services: Services, actor: Actor, process_id: str, to_definition_id: int | None = None, *,
            instance_ids: list[int] | None = None, business_key_prefix: str | None = None) -> list[Outcome]:
    """Move the chosen instances (``instance_ids``; else every instance the dry run says can move, of the
    business keys starting with ``business_key_prefix`` when given), each in its own transaction."""
    actor.require(ADMIN_ROLE)
    target = _target(services, process_id, to_definition_id)
    if instance_ids is None:
        prefix = (business_key_prefix or "").strip().upper()
        plans = services.engine.migration_dry_run(process_id, target.id)
        instance_ids = [p.instance_id for p in plans
                        if p.can_move and (not prefix or (p.business_key or "").upper().startswith(prefix))]
    if not instance_ids:
        raise Invalid("没有选择要迁移的流程实例", {"instance_ids": ["请至少选择一个流程实例"]})
    return services.engine.migrate(instance_ids, target.id, _who(actor))


def revert(services: Services, actor: Actor, snapshot_id: int) -> int:
    """Put an instance back as it was before a migration; its id."""
    actor.require(ADMIN_ROLE)
    return services.engine.revert_migration(snapshot_id, _who(actor))


def snapshots(services: Services, actor: Actor, *, instance_id: int | None = None,
              process_id: str | None = None) -> list[InstanceSnapshot]:
    actor.require(ADMIN_ROLE)
    return services.queries.snapshots(instance_id=instance_id, process_id=process_id)
