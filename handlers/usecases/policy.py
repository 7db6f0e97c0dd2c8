"""The access policy, written once: who is acting, which contracts and which tasks they may see and work.

Citizens see a contract they created or are a party of, and work the seller/buyer
tasks of the instances they started; staff work the tasks of their roles' lanes;
only administrators see the engine's internals.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import InboxState, ReadModel
from engine.models import InboxTask

from ..models import Account, Contract, ContractParty
from .errors import Forbidden, NotFound

# Lanes whose tasks belong to the person who started the instance, not to a role.
CITIZEN_ROLES = ("seller", "buyer")
STAFF_ROLES = ("clerk", "reviewer")
ADMIN_ROLE = "admin"
CITIZEN_ROLE = "citizen"


@dataclass(frozen=True)
class Actor:
    """Who triggers a use case: an account (or nobody) and its roles."""

    account_id: int | None
    name: str = ""
    id_number: str | None = None
    roles: frozenset[str] = frozenset()

    @classmethod
    def of(cls, account: Account | None) -> "Actor":
        if account is None:
            return ANONYMOUS
        return cls(account.id, account.name, account.id_number,
                   frozenset(account.role_list() or [CITIZEN_ROLE]))

    @property
    def ref(self) -> str:
        """The actor string the engine records (who started an instance, who completed a task)."""
        return str(self.account_id) if self.account_id is not None else "anonymous"

    @property
    def is_citizen(self) -> bool:
        return CITIZEN_ROLE in self.roles

    @property
    def staff_roles(self) -> frozenset[str]:
        return self.roles & frozenset(STAFF_ROLES)

    def require(self, *roles: str) -> None:
        if not self.roles & set(roles):
            raise Forbidden("请先登录" if not self.roles else "您没有办理该业务的权限")


ANONYMOUS = Actor(None)
# The operator at the console (``netsign`` commands): sees what an administrator sees.
SYSTEM = Actor(None, "cli", roles=frozenset({ADMIN_ROLE}))


def visible_contracts(actor: Actor) -> sa.Select:
    """The contracts a person may see: created by them, or naming them as a party.

    A union of two indexed lookups (``contract.created_by``, ``contract_party.id_number``) joined to the
    contracts: an ``OR`` with a subquery made the databases read every contract, at any size of city."""
    mine = sa.union(sa.select(Contract.id.label("id")).where(Contract.created_by == actor.account_id),
                    sa.select(ContractParty.contract_id).where(ContractParty.id_number == actor.id_number))
    ids = mine.subquery("mine")
    return sa.select(Contract).join(ids, ids.c.id == Contract.id)


def contract_for(session: Session, actor: Actor, contract_no: str) -> Contract:
    contract = session.scalars(visible_contracts(actor).where(
        Contract.contract_no == contract_no)).first()
    if contract is None:
        raise NotFound(f"未找到合同{contract_no}，或您不是该合同的当事人")
    return contract


def require_contract_owner(actor: Actor, contract: Contract) -> None:
    """Only the seller who created the contract manages its e-contract order."""
    if contract.created_by != actor.account_id:
        raise Forbidden("只有创建合同的卖方可以注销电子合同订单")


def task_for(queries: ReadModel, actor: Actor, task_id: str) -> tuple[InboxTask, frozenset[str] | None]:
    """An open task this actor may work, and the roles the engine should check it against.

    A citizen lane is checked here by who started the instance (the engine does not know
    people); a staff lane by role, which the engine checks again under its lock.
    """
    task = queries.task(task_id)
    if task is None or task.state != InboxState.READY:
        raise NotFound("任务不存在或已处理")
    if task.role in CITIZEN_ROLES:
        if queries.started_by(task.instance_id) != actor.ref:
            raise NotFound("任务不存在或已处理")
        return task, None
    if task.role not in actor.roles:
        raise Forbidden(f"您没有办理「{task.name}」的权限")
    return task, actor.roles


def task_filter(actor: Actor) -> dict:
    """The read model's filter for "tasks I may work": my roles' lanes, or the citizen lanes of my cases."""
    if actor.staff_roles:
        return {"roles": sorted(actor.staff_roles)}
    return {"roles": CITIZEN_ROLES, "started_by": actor.ref}
