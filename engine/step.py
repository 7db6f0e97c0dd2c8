"""The unit of work: one step on one instance is one transaction.

A step locks the instance row, takes its workflow from the cache or rebuilds it
from the stored state and the cached spec, lets the caller do its work (start,
complete a task, take in a message, fire a timer, retry a task), runs every
automatic task that follows, and writes back the state with its projections
(:mod:`engine.projections`) before the transaction commits.  Any exception rolls
the whole step back.  A failing *service handler* is the one exception that is
not fatal: its own writes are undone by a savepoint, the step is kept up to that
task, and an incident is opened (:mod:`engine.incidents`).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from . import budget, dates, health, history, incidents, logcontext, messages, projections, snapshot, store
from .db import utcnow, write_intent
from .definitions import Definitions
from .errors import NotFound
from .expressions import SAFE_BUILTINS
from .outbound import NO_OUTBOUND, Outbound
from .registry import Registry, json_safe
from .sandbox import BudgetedScriptEngine
from .serialization import dump_state, load_state
from .status import InstanceStatus
from .storable import unstorable
from .store import InstanceRecord
from .workflows import WorkflowCache

log = logging.getLogger(__name__)


@dataclass
class StepResult:
    instance_id: int
    status: str
    business_key: str | None
    end_event: str | None
    ready_tasks: list[dict[str, Any]]
    incidents: list[str] = field(default_factory=list)


class StepContext:
    """The :class:`engine.registry.ServiceContext` given to handlers and form hooks.

    With ``isolated``, the first use of :attr:`session` opens a savepoint, so that
    exactly the writes of this handler can be undone if it fails; a handler that
    never touches the database costs no savepoint.
    """

    def __init__(self, step: Step, task_data: dict[str, Any], *, isolated: bool = False):
        self._step = step
        self._session: Session = step.session
        self._isolated = isolated
        self.savepoint: Any = None
        self.instance: InstanceRecord = step.instance
        self.task_data = task_data
        self.actor = step.actor

    @property
    def session(self) -> Session:
        if self._isolated and self.savepoint is None:
            self.savepoint = self._session.begin_nested()
        return self._session

    def now(self) -> datetime:
        return utcnow()

    def set_business_key(self, key: str) -> None:
        self.instance.business_key = key

    def audit(self, kind: str, **details: Any) -> None:
        self._step.audit(kind, **details)

    def emit(self, kind: str, **payload: Any) -> str:
        """Write an outbound event (:mod:`engine.outbound`) in this step's transaction: it is delivered
        after commit, and never if the step rolls back; the event id."""
        return self._step.outbound.emit(self.session.connection(), kind, json_safe(payload),
                                        business_key=self.instance.business_key, instance_id=self.instance.id)

    def discard_messages(self, name: str) -> int:
        """Drop the messages ``name`` still kept for this instance's business key: what they were for has
        closed (e.g. callbacks for an order that was cancelled), so no later step may take them in."""
        key = self.instance.business_key
        if not key:
            return 0
        dropped = store.discard_kept(self._step.conn, key, name, utcnow())
        if dropped and self._step.pending is not None:
            self._step.pending[1][:] = [m for m in self._step.pending[1] if m.id not in dropped]
        if dropped:
            self._step.audit("messages_discarded", name=name, count=len(dropped))
        return len(dropped)


class StepScriptEngine(BudgetedScriptEngine):
    """Evaluates diagram Python within the step's budget (:mod:`engine.sandbox`) with a short list of
    builtins, and dispatches service tasks.

    Replaces ``PythonScriptEngine.call_service``, whose error path in 3.2 raises
    ``NameError: name 'script' is not defined`` instead of the handler's error.
    """

    def __init__(self, registry: Registry, step: Step, date_helpers: dict[str, Any] | None = None):
        # The date helpers sit with the builtins: task data of the same name shadows them.
        env_globals = {"__builtins__": {**SAFE_BUILTINS, **(date_helpers or {})}, **registry.expression_globals}
        super().__init__(env_globals)
        self.registry = registry
        self.step = step

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        before = dict(task.data)
        result = super().execute(task, script, external_context)
        problem = unstorable(task.data)
        if problem is not None:
            # Stored as JSON, the value would come back different after a reload (or not be stored at
            # all): the task fails with its data as it found it, so the rest of the step can be stored.
            task.data.clear()
            task.data.update(before)
            raise WorkflowTaskException(f"脚本产生的数据无法按原样保存：{problem}", task=task)
        return result

    def call_service(self, task: Any, operation_name: str | None = None,
                     operation_params: dict[str, Any] | None = None, **_: Any) -> str:
        handler = self.registry.services.get(operation_name or "")
        if handler is None:
            raise WorkflowTaskException(f"没有服务操作「{operation_name}」的处理程序", task=task)
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        ctx = StepContext(self.step, dict(task.data), isolated=True)
        try:
            result = handler(ctx, **params)
            if ctx.savepoint is not None:
                ctx.savepoint.commit()
        except Exception as err:
            # Undo exactly what the handler wrote; the step itself goes on to record an incident.
            if ctx.savepoint is not None:
                ctx.savepoint.rollback()
            self.step.failures[task.id] = f"{type(err).__name__}: {err}"
            raise WorkflowTaskException(str(err) or type(err).__name__, task=task, exception=err)
        return json.dumps(json_safe(result if result is not None else {}), ensure_ascii=False)


class Step:
    """State of one step while it runs; made by :meth:`Steps.on` or :meth:`Steps.begin`."""

    def __init__(self, session: Session, instance: InstanceRecord, workflow: BpmnWorkflow, actor: str,
                 kind: str, before: snapshot.Snapshot | None = None):
        self.session = session
        self.conn = session.connection()
        self.instance = instance
        self.workflow = workflow
        self.actor = actor
        self.kind = kind
        self.started = time.time()
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []
        self.failures: dict[UUID, str] = {}
        self.fired_timers: set[str] = set()
        self.completed_by: dict[str, str] = {}
        self.before = before if before is not None else snapshot.take(workflow)
        self.business_key_before = instance.business_key
        self.after: snapshot.Snapshot | None = None
        # (business key, kept messages), read once a step
        self.pending: tuple[str, list[Any]] | None = None
        self.result: StepResult | None = None
        self.orphan_error: str | None = None  # an engine error no task could be blamed for
        self.ttl = messages.DEFAULT_MESSAGE_TTL  # of the messages it throws (Steps.begin sets the engine's)
        # An administrator's operation that ends the instance (cancel) sets the status it ends with.
        self.final_status: str | None = None
        # Inbox rows a reset opened again (the task keeps its id, so its old row is reused, not inserted).
        self.reopened: set[str] = set()
        self.outbound: Outbound = NO_OUTBOUND

    def audit(self, kind: str, task_id: str | None = None, **details: Any) -> None:
        self.events.append((kind, task_id, details))

    def run_engine(self) -> None:
        """Run automatic tasks, fire due timers, take in waiting messages, until nothing moves."""
        timers_fired = self.fire_due_timers()
        if self.kind == "message" and not timers_fired:
            # The workflow is as the last step left it; take the message in before the first pass.
            self.after = self.before
            messages.take_in_one(self)
        while True:
            self.do_engine_steps()
            # One walk over the task tree per round; finishing reuses the last one.
            self.after = snapshot.take(self.workflow, since=self.started)
            if not messages.take_in_one(self):
                break

    def do_engine_steps(self) -> None:
        try:
            self.workflow.do_engine_steps()
        except WorkflowTaskException as err:
            # The failed task is left in ERROR; the step keeps everything before it.
            if err.task is not None and err.task.id not in self.failures:
                self.failures[err.task.id] = str(err)
            log.warning("instance %s: task %s failed: %s", self.instance.id,
                        getattr(err.task, "id", None), err)
        except Exception as err:  # noqa: BLE001 - a modelling error outside a task's own code
            health.record_engine_error(self, err)

    def fire_due_timers(self) -> bool:
        now = utcnow()
        timers: dict[str, tuple[Any, datetime]] = self.before.timers
        due = [task for task, due_at in timers.values() if due_at <= now and task.state == TaskState.WAITING]
        for task in due:
            # Spiff fires only strictly after the due time; our contract is "at the due time".
            # A cycle is not fired this way: that would end it; Spiff moves it to its next repetition.
            if not isinstance(task._get_internal_data("event_value"), dict):
                task._set_internal_data(event_fired=True)
            self.fired_timers.add(str(task.id))
        if due:
            self.workflow.refresh_timers()
        return bool(due)


class Steps:
    """Runs steps: the transaction, the instance lock, the workflow (cached or loaded), the write-back."""

    def __init__(self, session_factory: Callable[[], Session], registry: Registry, definitions: Definitions,
                 workflows: WorkflowCache, backoff: tuple[int, ...],
                 step_seconds: float = budget.DEFAULT_STEP_SECONDS,
                 message_ttl: timedelta = messages.DEFAULT_MESSAGE_TTL, time_zone: str = dates.DEFAULT_TIME_ZONE):
        self.session_factory = session_factory
        self.message_ttl = message_ttl
        self.registry = registry
        self.definitions = definitions
        self.workflows = workflows
        self.backoff = backoff
        self.step_seconds = step_seconds
        # The calendar of diagram date helpers (engine.dates), e.g. where a natural day ends.
        self.date_helpers = dates.helpers(time_zone)
        self.outbound: Outbound = NO_OUTBOUND  # set by the engine once it is built

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction that will write (on SQLite it takes the write lock at BEGIN)."""
        session = self.session_factory()
        if session.in_transaction():
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("engine step started with unsaved changes in the session")
            session.rollback()  # end a read-only transaction so the step starts fresh and locked
        with write_intent(), self.workflows.tracking(), budget.step_budget(self.step_seconds), logcontext.scope():
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                session.info.pop(messages.THROWN, None)
                raise
        # Messages thrown in it go to the other instances of their business key now that they are stored.
        thrown = session.info.pop(messages.THROWN, None)
        if thrown:
            messages.drain(self, thrown)

    def begin(self, session: Session, instance: InstanceRecord, workflow: BpmnWorkflow, actor: str,
              kind: str, before: snapshot.Snapshot | None = None) -> Step:
        """A step on a workflow the caller holds (a new instance)."""
        step = Step(session, instance, workflow, actor, kind, before)
        logcontext.bind(instance_id=instance.id, business_key=instance.business_key, actor=actor)
        step.ttl = self.message_ttl
        step.outbound = self.outbound
        workflow.script_engine = StepScriptEngine(self.registry, step, self.date_helpers)
        budget.restart()  # the clock starts once the instance is locked and loaded
        return step

    @contextmanager
    def on(self, session: Session, instance_id: int, actor: str, kind: str, *,
           instance: InstanceRecord | None = None) -> Iterator[Step]:
        """Run a step on a stored instance; ``instance`` when the caller already holds its lock.
        The block does the work; the step is finished (written) when it ends, into ``step.result``."""
        # The lock reads the row without its (large) state; that is read only on a cache miss.
        instance = instance if instance is not None else store.lock_instance(session.connection(), instance_id)
        if instance is None:
            raise NotFound("流程实例不存在")
        try:
            cached = self.workflows.take(instance.id, instance.version)
            if cached is not None:
                workflow, before = cached
            else:
                spec, subprocess_specs = self.definitions.specs_for(session.connection(), instance.definition_id)
                state = store.instance_state(session.connection(), instance.id)
                workflow, before = load_state(state, spec, subprocess_specs), None
            step = self.begin(session, instance, workflow, actor, kind, before)
            yield step
            step.result = self.finish(step)
        except BaseException:
            # The in-memory workflow may be half-changed; the database is the truth.
            self.workflows.drop(instance.id)
            raise

    def finish(self, step: Step) -> StepResult:
        """Write the state and the difference of its projections; the result the caller returns."""
        instance, workflow = step.instance, step.workflow
        now = utcnow()
        after = step.after or snapshot.take(workflow, since=step.started)
        projections.audit_completed_nodes(step, after)
        errored: dict[str, Any] = dict(after.errored)
        # A task nobody can run or complete, or an instance with no way forward, is an incident too.
        blocked: dict[str, tuple[Any, str]] = health.blocked_tasks(workflow, after, self.registry,
                                                                   step.orphan_error)
        for task_id, (task, reason) in blocked.items():
            step.failures.setdefault(task.id, reason)
            errored[task_id] = task
        # An instance in ERROR may hold the incident of a failed worker step, which this step resolves.
        found = (incidents.sync(step, errored, now, self.backoff)
                 if (errored or step.before.errored or instance.status == InstanceStatus.ERROR) else [])
        # SpiffWorkflow counts a task in ERROR as finished: an instance whose last task failed has
        # not ended, it waits for its incident.
        if step.final_status is not None:
            instance.status = step.final_status
            instance.completed_at = instance.completed_at or now
        elif workflow.is_completed() and not found:
            instance.status = InstanceStatus.COMPLETED
            instance.completed_at = instance.completed_at or now
            instance.end_event = projections.end_event_name(workflow)
        else:
            instance.status = InstanceStatus.ERROR if found else InstanceStatus.RUNNING
        history.prune_loops(workflow)  # finished earlier loop iterations leave the state (engine.history)
        state = dump_state(workflow)
        messages.keep_thrown(step, now)
        # Nothing below needs an answer from the database before the end: one round trip on PostgreSQL.
        with store.batch(step.conn):
            check_version = store.save_instance(step.conn, instance, state, now)
            projections.write_inbox(step, after, now, self.registry)
            projections.write_timers(step, after, now)
            projections.write_audit(step, now)
        check_version()
        self.workflows.remember(instance.id, instance.version, workflow, after, len(state))
        ready_tasks: dict[str, Any] = after.ready_user_tasks
        ready = [{"id": tid, "bpmn_id": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name,
                  "lane": t.task_spec.lane} for tid, t in ready_tasks.items()]
        return StepResult(instance.id, instance.status, instance.business_key, instance.end_event,
                          ready, found)
