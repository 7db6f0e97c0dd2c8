"""What the housing business does when an administrator ends a flow outside its diagram (the engine's
lifecycle events, :meth:`engine.Registry.on_lifecycle`): the contract row follows the instance in the same
transaction, so a cancelled flow never leaves a contract that still counts as live or a claim nobody holds.

- a signing flow (online or offline) whose contract is not filed yet: the contract is 已删除, as when its
  deadline passes or the seller deletes it (guide: an unsigned contract is deleted), with the
  administrator's reason; its waiting order expires and the home is free for a new contract;
- a cancellation flow (online or offline) holding a filed contract: the claim is let go, as when the
  applicant withdraws, so the contract is just 已签约 again and may be cancelled later; its waiting order
  is cancelled;
- a filed or already cancelled contract is never changed: only a cancellation flow undoes a filing.

Which rows an instance holds is read from the rows themselves (the contract it created, the contract it
claimed, its orders), never from the process id.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.registry import CANCELLED

from .models import DRAFT, ORDER_CANCELLED, ORDER_WAITING, SUBMITTED, Contract, ESignOrder
from .services import delete_contract, withdraw_cancellation
from .signing import MESSAGE as SIGNED_MESSAGE

REASON_MAX = 200  # Contract.deletion_reason


def cancelled_by_admin(reason: str) -> str:
    return f"管理员取消了办理流程：{reason}"[:REASON_MAX]


def follow_instance(ctx, event: str, reason: str = "", **_details) -> None:
    """The lifecycle listener: on an administrator's cancel, the instance's contract, claim and orders close."""
    if event != CANCELLED:
        return
    why = cancelled_by_admin(reason)
    session = ctx.session
    created = session.scalars(sa.select(Contract).where(Contract.instance_id == ctx.instance.id)).first()
    if created is not None and created.status in (DRAFT, SUBMITTED):
        delete_contract(ctx, created.id, why)
    claimed = session.scalars(sa.select(Contract).where(Contract.cancellation_instance_id == ctx.instance.id)).first()
    if claimed is not None:
        withdraw_cancellation(ctx, claimed.id, why)
    # Whatever order of this instance still waits takes no signature now (its flow will never read one).
    for order in session.scalars(sa.select(ESignOrder).where(
            ESignOrder.instance_id == ctx.instance.id, ESignOrder.status == ORDER_WAITING)):
        order.move_to(ORDER_CANCELLED, ctx.now())
        ctx.discard_messages(SIGNED_MESSAGE)
