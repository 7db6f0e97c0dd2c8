"""The next-natural-day rule: an unsigned contract is deleted at 00:00 Beijing time after the day after its creation."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def deletion_deadline(created_at: datetime) -> datetime:
    """Created 2026-11-23 10:00 (Beijing) → 2026-11-25 00:00 (Beijing), returned as aware UTC.

    The whole next natural day is given; the deadline is the midnight that ends it.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    local_day = created_at.astimezone(BEIJING).date()
    deadline_local = datetime.combine(local_day + timedelta(days=2), time(0, 0), tzinfo=BEIJING)
    return deadline_local.astimezone(timezone.utc)


def beijing(dt: datetime) -> str:
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
