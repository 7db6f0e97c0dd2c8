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
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow

from . import assignment, budget, incidents, messages, retention, store, tasks, timers
from .definitions import Definitions, DeployResult
from .errors import NotFound
from .incidents import DEFAULT_BACKOFF
from .queries import ReadModel
from .registry import Registry
from .serialization import load_state
from .specs import SpecCache, read_directory
from .step import StepContext, StepResult, Steps
from .workflows import DEFAULT_CACHE_BYTES, WorkflowCache

__all__ = ["DEFAULT_BACKOFF", "DeployResult", "ProcessEngine", "StepContext", "StepResult"]


class ProcessEngine:
    """The engine's public API. One instance per application; safe to share between threads."""

    def __init__(self, session_factory: Callable[[], Session], registry: Registry, *,
                 backoff: Iterable[int] = DEFAULT_BACKOFF, workflow_cache_size: int = 512,
                 workflow_cache_bytes: int = DEFAULT_CACHE_BYTES, step_seconds: float = budget.DEFAULT_STEP_SECONDS,
                 retention_days: float | None = None):
        self.session_factory = session_factory
        self.registry = registry
        self.backoff = tuple(backoff)
        self.definitions = Definitions(registry)
        # A step whose instance has not changed since this process last saved it skips loading its state;
        # bounded by the estimated memory of its workflows (engine.workflows) and by count.
        self.workflows = WorkflowCache(workflow_cache_size, workflow_cache_bytes)
        # step_seconds: the wall-clock budget of one step's diagram Python (engine.budget).
        self.steps = Steps(session_factory, registry, self.definitions, self.workflows, self.backoff,
                           step_seconds)
        # Finished instances older than this give up their state and detailed audit (engine.retention).
        self.retention_days = retention_days
        # Every list and lookup the outside world reads (pages, API, CLI).
        self.queries = ReadModel(session_factory)

    @property
    def specs(self) -> SpecCache:
        return self.definitions.specs

    # ------------------------------------------------------------------ definitions

    def deploy(self, sources: dict[str, str], actor: str = "system") -> list[DeployResult]:
        """Deploy every executable process found in ``sources``.

        A process whose bundle is unchanged gets no new version. Raises
        :class:`DefinitionError` listing every problem, and then stores nothing.
        """
        parser = self.definitions.check(sources)
        with self.steps.transaction() as session:
            return self.definitions.save(session.connection(), parser, sources, actor)

    def deploy_directory(self, directory: str | Path, actor: str = "system") -> list[DeployResult]:
        return self.deploy(read_directory(directory), actor)

    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction outside any step, for the business rows a use case changes on its own
        (committed at the end, rolled back on error; on SQLite the write lock is taken at BEGIN)."""
        return self.steps.transaction()

    # ------------------------------------------------------------------ steps

    def start(self, process_id: str, actor: str, data: dict[str, Any] | None = None,
              business_key: str | None = None) -> StepResult:
        return tasks.start(self.steps, process_id, actor, data, business_key)

    def complete_task(self, task_id: str, data: dict[str, Any], actor: str,
                      roles: Iterable[str] | None = None) -> StepResult:
        """Validate ``data`` against the task's form and complete it.

        ``roles``: when given, the task's lane role must be one of them (staff
        inboxes). Citizen ownership is checked by the caller before this call.
        """
        return tasks.complete(self.steps, task_id, data, actor, roles)

    def deliver_message(self, name: str, business_key: str, payload: dict[str, Any],
                        idempotency_key: str, correlations: dict[str, Any] | None = None, *,
                        keep: bool = True) -> bool:
        """Record an inbound message and hand it to whichever instance waits for it.

        Returns False when the idempotency key was seen before (nothing happens).
        The message row and the steps that take it in share one transaction, each
        step inside a savepoint: a step that fails is undone alone, and the message
        is still kept for a later step or sweep (the error is raised after commit).
        A message nobody waits for yet is simply kept. ``correlations`` (property name →
        value) must match a receiver's correlation key; without them they come from the payload.
        ``keep=False`` discards the message, in the same transaction, when no instance takes it in now.
        """
        return messages.deliver(self.steps, name, business_key, payload, idempotency_key, correlations, keep=keep)

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

    # ------------------------------------------------------------------ inbox operations

    def claim(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, actor, actor, roles, "task_claimed")

    def release(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, None, actor, roles, "task_released")

    def hand_over(self, task_id: str, to: str, actor: str, roles: Iterable[str]) -> None:
        assignment.assign(self.steps, task_id, to, actor, roles, "task_handed_over")

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
