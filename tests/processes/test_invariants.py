"""The contract invariants (issue #9 item 8), tested as a Hypothesis state machine: random sequences of citizen
steps, e-sign callbacks, 「注销电子合同订单」, online cancellations, an administrator's cancel, clock moves across
the deletion deadline, worker sweeps and restarts from the database, with every invariant of
tests/processes/invariants.py checked after each.

Profiles: ``ci`` (in ``make test``) and ``nightly`` (``NETSIGN_INVARIANTS=nightly``, ``make nightly``).
"""
from __future__ import annotations

import dataclasses
import os
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from engine import ClosedByTimer, Conflict, FormInvalid
from engine.db import utcnow
from engine.models import ProcessInstance
from engine.testing import Case, ProcessHarness
from handlers.adapters import esign
from handlers.models import ORDER_WAITING, Account, Contract, ESignOrder
from handlers.usecases import citizen, instances
from handlers.usecases.errors import Conflict as Refused409, NotFound, Refused, Unauthenticated
from handlers.usecases.esign import receive_callback
from handlers.usecases.policy import Actor

from . import invariants as inv
from .conftest import ESIGN_SECRET
from .machine_steps import BAD_DATA, SELLERS, Run, valid_data

# Invariants and actions that fail today because of a known, not yet fixed bug; each entry skips exactly that one
# check or action (with its reason), and removing the entry re-enables it. Empty: every invariant is checked.
KNOWN_OPEN: dict[str, str] = {}
# The shortest failing examples the machine found (label → entry, part, rules with their arguments), kept as
# regression replays: each failed before its fix (stale and old-order callbacks, the late step, two cancellations
# at once) and must pass now; an entry listed in KNOWN_OPEN turns its replay into a strict expected failure.
KNOWN_EXAMPLES: dict[str, tuple[str, str, list[tuple[str, tuple]]]] = {
    "old_order": ("old_order", "signing", [
        ("a_first_contract", ("张伟", 0)), ("cancel_order", (0,)), ("callback", (0, 0, "old_order")),
        ("next_tasks", (0, 0, False, 12))]),
    "late_step": ("late_step", "signing", [
        ("a_first_contract", ("张伟", 1)), ("clock_to_deadline", (0, 0)), ("next_tasks", (0, 0, False, 1))]),
    "stale_message": ("stale_message", "signing", [("a_first_contract", ("张伟", 0)), ("callback", (0, 0, "late"))]),
    "one_cancellation": ("one_cancellation", "filed", [
        ("a_first_contract", ("刘芳", 0)), ("start_cancellation", (0, False)), ("start_cancellation", (0, False))]),
    # Found by the machine: with two cancellations running, an on-time callback for the second one's order is caught
    # by the first instance (both wait on the contract number) and recorded on the first one's order.
    "one_cancellation/own_token": ("one_cancellation", "filed", [
        ("a_first_contract", ("刘芳", 0)), ("start_cancellation", (0, True)), ("clock_moves", (12,)),
        ("callback", (0, 0, "on_time")), ("start_cancellation", (0, False)), ("next_tasks", (2, 0, False, 3)),
        ("worker_sweeps", ("messages",)), ("next_tasks", (1, 0, False, 12)), ("worker_sweeps", ("incidents",)),
        ("callback", (2, 1, "on_time"))]),
    # Found by the machine: a refused (bad) click after the deadline meets the deletion first; the check that a
    # refused step changes nothing must let the deadline win (ClosedByTimer), as the README says it does.
    "late_step/refused": ("late_step", "signing", [
        ("a_first_contract", ("刘芳", 0)), ("restart", ()), ("cancel_order", (0,)), ("clock_to_deadline", (0, 2)),
        ("next_tasks", (0, 0, True, 1))]),
    # An administrator's cancel left the contract live (the home blocked for ever) or the contract claimed by a
    # cancellation that no longer runs (注销中 for ever): the seller signs the home again, the contract is
    # cancelled again.
    "flows_hold_contracts/signing": ("flows_hold_contracts", "signing", [
        ("a_first_contract", ("张伟", 0)), ("admin_cancels", (0,)), ("start_signing", ("张伟",)),
        ("next_tasks", (1, 0, False, 12))]),
    "flows_hold_contracts/cancellation": ("flows_hold_contracts", "filed", [
        ("a_first_contract", ("刘芳", 0)), ("start_cancellation", (0, False)), ("admin_cancels", (1,)),
        ("start_cancellation", (0, True)), ("next_tasks", (2, 0, False, 3))]),
}
# NETSIGN_INVARIANTS_REOPEN=late_step,... runs with those entries enabled again (to confirm a fix).
for _name in filter(None, os.environ.get("NETSIGN_INVARIANTS_REOPEN", "").split(",")):
    KNOWN_OPEN.pop(_name.strip(), None)

PROFILES = {
    "ci": settings(max_examples=100, stateful_step_count=12, deadline=None, database=None, print_blob=True,
                   suppress_health_check=list(HealthCheck)),
    "dev": settings(max_examples=30, stateful_step_count=25, deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck)),
    "nightly": settings(max_examples=2000, stateful_step_count=60, deadline=None, database=None, print_blob=True,
                        suppress_health_check=list(HealthCheck)),
}
PROFILE = os.environ.get("NETSIGN_INVARIANTS", "ci")
# NETSIGN_INVARIANTS_EXAMPLES=500 overrides the profile's number of examples (a longer hunt for one bug).
SETTINGS = settings(PROFILES[PROFILE], max_examples=int(os.environ.get("NETSIGN_INVARIANTS_EXAMPLES") or
                                                        PROFILES[PROFILE].max_examples))
START = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
MAX_RUNS = 3
# Two parts, each a test of its own (so xdist runs them side by side): where the first contract of an example is.
PARTS = {"signing": ["ordered", "drafting", "partly signed"], "filed": ["filed", "fully signed"]}

class ContractMachine(RuleBasedStateMachine):
    """One example: a fresh set of flows on the kept definitions, accounts and homes."""

    env: dict = {}  # set by the test: services, engine_factory, sa_engine, accounts
    part = "signing"
    examples = 0
    reached: Counter = Counter()  # how many examples got a contract to each state (printed with the count)

    def __init__(self):
        super().__init__()
        env = self.env
        inv.reset_flow_tables(env["sa_engine"])
        self.harness = ProcessHarness(env["engine_factory"])
        # Random walks must not count towards the diagrams' flow-coverage gate, which deterministic tests hold.
        ProcessHarness.live.remove(self.harness)
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.runs: list[Run] = []
        self.delivered: set[tuple[str, int]] = set()
        self.bodies: list[tuple[bytes, str]] = []
        self.swept_at: datetime | None = None
        self.late_step: list[str] = []
        type(self).examples += 1

    def teardown(self):
        session = self.harness.session
        try:
            session.rollback()  # a failed step may have left its transaction aborted (PostgreSQL)
            seen = set(session.scalars(sa.select(Contract.status)))
            seen |= {"order " + s for s in session.scalars(sa.select(ESignOrder.status))}
            seen |= {"admin-cancelled " + p for p in session.scalars(sa.select(ProcessInstance.process_id).where(
                ProcessInstance.status == "cancelled"))}
            seen |= {"online cancellation " + (e or "running") for e in session.scalars(
                sa.select(ProcessInstance.end_event).where(ProcessInstance.process_id == "online_cancellation"))}
            type(self).reached.update(seen)
            session.rollback()
        finally:
            self.traveller.stop()

    # ------------------------------------------------------------------ helpers

    @property
    def services(self):
        # The use cases run on the harness's current engine, so a restart drops theirs too.
        return dataclasses.replace(self.env["services"], engine=self.harness.engine)

    def actor(self, name: str) -> Actor:
        session = self.harness.session
        account = session.get(Account, self.env["accounts"][name].id)
        return Actor.of(account)

    def contract(self, run: Run) -> Contract | None:
        session = self.harness.session
        session.expire_all()
        if run.contract_id is None and run.kind == "signing":
            found = session.scalars(sa.select(Contract).where(Contract.instance_id == run.case.id)).first()
            run.contract_id = found.id if found else None
        return session.get(Contract, run.contract_id) if run.contract_id else None

    def orders(self, run: Run) -> list[ESignOrder]:
        session = self.harness.session
        session.expire_all()
        return list(session.scalars(sa.select(ESignOrder).where(ESignOrder.instance_id == run.case.id)
                                    .order_by(ESignOrder.id)))

    def now(self) -> datetime:
        return utcnow()

    def note_late(self, run: Run, what: str) -> None:
        """A step that arrives after the deadline must delete the unfiled contract in that same step."""
        contract = self.contract(run)
        if contract is not None and contract.status in ("草稿", "已提交") and contract.deletion_deadline <= self.now():
            self.late_step.append(f"{what} at {self.now()} left {contract.contract_no} {contract.status} "
                                  f"(deadline {contract.deletion_deadline})")
        self.harness.session.rollback()

    # ------------------------------------------------------------------ citizens

    @initialize(who=st.sampled_from(sorted(SELLERS)), stage=st.integers(0, 2))
    def a_first_contract(self, who, stage):
        """Every example starts from one contract at a random stage of its part, so that a walk of a few dozen
        rules reaches signing, filing and online cancellation often, not only now and then."""
        stage = PARTS[self.part][stage % len(PARTS[self.part])]
        self.start_signing(who)
        run = self.runs[-1]
        self.next_tasks(0, 0, False, 2 if stage == "drafting" else 12)
        signatures = {"ordered": 0, "partly signed": 1}.get(stage, 9)
        for _ in range(signatures):
            self.callback(0, 0, "on_time")
        if stage == "filed":
            self.next_tasks(0, 0, False, 1)
        assert stage != "filed" or self.contract(run).status == "已签约", stage
        self.harness.session.rollback()

    @precondition(lambda self: len(self.runs) < MAX_RUNS)
    @rule(who=st.sampled_from(sorted(SELLERS)))
    def start_signing(self, who):
        actor = str(self.env["accounts"][who].id)
        case = self.harness.start("online_signing", actor=actor)
        run = Run(case, who, "signing")
        self.runs.append(run)
        for task in ("选择业务类型", "查询房源"):
            case.complete(task, valid_data(task, run, 0), actor=actor)

    @precondition(lambda self: self.runs)
    @rule(pick=st.integers(0, MAX_RUNS - 1), choice=st.integers(0, 1), bad=st.booleans(),
          steps=st.sampled_from([12, 1, 3]))
    def next_tasks(self, pick, choice, bad, steps):
        """The citizen completes the next open task (bad data: refused, nothing changes), up to ``steps`` in a
        row, so that a walk reaches signing and filing within a few rules."""
        run = self.runs[pick % len(self.runs)]
        actor = str(self.env["accounts"][run.who].id)
        for _ in range(steps):
            tasks = run.case.open_tasks()
            if not tasks:
                return
            task = tasks[0]
            if bad and task.name in BAD_DATA:
                before = self.snapshot(run)
                with pytest.raises((FormInvalid, Conflict)) as refused:
                    self.harness.engine.complete_task(task.id, BAD_DATA[task.name](run), actor)
                # A deadline that passed before the late click wins (README, "How a step runs"): the step
                # commits what the timer did (the contract deleted) and says so; otherwise nothing changes.
                if not isinstance(refused.value, ClosedByTimer):
                    assert self.snapshot(run) == before, f"refused {task.name} changed the contract"
                return
            try:
                self.harness.engine.complete_task(task.id, valid_data(task.name, run, choice), actor)
            except Conflict:
                pass  # the deadline (or another step) got there first
            self.note_late(run, f"「{task.name}」")

    def snapshot(self, run: Run):
        contract = self.contract(run)
        columns = None if contract is None else tuple(getattr(contract, c.key) for c in Contract.__table__.columns)
        parties = None if contract is None else [(p.name, p.phone, p.active) for p in contract.parties]
        self.harness.session.rollback()
        return columns, parties

    @precondition(lambda self: self.runs)
    @rule(pick=st.integers(0, MAX_RUNS - 1))
    def cancel_order(self, pick):
        """「注销电子合同订单」, by the seller who created the contract, through the use case the button calls."""
        run = self.runs[pick % len(self.runs)]
        contract = self.contract(run)
        if contract is None:
            return
        owner = next(n for n, a in self.env["accounts"].items() if a.id == contract.created_by)
        try:
            citizen.cancel_order(self.services, self.actor(owner), contract.contract_no)
        except (Refused, NotFound):
            self.harness.session.rollback()
            return  # refused before any step: nothing reached the engine
        self.harness.session.rollback()
        self.note_late(run, "「注销电子合同订单」")

    @precondition(lambda self: len(self.runs) < MAX_RUNS and any(r.kind == "signing" for r in self.runs))
    @rule(pick=st.integers(0, MAX_RUNS - 1), by_buyer=st.booleans())
    def start_cancellation(self, pick, by_buyer):
        """「存量房合同注销线上」 for a filed contract, by its seller or a buyer."""
        signing = [r for r in self.runs if r.kind == "signing"]
        run = signing[pick % len(signing)]
        contract = self.contract(run)
        if contract is None or contract.status != "已签约":
            self.harness.session.rollback()
            return
        if "one_cancellation" in KNOWN_OPEN and any(
                r.kind == "cancellation" and r.contract_id == contract.id and r.case.status != "completed"
                for r in self.runs):
            self.harness.session.rollback()
            return
        who = next((b.name for b in contract.buyers), run.who) if by_buyer else run.who
        try:
            result = citizen.start_online_cancellation(self.services, self.actor(who), contract.contract_no)
        except Refused:  # one cancellation at a time: a second start is refused while one runs
            self.harness.session.rollback()
            assert any(r.kind == "cancellation" and r.contract_id == contract.id
                       and r.case.status not in ("completed", "cancelled")
                       for r in self.runs), "a cancellation start was refused with none running"
            return
        self.harness.session.rollback()
        self.runs.append(Run(Case(self.harness, result.instance_id), who, "cancellation", contract.id))

    @precondition(lambda self: self.runs)
    @rule(pick=st.integers(0, MAX_RUNS - 1))
    def admin_cancels(self, pick):
        """An administrator cancels a flow (the use case behind the admin page, the API and the CLI)."""
        run = self.runs[pick % len(self.runs)]
        try:
            instances.cancel(self.services, self.actor("系统管理员"), run.case.id, "管理员核查后取消")
        except Conflict:
            pass  # it had ended already
        self.harness.session.rollback()

    # ------------------------------------------------------------------ the e-sign service

    @precondition(lambda self: self.runs)
    @rule(pick=st.integers(0, MAX_RUNS - 1), party=st.integers(0, 3),
          kind=st.sampled_from(["on_time", "late", "duplicate", "old_order", "forged"]), everyone=st.booleans())
    def callback(self, pick, party, kind, everyone=False):
        """The e-sign service calls back; ``everyone``: every party who has not signed yet signs, one by one."""
        run = self.runs[pick % len(self.runs)]
        if kind in KNOWN_OPEN:
            return
        for _ in range(4 if everyone and kind == "on_time" else 1):
            self.one_callback(run, party, kind)

    def one_callback(self, run: Run, party: int, kind: str) -> None:
        if kind == "duplicate":
            if self.bodies:
                self.deliver(*self.bodies[party % len(self.bodies)])
            return
        orders = self.orders(run)
        waiting = [o for o in orders if o.status == ORDER_WAITING]
        pool = [o for o in orders if o is not orders[-1] or o.status != ORDER_WAITING] if kind == "old_order" \
            else waiting[-1:]
        if not pool:
            self.harness.session.rollback()
            return
        # On time: a party who has not signed yet (any party for the other kinds).
        choices = [s for s in pool[-1].signatures if s.status != "签名成功"] if kind in ("on_time", "late") else []
        choices = choices or pool[-1].signatures
        signature = choices[party % len(choices)]
        if kind == "late":
            contract = self.contract(run)
            if contract is not None and contract.deletion_deadline > self.now():
                self.clock.move_to(contract.deletion_deadline + timedelta(seconds=party * 600 + 1))
        body = esign.callback_body(signature.order.order_no, signature.party_id, signature.token,
                                   self.now().isoformat())
        key = (signature.order.order_no, signature.party_id)
        self.harness.session.rollback()
        if kind == "forged":
            with pytest.raises(Unauthenticated):
                receive_callback(self.services, body, esign.sign(body, "not-the-secret"))
            return
        self.delivered.add(key)  # the party did sign this order with their own token
        self.bodies.append((body, esign.sign(body, ESIGN_SECRET)))
        if self.deliver(*self.bodies[-1]):
            # Taken to its instance: that step meets the deadline first. A refused one ran no step at all.
            self.note_late(run, f"callback ({kind})")

    def deliver(self, body: bytes, mac: str) -> bool:
        """Whether the callback was accepted (a callback for an order that takes no more signatures is
        refused: 409 once the order has closed)."""
        try:
            receive_callback(self.services, body, mac)
            return True
        except (Refused, Refused409):
            return False
        finally:
            self.harness.session.rollback()

    # ------------------------------------------------------------------ time, the worker, a restart

    @rule(hours=st.integers(1, 30))
    def clock_moves(self, hours):
        self.clock.shift(timedelta(hours=hours))

    @precondition(lambda self: self.runs)
    @rule(pick=st.integers(0, MAX_RUNS - 1), seconds=st.integers(-2, 2))
    def clock_to_deadline(self, pick, seconds):
        """Right around a contract's deadline (the clock only moves forward)."""
        contract = self.contract(self.runs[pick % len(self.runs)])
        if contract is not None and contract.deletion_deadline + timedelta(seconds=seconds) > self.now():
            self.clock.move_to(contract.deletion_deadline + timedelta(seconds=seconds))
        self.harness.session.rollback()

    @rule(work=st.sampled_from(["timers", "messages", "incidents"]))
    def worker_sweeps(self, work):
        engine = self.harness.engine
        if work == "timers":
            engine.fire_due_timers()
            self.swept_at = self.now()
        elif work == "messages":
            engine.deliver_pending()
        else:
            engine.retry_incidents(only_due=False)

    @rule()
    def restart(self):
        self.harness.restart()

    # ------------------------------------------------------------------ after every step

    failures: list[str] | None = None  # a replay collects every broken invariant instead of stopping at the first

    def check(self, name: str, problems: list[str]) -> None:
        self.harness.session.rollback()
        if name in KNOWN_OPEN or not problems:
            return
        message = f"invariant {name} broken: " + "; ".join(problems)
        if self.failures is None:
            raise AssertionError(message)
        if message not in self.failures:
            self.failures.append(message)

    @invariant()
    def invariants_hold(self):
        session = self.harness.session
        session.expire_all()
        engine = self.harness.engine
        self.check("one_live_contract", inv.one_live_contract_per_home(session))
        self.check("filed_final_order", inv.filed_contracts_carry_their_final_order(session))
        self.check("own_token", inv.signatures_come_from_their_own_token(session, self.delivered))
        self.check("deadline", inv.deadline_kept(session, self.now(), self.swept_at))
        self.check("late_step", self.late_step)
        self.check("inbox", inv.inbox_is_the_ready_user_tasks(session, engine))
        self.check("timers", inv.timers_match_waiting_tasks(session, engine))
        self.check("one_cancellation", inv.one_cancellation_per_contract(session))
        self.check("flows_hold_contracts", inv.contracts_follow_their_flows(session))
        self.check("stale_message", inv.nothing_stale_kept(session))


@pytest.mark.parametrize("part", sorted(PARTS))
def test_contract_invariants_hold_under_random_steps(part, services, engine_factory, sa_engine, accounts,
                                                     record_property):
    ContractMachine.part = part
    ContractMachine.env = {"services": services, "engine_factory": engine_factory, "sa_engine": sa_engine,
                           "accounts": accounts}
    ContractMachine.examples = 0
    ContractMachine.reached.clear()
    try:
        run_state_machine_as_test(ContractMachine, settings=SETTINGS)
    finally:
        record_property("state_machine_examples", ContractMachine.examples)
        record_property("state_machine_profile", f"{PROFILE}, {part}")
        reached = ", ".join(f"{state}={n}" for state, n in sorted(ContractMachine.reached.items()))
        record_property("state_machine_reached", reached)
        print(f"contract state machine ({PROFILE}, {part}): {ContractMachine.examples} examples; reached {reached}")


@pytest.mark.parametrize("label", [pytest.param(label, marks=pytest.mark.xfail(
    entry in KNOWN_OPEN, reason=KNOWN_OPEN.get(entry, ""), strict=True))
    for label, (entry, _, _) in sorted(KNOWN_EXAMPLES.items())])
def test_known_open_example(label, services, engine_factory, sa_engine, accounts, monkeypatch):
    """Each known-open failure, replayed with its check enabled: the lead sees it fail today and pass after the
    merge of the branch that fixes it (then the strict xfail says so and the entry is removed)."""
    entry, part, steps = KNOWN_EXAMPLES[label]
    monkeypatch.delitem(KNOWN_OPEN, entry, raising=False)
    monkeypatch.setattr(ContractMachine, "part", part)
    monkeypatch.setattr(ContractMachine, "env", {"services": services, "engine_factory": engine_factory,
                                                 "sa_engine": sa_engine, "accounts": accounts})
    machine = ContractMachine()
    machine.failures = []
    try:
        machine.invariants_hold()
        for rule_name, arguments in steps:
            getattr(machine, rule_name)(*arguments)
            machine.invariants_hold()
    finally:
        machine.teardown()
    assert not machine.failures, "\n".join(machine.failures)
