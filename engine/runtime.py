"""The engine's public API, :class:`ProcessEngine`: a façade over the rooms that do the work.

Every change to an instance is one step, and one step is one transaction
(:mod:`engine.step`).  The rooms: :mod:`engine.definitions` (deploy, parsed
specs), :mod:`engine.tasks` (start, complete a task), :mod:`engine.messages`,
:mod:`engine.timers`, :mod:`engine.incidents` (retries, backoff),
:mod:`engine.assignment` (claim, release, hand over), :mod:`engine.projections`
(inbox, timer and audit rows a step writes), :mod:`engine.workflows` (the cache
of live workflows); all SQL is in :mod:`engine.store` (the step path) and
:mod:`engine.queries` (every read of the pages, the API and the CLI).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow

from . import assignment, budget, dates, incidents, messages, migration, operations, retention, store, tasks, timers
from .metrics import timed
from .definitions import Definitions, DeployResult
from .db import utcnow
from .errors import NotFound
from .incidents import DEFAULT_BACKOFF
from .outbound import Outbound, Subscriber
from .queries import ReadModel
from .registry import Registry, json_safe
from .serialization import load_state
from .specs import SpecCache, ValidationReport, read_directory, validate_sources
from .step import StepContext, StepResult, Steps
from .workflows import DEFAULT_CACHE_BYTES, WorkflowCache

__all__ = ["DEFAULT_BACKOFF", "DeployResult", "ProcessEngine", "StepContext", "StepResult"]


class ProcessEngine:
    """The engine's public API. One instance per application; safe to share between threads."""

    def __init__(self, session_factory: Callable[[], Session], registry: Registry, *,
                 backoff: Iterable[int] = DEFAULT_BACKOFF, workflow_cache_size: int = 512,
                 workflow_cache_bytes: int = DEFAULT_CACHE_BYTES, step_seconds: float = budget.DEFAULT_STEP_SECONDS,
                 message_ttl: timedelta = messages.DEFAULT_MESSAGE_TTL, time_zone: str = dates.DEFAULT_TIME_ZONE,
                 subscribers: Iterable[Subscriber] = (), retention_days: float | None = None):
        self.session_factory = session_factory
        self.registry = registry
        self.backoff = tuple(backoff)
        self.definitions = Definitions(registry)
        # A step whose instance has not changed since this process last saved it skips loading its state;
        # bounded by the estimated memory of its workflows (engine.workflows) and by count.
        self.workflows = WorkflowCache(workflow_cache_size, workflow_cache_bytes)
        # step_seconds: the wall-clock budget of one step's diagram Python (engine.budget).
        # message_ttl: how long a message no instance waits for is kept (deliver_message(ttl=…) per message).
        # time_zone: where the natural days of the diagram date helpers begin and end (engine.dates).
        self.steps = Steps(session_factory, registry, self.definitions, self.workflows, self.backoff,
                           step_seconds, message_ttl, time_zone)
        # Business events written by steps, delivered after commit to the configured subscribers.
        self.outbound = Outbound(self.steps.transaction, list(subscribers), session_factory=session_factory)
        self.steps.outbound = self.outbound
        # Finished instances older than this give up their state and detailed audit (engine.retention).
        self.retention_days = retention_days
        # Every list and lookup the outside world reads (pages, API, CLI).
        self.queries = ReadModel(session_factory)

    @property
    def specs(self) -> SpecCache:
        return self.definitions.specs

    # ------------------------------------------------------------------ definitions

    def deploy(self, sources: dict[str, str], actor: str = "system", reason: str | None = None) -> list[DeployResult]:
        """Deploy every executable process found in ``sources``; ``reason`` goes into the audit.

        A process whose bundle is unchanged gets no new version. Raises
        :class:`DefinitionError` listing every problem, and then stores nothing.
        """
        with self.steps.transaction() as session:
            conn = session.connection()
            parser = self.definitions.check(sources, self.definitions.deployed_receivers(conn))
            return self.definitions.save(conn, parser, sources, actor, reason)

    def validate(self, sources: dict[str, str]) -> ValidationReport:
        """Everything a deploy of ``sources`` checks (with the deployed processes), storing nothing.

        Works without a database too (an analyst checking files before anything is set up): then only the
        files themselves can receive the messages they send."""
        session = self.session_factory()
        try:
            received = self.definitions.deployed_receivers(session.connection())
        except DBAPIError:
            received = set()
        finally:
            session.rollback()
        return validate_sources(sources, self.registry, received)

    def deploy_directory(self, directory: str | Path, actor: str = "system") -> list[DeployResult]:
        return self.deploy(read_directory(directory), actor)

    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction outside any step, for the business rows a use case changes on its own
        (committed at the end, rolled back on error; on SQLite the write lock is taken at BEGIN)."""
        return self.steps.transaction()

    # ------------------------------------------------------------------ steps

    def start(self, process_id: str, actor: str, data: dict[str, Any] | None = None,
              business_key: str | None = None) -> StepResult:
        with timed("start"):
            return tasks.start(self.steps, process_id, actor, data, business_key)

    def complete_task(self, task_id: str, data: dict[str, Any], actor: str,
                      roles: Iterable[str] | None = None) -> StepResult:
        """Validate ``data`` against the task's form and complete it.

        ``roles``: when given, the task's lane role must be one of them (staff
        inboxes). Citizen ownership is checked by the caller before this call.
        """
        with timed("complete"):
            return tasks.complete(self.steps, task_id, data, actor, roles)

    def deliver_message(self, name: str, business_key: str, payload: dict[str, Any],
                        idempotency_key: str, correlations: dict[str, Any] | None = None, *,
                        keep: bool = True, ttl: timedelta | None = None) -> bool:
        """Record an inbound message and hand it to whichever instance waits for it.

        Returns False when the idempotency key was seen before (nothing happens).
        The message row and the steps that take it in share one transaction, each
        step inside a savepoint: a step that fails is undone alone, and the message
        is still kept for a later step or sweep (the error is raised after commit).
        A message nobody waits for yet is simply kept. ``correlations`` (property name →
        value) must match a receiver's correlation key; without them they come from the payload.
        ``keep=False`` discards the message, in the same transaction, when no instance takes it in now.
        ``ttl``: how long it is kept at most (default ``message_ttl``); then the worker expires it.
        """
        with timed("message"):
            return messages.deliver(self.steps, name, business_key, payload, idempotency_key, correlations,
                                    keep=keep, ttl=ttl)

    def expire_messages(self, limit: int = messages.EXPIRE_BATCH) -> int:
        """Expire kept messages past their time-to-live (one transaction, an audit row each); how many."""
        return messages.expire(self.steps, limit)

    def deliver_pending(self, business_key: str | None = None) -> int:
        """Offer messages that are still kept to the running instances of their business key."""
        return messages.deliver_pending(self.steps, business_key)

    def fire_due_timers(self, limit: int | None = 100) -> int:
        """Fire due timers until none is left that this worker can take, or ``limit`` were fired
        (``None``: no limit); each exactly once, one instance per transaction."""
        return timers.fire_due(self.steps, limit)

    def retry_incidents(self, limit: int = 20, *, only_due: bool = True,
                        incident_id: int | None = None, actor: str = "worker") -> int:
        """Run failed service tasks again; on success the incident is resolved."""
        return incidents.retry(self.steps, limit, only_due=only_due, incident_id=incident_id, actor=actor)

    def record_audit(self, kind: str, actor: str, *, instance_id: int | None = None, **details: Any) -> None:
        """One audit row, in a transaction of its own, for something refused before it reached any step
        (a callback with a bad signature, one for an order that no longer waits): the trail shows it."""
        with self.steps.transaction() as session:
            store.insert_audit(session.connection(), [{
                "instance_id": instance_id, "task_id": None, "kind": kind, "actor": actor, "at": utcnow(),
                "details": json_safe(details)}])

    def emit(self, session: Session, kind: str, payload: dict[str, Any], business_key: str | None = None) -> str:
        """Write an outbound event in a use case's own transaction (outside a step)."""
        return self.outbound.emit(session.connection(), kind, payload, business_key=business_key)

    def deliver_events(self, limit: int = 100) -> int:
        """Deliver due outbound events to their subscribers (each delivery by one worker)."""
        return self.outbound.deliver_due(limit)

    def retry_deliveries(self, delivery_ids: Iterable[int]) -> int:
        return self.outbound.retry(delivery_ids)

    # ------------------------------------------------------------------ inbox operations

    def claim(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, actor, actor, roles, "task_claimed")

    def release(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, None, actor, roles, "task_released")

    def hand_over(self, task_id: str, to: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, to, actor, roles, "task_handed_over")

    # ------------------------------------------------------------------ administrator operations

    def cancel(self, instance_id: int, actor: str, reason: str) -> StepResult:
        """End an unfinished instance with a reason: open tasks and waiting timers are cancelled."""
        return operations.cancel(self.steps, instance_id, actor, reason)

    def suspend(self, instance_id: int, actor: str, reason: str = "") -> None:
        """Hold an instance: no timer fires, no message is taken in, no task can be completed."""
        operations.suspend(self.steps, instance_id, actor, reason)

    def resume(self, instance_id: int, actor: str) -> StepResult:
        """Let a suspended instance go on; timers that fell due meanwhile fire now, once."""
        return operations.resume(self.steps, instance_id, actor)

    def reset(self, instance_id: int, task_id: str, actor: str, reason: str = "") -> StepResult:
        """Go back to a completed task of the instance (``BpmnWorkflow.reset_from_task_id``)."""
        return operations.reset(self.steps, instance_id, task_id, actor, reason)

    def reset_points(self, instance_id: int) -> list[dict[str, str]]:
        """The completed tasks an instance can be reset to, in the order they ran."""
        return operations.reset_points(self.load_workflow(instance_id))

    def migration_dry_run(self, process_id: str, to_definition_id: int | None = None) -> list[migration.Plan]:
        """What moving every unfinished instance of a process to a version (default: the newest) would do."""
        return migration.dry_run(self.steps, process_id, to_definition_id)

    def migrate(self, instance_ids: Iterable[int], to_definition_id: int, actor: str) -> list[migration.Outcome]:
        """Move instances to a definition version, each in its own transaction, a snapshot kept of each."""
        return migration.migrate_many(self.steps, list(instance_ids), to_definition_id, actor)

    def revert_migration(self, snapshot_id: int, actor: str) -> int:
        """Put an instance back as a migration's snapshot kept it; the instance id."""
        return migration.revert(self.steps, snapshot_id, actor)

    # ------------------------------------------------------------------ reading

    def archive_finished(self, days: float | None = None, *, batch: int = retention.DEFAULT_BATCH,
                         max_batches: int | None = None, dry_run: bool = False) -> retention.RetentionReport:
        """Archive instances finished more than ``days`` (default: ``retention_days``) ago: their state
        and detailed audit go, the row and its path stay (engine.retention); ``dry_run`` only counts."""
        days = self.retention_days if days is None else days
        if days is None:
            raise ValueError("no retention period configured (NETSIGN_RETENTION_DAYS)")
        return retention.archive_finished(self.steps.transaction, self.session_factory, days, batch=batch,
                                          max_batches=max_batches, dry_run=dry_run)

    def load_workflow(self, instance_id: int) -> BpmnWorkflow:
        """A fresh, detached copy of an instance's workflow, for reading (diagrams, tests)."""
        session = self.session_factory()
        row = store.instance_for_reading(session.connection(), instance_id)
        if row is None:
            raise NotFound("流程实例不存在")
        spec, subprocess_specs = self.definitions.specs_for(session.connection(), row.definition_id)
        if row.state == retention.ARCHIVED_STATE:
            raise NotFound("流程实例已归档：其运行状态已按保存期限清除")
        workflow = load_state(row.state, spec, subprocess_specs)
        if session.in_transaction() and not (session.new or session.dirty):
            session.rollback()
        return workflow
