"""The contract invariants (spec/architecture.md "Invariants"), each read straight from the database and the
stored workflows, and the per-example reset the state machine in test_invariants.py needs.

Every check returns a list of problems in words (empty when the invariant holds), so a failing example says
which contract, order or task broke it.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.models import InboxTask, Message, ProcessInstance, Timer
from engine.snapshot import timer_due
from engine.status import UNFINISHED, InboxState, InstanceStatus, TimerState
from handlers.models import (DELETED, DRAFT, FILED, LIVE_STATUSES, ORDER_SIGNED, ORDER_WAITING, PARTY_SIGNED,
                             SUBMITTED, Contract, ESignOrder)

# The tables one example writes; the deployed definitions, the accounts and the sandbox registry are kept, so an
# example costs a few DELETEs instead of a deploy and a seed.
FLOW_TABLES = ("esign_signature", "esign_order", "upload", "contract_party", "contract", "contract_sequence",
               "audit_event", "incident", "message", "timer", "inbox_task", "process_instance")
AUTO_DELETION = "系统自动删除"  # the words of the deletion reason the deadline timer writes (online_signing.bpmn)


def reset_flow_tables(sa_engine: sa.Engine) -> None:
    with sa_engine.begin() as conn:
        for table in FLOW_TABLES:
            conn.exec_driver_sql(f'DELETE FROM "{table}"')


def one_live_contract_per_home(session) -> list[str]:
    live = Counter(session.scalars(sa.select(Contract.property_id).where(Contract.status.in_(LIVE_STATUSES))))
    return [f"home {home} has {n} live contracts" for home, n in live.items() if n > 1]


def filed_contracts_carry_their_final_order(session) -> list[str]:
    """A filed online contract: its last 签约 order is fully signed, by exactly its active parties."""
    problems = []
    for contract in session.scalars(sa.select(Contract).where(Contract.status == FILED, Contract.channel == "线上")):
        final = session.scalars(sa.select(ESignOrder).where(ESignOrder.contract_id == contract.id,
                                                            ESignOrder.purpose == "签约")
                                .order_by(ESignOrder.id.desc())).first()
        if final is None or final.status != ORDER_SIGNED:
            problems.append(f"{contract.contract_no} filed, final order {final and final.order_no} "
                            f"is {final and final.status!r}")
            continue
        active = {p.id for p in contract.active_parties}
        signers = {s.party_id for s in final.signatures}
        unsigned = [s.party_id for s in final.signatures if s.status != PARTY_SIGNED]
        if signers != active or unsigned:
            problems.append(f"{contract.contract_no} filed: order {final.order_no} signatures {sorted(signers)}, "
                            f"active parties {sorted(active)}, unsigned {unsigned}")
    return problems


def signatures_come_from_their_own_token(session, delivered: set[tuple[str, int]]) -> list[str]:
    """A 签名成功 on (order, party) needs a callback that named that order and that party, with its token."""
    problems = []
    for order in session.scalars(sa.select(ESignOrder)):
        for signature in order.signatures:
            if signature.status == PARTY_SIGNED and (order.order_no, signature.party_id) not in delivered:
                problems.append(f"party {signature.party_id} shown 签名成功 on order {order.order_no} "
                                f"({order.status}) without ever signing it")
    return problems


def deadline_kept(session, now: datetime, swept_at: datetime | None) -> list[str]:
    """Nothing deleted before its deadline; an unfiled contract has its deletion timer, due at the deadline the
    pages show; nothing unfiled is still live once the worker swept at or after the deadline."""
    problems = []
    for contract in session.scalars(sa.select(Contract)):
        deadline = contract.deletion_deadline
        if contract.status == DELETED and AUTO_DELETION in (contract.deletion_reason or "") \
                and contract.deleted_at < deadline:
            problems.append(f"{contract.contract_no} deleted at {contract.deleted_at}, before {deadline}")
        if contract.status not in (DRAFT, SUBMITTED):
            continue
        if swept_at is not None and deadline <= swept_at:
            problems.append(f"{contract.contract_no} still {contract.status} after the sweep at {swept_at} "
                            f"(deadline {deadline})")
        dues = set(session.scalars(sa.select(Timer.due_at).where(Timer.instance_id == contract.instance_id,
                                                                 Timer.state == TimerState.WAITING)))
        if deadline not in dues:
            problems.append(f"{contract.contract_no} {contract.status}: no waiting timer due at its deadline "
                            f"{deadline} (waiting: {sorted(dues)})")
    return problems


def _instances(session) -> list[ProcessInstance]:
    return list(session.scalars(sa.select(ProcessInstance).order_by(ProcessInstance.id)))


def inbox_is_the_ready_user_tasks(session, engine) -> list[str]:
    problems = []
    for instance in _instances(session):
        rows = set(session.scalars(sa.select(InboxTask.id).where(InboxTask.instance_id == instance.id,
                                                                 InboxTask.state == InboxState.READY)))
        ready: set[str] = set()
        if instance.status != InstanceStatus.COMPLETED:
            workflow = engine.load_workflow(instance.id)
            ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        if rows != ready:
            problems.append(f"instance {instance.id} ({instance.process_id}, {instance.status}): inbox {sorted(rows)}"
                            f" but READY user tasks {sorted(ready)}")
    return problems


def _waiting_timer_tasks(workflow) -> dict[str, datetime]:
    found = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        definitions = getattr(definition, "event_definitions", None) or [definition]
        if any(isinstance(d, TimerEventDefinition) for d in definitions):
            due = timer_due(task)
            if due is not None:
                found[str(task.id)] = due
    return found


def timers_match_waiting_tasks(session, engine) -> list[str]:
    problems = []
    for instance in _instances(session):
        rows = {t.task_id: t.due_at for t in session.scalars(
            sa.select(Timer).where(Timer.instance_id == instance.id, Timer.state == TimerState.WAITING))}
        tasks: dict[str, datetime] = {}
        if instance.status != InstanceStatus.COMPLETED:
            tasks = _waiting_timer_tasks(engine.load_workflow(instance.id))
        if rows != tasks:
            problems.append(f"instance {instance.id} ({instance.process_id}): waiting timer rows {rows} "
                            f"but waiting timer tasks {tasks}")
    return problems


def one_cancellation_per_contract(session) -> list[str]:
    running = Counter(session.scalars(sa.select(ProcessInstance.business_key).where(
        ProcessInstance.process_id == "online_cancellation", ProcessInstance.status.in_(UNFINISHED),
        ProcessInstance.business_key.is_not(None))))
    return [f"{key}: {n} online cancellations running" for key, n in running.items() if n > 1]


def contracts_follow_their_flows(session) -> list[str]:
    """An unfiled contract belongs to a flow still running, and a cancellation's claim to a cancellation still
    running: a flow that ended (or was cancelled by an administrator) leaves no live contract and no claim."""
    status = dict(session.execute(sa.select(ProcessInstance.id, ProcessInstance.status)).all())
    problems = []
    for contract in session.scalars(sa.select(Contract)):
        if contract.status in (DRAFT, SUBMITTED) and status.get(contract.instance_id) not in UNFINISHED:
            problems.append(f"{contract.contract_no} {contract.status} but its flow {contract.instance_id} is "
                            f"{status.get(contract.instance_id)}")
        claim = contract.cancellation_instance_id
        if claim is not None and status.get(claim) not in UNFINISHED:
            problems.append(f"{contract.contract_no} claimed by cancellation {claim}, which is {status.get(claim)}")
    return problems


def nothing_stale_kept(session) -> list[str]:
    """A kept (unconsumed) e-sign message must still have an order waiting for it; otherwise it would hit a later
    order or a later flow of the same contract."""
    problems = []
    for message in session.scalars(sa.select(Message).where(Message.consumed_at.is_(None))):
        if message.name == "esign_party_signed":
            order = session.scalars(sa.select(ESignOrder).where(
                ESignOrder.order_no == message.payload.get("order_no"))).first()
            if order is None or order.status != ORDER_WAITING:
                problems.append(f"callback {message.payload} kept for order in state {order and order.status!r}")
        elif message.name == "esign_order_cancel":
            waiting = session.scalars(sa.select(ESignOrder).join(Contract).where(
                Contract.contract_no == message.business_key, ESignOrder.status == ORDER_WAITING)).first()
            if waiting is None:
                problems.append(f"order cancel for {message.business_key} kept with no order waiting")
    return problems
