"""SMS: the gateway interface and its sandbox.

A gateway gets a phone number and a text, in the transaction that marks the outbound event delivered
(``engine.outbound.LocalSubscriber``): the sandbox keeps each message as a row (the sandbox page
lists them per phone), once per event and phone. A real gateway would call the operator's API here,
with the event id as its idempotency key.
"""
from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from ..models import SmsMessage


class SmsGateway(Protocol):
    def send(self, session, phone: str, text: str, event_id: str) -> None: ...


class SandboxSmsGateway:
    """Sends nothing: keeps the message for the sandbox page (``/sandbox/sms``)."""

    def send(self, session, phone: str, text: str, event_id: str) -> None:
        seen = session.scalar(sa.select(SmsMessage.id).where(SmsMessage.event_id == event_id,
                                                             SmsMessage.phone == phone))
        if seen is None:
            session.add(SmsMessage(event_id=event_id, phone=phone, text=text))
