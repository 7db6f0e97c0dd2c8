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


def beijing_time(moment, days: int = 0, hour: int = 0, minute: int = 0) -> str:
    """For a diagram's timer: ``days`` after the Beijing date of ``moment`` (an ISO string or aware datetime),
    at ``hour:minute`` Beijing time, as an ISO UTC string. ``beijing_time(deadline, days=-1, hour=20)``:
    20:00 the evening before a midnight deadline."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError("beijing_time needs a time with its zone")
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59 and abs(int(days)) <= 366):
        raise ValueError("beijing_time: days within a year, hour 0-23, minute 0-59")
    day = moment.astimezone(BEIJING).date() + timedelta(days=int(days))
    return datetime.combine(day, time(int(hour), int(minute)), tzinfo=BEIJING).astimezone(timezone.utc).isoformat()
