"""Outbound events as use cases: the administrator's list of events and deliveries (with 「重新投递」),
the sandbox webhook receiver (checks the signature, keeps each event once) and the sandbox SMS outbox."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from engine import Page
from engine.db import utcnow
from engine.models import OutboundDelivery, OutboundEvent
from engine.outbound import verify

from ..bootstrap import Services
from ..models import SmsMessage, WebhookReceipt
from .errors import Forbidden, NotFound, Refused
from .policy import ADMIN_ROLE, Actor

# The webhook subscriber whose secret the sandbox receiver checks (NETSIGN_WEBHOOKS, name "sandbox").
SANDBOX_SUBSCRIBER = "sandbox"


@dataclass
class EventsPage:
    events: Page[OutboundEvent]
    deliveries: dict[str, list[OutboundDelivery]]


def events(services: Services, actor: Actor, *, kind: str | None = None, business_key: str | None = None,
           after: str | None = None, limit: int = 50) -> EventsPage:
    actor.require(ADMIN_ROLE)
    page = services.queries.outbound_events(kind=kind or None, business_key=(business_key or "").strip() or None,
                                            after=after, limit=limit)
    deliveries: dict[str, list[OutboundDelivery]] = defaultdict(list)
    for delivery in services.queries.deliveries(e.id for e in page):
        deliveries[delivery.event_id].append(delivery)
    return EventsPage(page, dict(deliveries))


def retry_delivery(services: Services, actor: Actor, delivery_id: int) -> int:
    """「重新投递」: due now, with a fresh round of attempts; a delivered one stays delivered."""
    actor.require(ADMIN_ROLE)
    delivery = services.queries.delivery(delivery_id)
    if delivery is None:
        raise NotFound(f"投递记录#{delivery_id}不存在")
    if delivery.status == "delivered":
        raise Refused("该事件已投递成功，无需重新投递")
    services.end_session()
    return services.engine.retry_deliveries([delivery_id])


def receive_webhook(services: Services, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """The sandbox receiver: refuse a bad or stale signature; keep each event once (its id is the
    idempotency key); True if it was new."""
    subscriber = services.engine.outbound.subscriber(SANDBOX_SUBSCRIBER)
    secret = getattr(subscriber, "secret", "")
    if not verify(secret, body, timestamp, signature, utcnow()):
        raise Forbidden("签名无效或已过期，拒绝接收")
    try:
        event = json.loads(body)
        event_id, kind = str(event["id"]), str(event["kind"])
    except (ValueError, KeyError, TypeError):
        raise Refused("事件内容无法识别") from None
    with services.unit_of_work() as session:
        if session.scalar(sa.select(WebhookReceipt.id).where(WebhookReceipt.event_id == event_id)) is not None:
            return False
        session.add(WebhookReceipt(event_id=event_id, kind=kind, body=body.decode("utf-8"), received_at=utcnow()))
    return True


def webhook_receipts(services: Services, limit: int = 200) -> list[WebhookReceipt]:
    return list(services.session.scalars(sa.select(WebhookReceipt).order_by(WebhookReceipt.id.desc()).limit(limit)))


def sms_outbox(services: Services, phone: str | None = None, limit: int = 500) -> dict[str, list[SmsMessage]]:
    """The sandbox's sent messages per phone, newest first."""
    query = sa.select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if phone:
        query = query.where(SmsMessage.phone == phone.strip())
    by_phone: dict[str, list[SmsMessage]] = defaultdict(list)
    for message in services.session.scalars(query):
        by_phone[message.phone].append(message)
    return dict(by_phone)
