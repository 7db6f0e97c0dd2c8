"""The durable runtime: every change to an instance is one step, and one step is one transaction.

A step locks the instance row, rebuilds the workflow from its stored state and
the cached spec, does its work (start, complete a task, deliver a message, fire
a timer, retry a failed service task), lets SpiffWorkflow run every automatic
task that follows, and then writes back the state together with its
projections (inbox, timers, messages, incidents, audit) before committing.
Any exception rolls the whole step back.  A failing *service handler* is the
one exception that is not fatal: its own writes are undone by a savepoint, the
step is kept up to that task, and an incident is opened for the worker to retry.
"""
from __future__ import annotations

import contextvars
import json
import logging
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable
from uuid import UUID

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.defer)
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from .db import utcnow, write_intent
from .errors import Conflict, FormInvalid, NotAllowed, NotFound
from . import budget
from .expressions import SAFE_BUILTINS
from .sandbox import BudgetedScriptEngine
from .models import AuditEvent, Incident, InboxTask, Message, ProcessDefinition, ProcessInstance, Timer
from .registry import Registry, json_safe
from . import snapshot, store
from .store import InstanceRecord
from .serialization import dump_state, load_state
from .specs import (DefinitionError, SpecCache, build_parser, bundle_for, check_decisions, check_definition,
                    content_hash, form_key_of, read_directory)

log = logging.getLogger(__name__)

# Seconds to wait before retry number n of a failing service task (then: give up).
DEFAULT_BACKOFF = (30, 120, 600, 3600, 6 * 3600)
# Instances whose workflow this transaction put in the cache: dropped again if it fails to commit.
_cached_in_transaction: contextvars.ContextVar[list | None] = contextvars.ContextVar("cached_in_tx", default=None)


@dataclass
class DeployResult:
    process_id: str
    version: int
    created: bool
    definition_id: int


@dataclass
class StepResult:
    instance_id: int
    status: str
    business_key: str | None
    end_event: str | None
    ready_tasks: list[dict]
    incidents: list[str] = field(default_factory=list)


class StepContext:
    """The :class:`engine.registry.ServiceContext` given to handlers and form hooks.

    With ``isolated``, the first use of :attr:`session` opens a savepoint, so that
    exactly the writes of this handler can be undone if it fails; a handler that
    never touches the database costs no savepoint.
    """

    def __init__(self, step: "_Step", task_data: dict, *, isolated: bool = False):
        self._step = step
        self._session: Session = step.session
        self._isolated = isolated
        self.savepoint = None
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


class _StepScriptEngine(BudgetedScriptEngine):
    """Evaluates diagram Python with a short list of builtins and dispatches service tasks.

    Replaces ``PythonScriptEngine.call_service``, whose error path in 3.2 raises
    ``NameError: name 'script' is not defined`` instead of the handler's error.
    """

    def __init__(self, registry: Registry):
        env_globals = {"__builtins__": SAFE_BUILTINS, **registry.expression_globals}
        super().__init__(env_globals)
        self.registry = registry
        self.step: _Step | None = None

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        handler = self.registry.services.get(operation_name)
        if handler is None:
            raise WorkflowTaskException(f"没有服务操作「{operation_name}」的处理程序", task=task)
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        step = self.step
        ctx = StepContext(step, dict(task.data), isolated=True)
        try:
            result = handler(ctx, **params)
            if ctx.savepoint is not None:
                ctx.savepoint.commit()
        except Exception as err:
            # Undo exactly what the handler wrote; the step itself goes on to record an incident.
            if ctx.savepoint is not None:
                ctx.savepoint.rollback()
            step.failures[task.id] = f"{type(err).__name__}: {err}"
            raise WorkflowTaskException(str(err) or type(err).__name__, task=task, exception=err)
        return json.dumps(json_safe(result if result is not None else {}), ensure_ascii=False)


class _Step:
    """State of one step while it runs; see :meth:`ProcessEngine._step`."""

    def __init__(self, engine: "ProcessEngine", session: Session, instance: InstanceRecord,
                 workflow: BpmnWorkflow, actor: str, kind: str, before=None):
        self.engine = engine
        self.session = session
        self.conn = session.connection()
        self.instance = instance
        self.workflow = workflow
        self.actor = actor
        self.kind = kind
        self.started = time.time()
        self.events: list[tuple[str, str | None, dict]] = []
        self.failures: dict[UUID, str] = {}
        self.fired_timers: set[str] = set()
        self.completed_by: dict[str, str] = {}
        self.before = before if before is not None else snapshot.take(workflow)
        self.business_key_before = instance.business_key
        self.after: snapshot.Snapshot | None = None
        self.pending: tuple[str, list] | None = None  # (business key, kept messages), read once a step

    def audit(self, kind: str, task_id: str | None = None, **details: Any) -> None:
        self.events.append((kind, task_id, details))

    def run_engine(self) -> None:
        """Run automatic tasks, fire due timers, take in waiting messages, until nothing moves."""
        timers_fired = self.fire_due_timers()
        if self.kind == "message" and not timers_fired:
            # The workflow is as the last step left it; take the message in before the first pass.
            self.after = self.before
            self.engine._deliver_pending_messages(self)
        while True:
            self._do_engine_steps()
            # One walk over the task tree per round; _finish reuses the last one.
            self.after = snapshot.take(self.workflow, since=self.started)
            if not self.engine._deliver_pending_messages(self):
                break

    def _do_engine_steps(self) -> None:
        try:
            self.workflow.do_engine_steps()
        except WorkflowTaskException as err:
            # The failed task is left in ERROR; the step keeps everything before it.
            if err.task is not None and err.task.id not in self.failures:
                self.failures[err.task.id] = str(err)
            log.warning("instance %s: task %s failed: %s", self.instance.id,
                        getattr(err.task, "id", None), err)

    def fire_due_timers(self) -> bool:
        now = utcnow()
        due = [task for task, due_at in self.before.timers.values()
               if due_at <= now and task.state == TaskState.WAITING]
        for task in due:
            # Spiff fires only strictly after the due time; our contract is "at the due time".
            task._set_internal_data(event_fired=True)
            self.fired_timers.add(str(task.id))
        if due:
            self.workflow.refresh_timers()
        return bool(due)


class ProcessEngine:
    """The engine's public API. One instance per application; safe to share between threads."""

    def __init__(self, session_factory: Callable[[], Session], registry: Registry, *,
                 backoff: Iterable[int] = DEFAULT_BACKOFF, workflow_cache_size: int = 512,
                 step_seconds: float = budget.DEFAULT_STEP_SECONDS):
        self.step_seconds = step_seconds  # wall-clock budget of one step's diagram Python
        self.session_factory = session_factory
        self.registry = registry
        self.backoff = tuple(backoff)
        self.specs = SpecCache()
        # instance id → (row version, workflow): a step whose instance has not changed
        # since this process last saved it skips deserialization entirely.
        self._workflows: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._workflow_cache_size = workflow_cache_size
        self._definition_keys: dict[int, tuple[str, str]] = {}

    # ------------------------------------------------------------------ definitions

    def deploy(self, sources: dict[str, str], actor: str = "system") -> list[DeployResult]:
        """Deploy every executable process found in ``sources``.

        A process whose bundle is unchanged gets no new version. Raises
        :class:`DefinitionError` listing every problem, and then stores nothing.
        """
        parser = build_parser(sources)
        process_ids = parser.get_process_ids()
        problems = [p for pid in process_ids for p in check_definition(parser, pid, self.registry)]
        problems += check_decisions(sources, self.registry)
        if problems:
            raise DefinitionError(sorted(set(problems)))
        results = []
        with self._transaction() as session:
            for process_id in process_ids:
                bundle = bundle_for(parser, sources, process_id)
                digest = content_hash(bundle)
                latest = store.latest_definition(session.connection(), process_id)
                if latest is not None and latest.content_hash == digest:
                    results.append(DeployResult(process_id, latest.version, False, latest.id))
                    continue
                spec = parser.get_spec(process_id)
                definition = ProcessDefinition(
                    process_id=process_id, name=spec.description or process_id,
                    version=(latest.version + 1) if latest else 1, content_hash=digest,
                    sources=bundle, deployed_by=actor, deployed_at=utcnow())
                session.add(definition)
                session.flush()
                session.add(AuditEvent(kind="definition_deployed", actor=actor, at=utcnow(), details={
                    "process_id": process_id, "version": definition.version, "hash": digest}))
                results.append(DeployResult(process_id, definition.version, True, definition.id))
        return results

    def deploy_directory(self, directory, actor: str = "system") -> list[DeployResult]:
        return self.deploy(read_directory(directory), actor)

    def _specs_of(self, definition: ProcessDefinition):
        return self.specs.get(definition.content_hash, definition.process_id, definition.sources)

    def _specs_for(self, session: Session, definition_id: int):
        """Parsed specs of a definition version, reading its (large) row only on a cache miss."""
        key = self._definition_keys.get(definition_id)
        if key is not None:
            found = self.specs.peek(*key)
            if found is not None:
                return found
        definition = session.get(ProcessDefinition, definition_id)
        self._definition_keys[definition.id] = (definition.content_hash, definition.process_id)
        return self._specs_of(definition)

    # ------------------------------------------------------------------ steps

    def start(self, process_id: str, actor: str, data: dict | None = None,
              business_key: str | None = None) -> StepResult:
        with self._transaction() as session:
            definition = store.latest_definition(session.connection(), process_id)
            if definition is None:
                raise NotFound(f"流程「{process_id}」尚未部署")
            self._definition_keys[definition.id] = (definition.content_hash, process_id)
            spec, subprocess_specs = self._specs_for(session, definition.id)
            workflow = BpmnWorkflow(spec, subprocess_specs)
            now = utcnow()
            instance = InstanceRecord(
                id=0, definition_id=definition.id, process_id=process_id, business_key=business_key,
                status="running", end_event=None, started_by=actor, version=1, completed_at=None)
            # Inserted now (handlers need its id), with its real state written at the end of the step.
            instance.id = store.insert_instance(
                session.connection(), definition_id=definition.id, process_id=process_id,
                business_key=business_key, status="running", state="", started_by=actor,
                created_at=now, updated_at=now, version=1)
            step = _Step(self, session, instance, workflow, actor, "start", snapshot.Snapshot())
            self._attach(step)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data or {})
            step.audit("instance_started", process_id=process_id, version=definition.version)
            step.run_engine()
            return self._finish(step)

    def complete_task(self, task_id: str, data: dict, actor: str,
                      roles: Iterable[str] | None = None) -> StepResult:
        """Validate ``data`` against the task's form and complete it.

        ``roles``: when given, the task's lane role must be one of them (staff
        inboxes). Citizen ownership is checked by the caller before this call.
        """
        with self._transaction() as session:
            row, locked = store.lock_task(session.connection(), str(task_id))
            if row is None:
                raise NotFound("任务不存在")
            with self._step(session, row.instance_id, actor, "complete_task", instance=locked) as step:
                # A deadline that passed before this step wins over the person's late click.
                if step.fire_due_timers():
                    step._do_engine_steps()
                # The workflow, loaded under the instance lock, decides whether the task is still open.
                if roles is not None and row.role not in set(roles):
                    raise NotAllowed(f"您没有办理「{row.name}」的权限")
                if row.assignee and row.assignee != actor:
                    raise NotAllowed(f"任务「{row.name}」已由其他人员认领")
                task = step.workflow.get_task_from_id(UUID(row.id))
                if task is None or task.state != TaskState.READY:
                    raise Conflict(f"任务「{row.name}」已处理或已取消，请刷新页面")
                self._check_four_eyes(step.conn, task.task_spec, row, actor)
                binding = self.registry.forms[row.form_key]
                try:
                    validated = binding.schema().load(data or {})
                    if binding.on_submit is not None:
                        # A hook may refuse too (it sees the case, the schema does not).
                        updates = binding.on_submit(StepContext(step, dict(task.data)), validated) or {}
                    else:
                        updates = validated
                except ValidationError as err:
                    raise FormInvalid(err.messages) from err
                task.data.update(json_safe(updates))
                task.run()
                step.completed_by[row.id] = actor
                step.audit("task_completed", task_id=row.id, bpmn_id=row.bpmn_id, name=row.name)
                step.run_engine()
            return step.result

    def deliver_message(self, name: str, business_key: str, payload: dict,
                        idempotency_key: str) -> bool:
        """Record an inbound message and hand it to whichever instance waits for it.

        Returns False when the idempotency key was seen before (nothing happens).
        The message row and the steps that take it in share one transaction, each
        step inside a savepoint: a step that fails is undone alone, and the message
        is still kept for a later step or sweep (the error is raised after commit).
        A message nobody waits for yet is simply kept.
        """
        failure = None
        with self._transaction() as session:
            conn = session.connection()
            if not store.insert_message(conn, name=name, business_key=business_key, payload=payload,
                                        idempotency_key=idempotency_key, received_at=utcnow()):
                return False  # seen before (or by a concurrent delivery of the same callback)
            for instance_id in store.running_instances(conn, business_key):
                savepoint = session.begin_nested()
                try:
                    self._take_in_messages(session, instance_id)
                    savepoint.commit()
                except Exception as err:
                    savepoint.rollback()
                    log.exception("instance %s: message %s not taken in", instance_id, name)
                    failure = failure or err
        if failure is not None:
            raise failure
        return True

    def deliver_pending(self, business_key: str | None = None) -> int:
        """Offer messages that are still kept to the running instances of their business key."""
        with self._transaction() as session:
            instance_ids = self._instances_awaiting(session, business_key)
        return self._offer_messages(instance_ids)

    @staticmethod
    def _instances_awaiting(session: Session, business_key: str | None):
        """Running instances that have kept messages (of ``business_key``, or of any key)."""
        query = sa.select(ProcessInstance.id).where(ProcessInstance.status != "completed").where(
            sa.exists().where(Message.business_key == ProcessInstance.business_key,
                              Message.consumed_at.is_(None)))
        if business_key is not None:
            query = query.where(ProcessInstance.business_key == business_key)
        return list(session.scalars(query.order_by(ProcessInstance.id)))

    def _offer_messages(self, instance_ids) -> int:
        for instance_id in instance_ids:
            with self._transaction() as session:
                self._take_in_messages(session, instance_id)
        return len(instance_ids)

    def _take_in_messages(self, session: Session, instance_id: int) -> None:
        """The step that hands an instance the kept messages it waits for."""
        with self._step(session, instance_id, "message", "message") as step:
            step.run_engine()

    def fire_due_timers(self, limit: int = 100) -> int:
        """Fire every due timer, each exactly once, one instance per transaction."""
        fired = 0
        with self._transaction() as session:
            candidates = session.execute(
                sa.select(Timer.id, Timer.instance_id)
                .where(Timer.state == "waiting", Timer.due_at <= utcnow())
                .order_by(Timer.due_at).limit(limit)).all()
        for timer_id, instance_id in candidates:
            with self._transaction() as session:
                locked = store.lock_instance(session.connection(), instance_id, skip_locked=True)
                if locked is None:
                    continue  # another worker is on this instance; it will fire the timer
                timer = session.get(Timer, timer_id, populate_existing=True)
                if timer.state != "waiting":
                    continue
                with self._step(session, instance_id, "worker", "timer", instance=locked) as step:
                    step.audit("timer_due", task_id=timer.task_id, bpmn_id=timer.bpmn_id, name=timer.name,
                               due_at=timer.due_at.isoformat())
                    step.run_engine()
                fired += 1
        return fired

    def retry_incidents(self, limit: int = 20, *, only_due: bool = True,
                        incident_id: int | None = None, actor: str = "worker") -> int:
        """Run failed service tasks again; on success the incident is resolved."""
        with self._transaction() as session:
            query = sa.select(Incident.id, Incident.instance_id).where(Incident.status == "open")
            if incident_id is not None:
                query = sa.select(Incident.id, Incident.instance_id).where(
                    Incident.id == incident_id, Incident.status.in_(("open", "failed")))
            elif only_due:
                query = query.where(Incident.next_retry_at <= utcnow())
            candidates = session.execute(query.order_by(Incident.id).limit(limit)).all()
        retried = 0
        for inc_id, instance_id in candidates:
            with self._transaction() as session:
                locked = store.lock_instance(session.connection(), instance_id, skip_locked=True)
                if locked is None:
                    continue
                incident = session.get(Incident, inc_id, populate_existing=True)
                if incident.status not in ("open", "failed"):
                    continue
                with self._step(session, instance_id, actor, "retry", instance=locked) as step:
                    task = step.workflow.get_task_from_id(UUID(incident.task_id))
                    if task is not None and task.state == TaskState.ERROR:
                        task._set_state(TaskState.READY)
                    step.audit("incident_retried", task_id=incident.task_id, incident=incident.id,
                               attempt=incident.attempts + 1)
                    step.run_engine()
                retried += 1
        return retried

    # ------------------------------------------------------------------ inbox operations

    def claim(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        self._assign(task_id, actor, actor, roles, "task_claimed")

    def release(self, task_id: str, actor: str, roles: Iterable[str]) -> None:
        self._assign(task_id, None, actor, roles, "task_released")

    def hand_over(self, task_id: str, to: str, actor: str, roles: Iterable[str]) -> None:
        self._assign(task_id, to, actor, roles, "task_handed_over")

    @staticmethod
    def _check_four_eyes(conn, task_spec, row, actor: str) -> None:
        """``spiffworkflow:property name="notCompletedBy" value="<bpmn id>"``: a different person must act.

        The diagram names the earlier task (e.g. the window's acceptance); whoever
        completed it in this instance may not complete this one.
        """
        props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
        earlier = props.get("notCompletedBy")
        if not earlier:
            return
        if store.completed_by_actor(conn, row.instance_id, earlier.split(","), actor):
            raise NotAllowed(f"四眼原则：您办理过本业务的前一环节，不能再办理「{row.name}」，请由其他人员办理")

    def _assign(self, task_id, assignee, actor, roles, kind) -> None:
        with self._transaction() as session:
            row = session.get(InboxTask, str(task_id), with_for_update=True)
            if row is None or row.state != "READY":
                raise NotFound("任务不存在或已处理")
            if row.role not in set(roles):
                raise NotAllowed(f"您没有办理「{row.name}」的权限")
            if kind == "task_claimed" and row.assignee not in (None, actor):
                raise Conflict(f"任务「{row.name}」已由其他人员认领")
            if kind != "task_claimed" and row.assignee not in (None, actor):
                raise NotAllowed("只能释放或转交自己认领的任务")
            row.assignee = assignee
            session.add(AuditEvent(instance_id=row.instance_id, task_id=row.id, kind=kind,
                                   actor=actor, at=utcnow(), details={"assignee": assignee}))

    # ------------------------------------------------------------------ reading

    def load_workflow(self, instance_id: int) -> BpmnWorkflow:
        """A fresh, detached copy of an instance's workflow, for reading (diagrams, tests)."""
        session = self.session_factory()
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound("流程实例不存在")
        spec, subprocess_specs = self._specs_for(session, instance.definition_id)
        workflow = load_state(instance.state, spec, subprocess_specs)
        if session.in_transaction() and not (session.new or session.dirty):
            session.rollback()
        return workflow

    # ------------------------------------------------------------------ machinery

    @contextmanager
    def _transaction(self):
        session = self.session_factory()
        if session.in_transaction():
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("engine step started with unsaved changes in the session")
            session.rollback()  # end a read-only transaction so the step starts fresh and locked
        cached = []
        token = _cached_in_transaction.set(cached)
        with write_intent(), budget.step_budget(self.step_seconds):
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                # The database is the truth: a workflow whose step did not commit must be read again
                # (its row version alone would not tell, if another writer reached the same version).
                for instance_id in cached:
                    self._workflows.pop(instance_id, None)
                raise
            finally:
                _cached_in_transaction.reset(token)

    @contextmanager
    def _step(self, session: Session, instance_id: int, actor: str, kind: str, *,
              instance: InstanceRecord | None = None):
        """Run a step on an instance; ``instance`` when the caller already holds its lock."""
        # The lock reads the row without its (large) state; that is read only on a cache miss.
        instance = instance if instance is not None else store.lock_instance(session.connection(), instance_id)
        if instance is None:
            raise NotFound("流程实例不存在")
        cached = self._workflows.pop(instance.id, None)
        try:
            if cached is not None and cached[0] == instance.version:
                workflow, before = cached[1], cached[2]
            else:
                spec, subprocess_specs = self._specs_for(session, instance.definition_id)
                state = store.instance_state(session.connection(), instance.id)
                workflow, before = load_state(state, spec, subprocess_specs), None
            step = _Step(self, session, instance, workflow, actor, kind, before)
            self._attach(step)
            yield step
            step.result = self._finish(step)
        except BaseException:
            # The in-memory workflow may be half-changed; the database is the truth.
            self._workflows.pop(instance.id, None)
            raise

    def _attach(self, step: _Step) -> None:
        script_engine = _StepScriptEngine(self.registry)
        script_engine.step = step
        budget.restart()  # the clock starts once the instance is locked and loaded
        step.workflow.script_engine = script_engine

    def _deliver_pending_messages(self, step: _Step) -> bool:
        """Deliver the oldest pending message the workflow now waits for; True if one was."""
        key = step.instance.business_key
        if not key or not step.after.waits_for_message:
            return False
        if step.pending is None or step.pending[0] != key:
            step.pending = (key, list(store.pending_messages(step.conn, key)))
        waiting = step.pending[1]
        for message in waiting:
            if message.name in step.after.message_names:
                waiting.remove(message)
                step.workflow.send_event(BpmnEvent(MessageEventDefinition(message.name), payload=message.payload))
                store.consume_message(step.conn, message.id, step.instance.id, utcnow())
                step.audit("message_received", name=message.name, message_id=message.id)
                return True
        return False

    def _finish(self, step: _Step) -> StepResult:
        instance, workflow = step.instance, step.workflow
        now = utcnow()
        after = step.after or snapshot.take(workflow, since=step.started)
        if after.completed_since:
            # One row for every flow node the step got past, in order (they share the step's time).
            step.audit("nodes_completed", nodes=[
                {"bpmn_id": task.task_spec.bpmn_id, "name": task.task_spec.bpmn_name}
                for task in after.completed_since])
        incidents = self._sync_incidents(step, after, now) if (after.errored or step.before.errored) else []
        if workflow.is_completed():
            instance.status = "completed"
            instance.completed_at = instance.completed_at or now
            instance.end_event = self._end_event_name(workflow)
        else:
            instance.status = "error" if incidents else "running"
        state = dump_state(workflow)
        # Nothing below needs an answer from the database before the end: one round trip on PostgreSQL.
        with store.batch(step.conn):
            check_version = store.save_instance(step.conn, instance, state, now)
            self._sync_inbox(step, after, now)
            self._sync_timers(step, after, now)
            if step.events:
                store.insert_audit(step.conn, [
                    {"instance_id": instance.id, "task_id": task_id, "kind": kind, "actor": step.actor,
                     "at": now, "details": json_safe(details)} for kind, task_id, details in step.events])
        check_version()
        self._remember(instance.id, instance.version, workflow, after)
        ready = [{"id": tid, "bpmn_id": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name,
                  "lane": t.task_spec.lane} for tid, t in after.ready_user_tasks.items()]
        return StepResult(instance.id, instance.status, instance.business_key, instance.end_event,
                          ready, incidents)

    def _remember(self, instance_id: int, version: int, workflow: BpmnWorkflow, snap) -> None:
        # Popped again by ``_step`` or ``_transaction`` if the step or its commit fails.
        cached = _cached_in_transaction.get()
        if cached is not None:
            cached.append(instance_id)
        self._workflows[instance_id] = (version, workflow, snap)
        self._workflows.move_to_end(instance_id)
        while len(self._workflows) > self._workflow_cache_size:
            self._workflows.popitem(last=False)

    @staticmethod
    def _end_event_name(workflow: BpmnWorkflow) -> str | None:
        for task in workflow.get_tasks(state=TaskState.COMPLETED):
            spec = task.task_spec
            if type(spec).__name__ == "EndEvent" and task.workflow is workflow:
                return spec.bpmn_name or spec.bpmn_id
        return None

    def _sync_inbox(self, step: _Step, after, now: datetime) -> None:
        """Write the difference between the READY user tasks before and after the step."""
        instance, workflow = step.instance, step.workflow
        before = step.before.ready_user_tasks
        closed = []
        for task_id in before.keys() - after.ready_user_tasks.keys():
            task = workflow.get_task_from_id(UUID(task_id))
            completed = task is not None and task.state == TaskState.COMPLETED
            if completed:
                closed.append({"b_id": task_id, "state": "COMPLETED", "completed_at": now,
                               "completed_by": step.completed_by.get(task_id, step.actor)})
            else:
                closed.append({"b_id": task_id, "state": "CANCELLED", "completed_at": now,
                               "completed_by": step.actor})
                step.audit("task_cancelled", task_id=task_id, bpmn_id=task.task_spec.bpmn_id if task else None)
        if closed:
            store.close_inbox(step.conn, closed)
        if instance.business_key != step.business_key_before:
            store.rekey_inbox(step.conn, instance.id, instance.business_key)
        new_rows = []
        for task_id in after.ready_user_tasks.keys() - before.keys():
            spec = after.ready_user_tasks[task_id].task_spec
            new_rows.append({
                "id": task_id, "instance_id": instance.id, "process_id": instance.process_id,
                "business_key": instance.business_key, "bpmn_id": spec.bpmn_id,
                "name": spec.bpmn_name or spec.bpmn_id, "lane": spec.lane,
                "role": self.registry.role_for_lane(spec.lane), "form_key": form_key_of(spec),
                "state": "READY", "created_at": now})
        if new_rows:
            store.insert_inbox(step.conn, new_rows)

    def _sync_timers(self, step: _Step, after, now: datetime) -> None:
        instance = step.instance
        before = step.before.timers
        closed = []
        for task_id in before.keys() - after.timers.keys():
            fired = task_id in step.fired_timers
            closed.append({"b_task_id": task_id, "state": "fired" if fired else "cancelled",
                           "fired_at": now if fired else None})
            if fired:
                task = before[task_id][0]
                step.audit("timer_fired", task_id=task_id, bpmn_id=task.task_spec.bpmn_id,
                           name=task.task_spec.bpmn_name)
        new_rows = [{"instance_id": instance.id, "task_id": task_id, "bpmn_id": task.task_spec.bpmn_id,
                     "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "due_at": due,
                     "state": "waiting"}
                    for task_id, (task, due) in after.timers.items() if task_id not in before]
        if closed:
            store.close_timers(step.conn, closed)
        if new_rows:
            store.insert_timers(step.conn, new_rows)

    def _sync_incidents(self, step: _Step, after, now: datetime) -> list[str]:
        session, instance = step.session, step.instance
        errored = after.errored
        open_incidents = session.scalars(sa.select(Incident).where(
            Incident.instance_id == instance.id, Incident.status.in_(("open", "failed")))).all()
        messages = []
        for incident in open_incidents:
            if incident.task_id not in errored:
                incident.status = "resolved"
                incident.resolved_at = now
                step.audit("incident_resolved", task_id=incident.task_id, incident=incident.id)
        by_task = {i.task_id: i for i in open_incidents}
        for task_id, task in errored.items():
            error = step.failures.get(task.id)
            incident = by_task.get(task_id)
            if incident is None:
                incident = Incident(instance_id=instance.id, task_id=task_id, bpmn_id=task.task_spec.bpmn_id,
                                    task_name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                                    error=error or "未知错误", attempts=1, status="open", created_at=now)
                session.add(incident)
                step.audit("incident_opened", task_id=task_id, error=incident.error)
            elif error is not None:
                incident.attempts += 1
                incident.error = error
            if error is not None or incident.next_retry_at is None:
                if incident.attempts <= len(self.backoff):
                    incident.status = "open"
                    incident.next_retry_at = now + timedelta(seconds=self.backoff[incident.attempts - 1])
                else:
                    incident.status = "failed"
                    incident.next_retry_at = None
            messages.append(f"{incident.task_name}: {incident.error}")
        return messages
