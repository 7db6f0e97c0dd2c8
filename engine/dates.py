"""Date helpers diagram expressions may call (timer values above all), in one configured time zone.

Generic calendar arithmetic, nothing about any business: a deadline rule such as "the whole next
natural day" is then written in the diagram (``end_of_next_natural_day(created_at)``), where an
analyst changes it, instead of being computed in a handler.  Each helper takes a moment as an ISO
8601 string or an aware ``datetime`` and returns an ISO 8601 string with its offset, which is what a
``timeDate`` timer wants and what task data can store.  A moment without an offset is read in the
configured zone.  Day counts are bounded (ten years either way), so a helper never runs long.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"
MAX_DAYS = 3653  # ten years, the same bound as a timer's duration
HELPER_NAMES = frozenset({"end_of_natural_day", "end_of_next_natural_day", "start_of_natural_day", "add_days"})


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"未知的时区「{name}」") from err


def _moment(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise ValueError(f"日期时间「{value}」不是 ISO 8601 格式") from err
    else:
        raise TypeError(f"日期函数需要 ISO 8601 字符串或 datetime，得到 {type(value).__name__}")
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"天数必须是整数，得到 {days!r}")
    if abs(days) > MAX_DAYS:
        raise ValueError(f"天数 {days} 超出范围（最多 {MAX_DAYS} 天）")
    return days


def start_of_natural_day(value: Any, days: int = 0, *, tz: ZoneInfo) -> str:
    """00:00 of the natural day ``days`` after the day of ``value`` (in the zone)."""
    local = _moment(value, tz).astimezone(tz)
    day = local.date() + timedelta(days=_days(days))
    return datetime.combine(day, time(0, 0), tzinfo=tz).isoformat()


def end_of_natural_day(value: Any, days: int = 0, *, tz: ZoneInfo) -> str:
    """The midnight that ends the natural day ``days`` after the day of ``value``:
    ``days=0`` → the end of that same day, ``days=1`` → the end of the next day."""
    return start_of_natural_day(value, _days(days) + 1, tz=tz)


def add_days(value: Any, days: int, *, tz: ZoneInfo) -> str:
    """``value`` plus ``days`` calendar days at the same wall-clock time in the zone."""
    local = _moment(value, tz).astimezone(tz)
    moved = datetime.combine(local.date() + timedelta(days=_days(days)), local.timetz().replace(tzinfo=None),
                             tzinfo=tz)
    return moved.isoformat()


def helpers(time_zone: str = DEFAULT_TIME_ZONE) -> dict[str, Callable[..., str]]:
    """The functions bound to ``time_zone``, by the names diagrams call them."""
    tz = zone(time_zone)

    def end_of_natural_day_(value: Any, days: int = 0) -> str:
        return end_of_natural_day(value, days, tz=tz)

    def end_of_next_natural_day_(value: Any) -> str:
        return end_of_natural_day(value, 1, tz=tz)

    def start_of_natural_day_(value: Any, days: int = 0) -> str:
        return start_of_natural_day(value, days, tz=tz)

    def add_days_(value: Any, days: int) -> str:
        return add_days(value, days, tz=tz)

    return {"end_of_natural_day": end_of_natural_day_, "end_of_next_natural_day": end_of_next_natural_day_,
            "start_of_natural_day": start_of_natural_day_, "add_days": add_days_}
