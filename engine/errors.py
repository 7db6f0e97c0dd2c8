"""Errors the engine raises to its callers (web views, CLI, worker).

Messages are Chinese because they are shown to people; log lines carry ids.
"""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class; ``status`` is the HTTP status a web layer should answer with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    status = 404


class NotAllowed(EngineError):
    status = 403


class Conflict(EngineError):
    """The task or instance moved on (completed elsewhere, cancelled by a timer, …)."""

    status = 409


class ClosedByTimer(Conflict):
    """The task was closed by a due timer that the same step fired, and that step was committed.

    Tells the caller which timer closed it and, when the instance ended, at which end event, so a
    page can say what happened at the deadline instead of a bare 「已处理或已取消」.
    """

    def __init__(self, task_name: str, timers: list[str], end_event: str | None):
        named = "、".join(f"「{name}」" for name in timers) or "期限"
        outcome = f"：{end_event}" if end_event else f"，任务「{task_name}」已关闭"
        super().__init__(f"已超过办理期限，{named}已处理{outcome}")
        self.task_name = task_name
        self.timers = timers
        self.end_event = end_event


class FormInvalid(EngineError):
    """Form input failed validation; nothing was changed. ``errors`` maps field → messages."""

    status = 422

    def __init__(self, errors: Any):
        super().__init__("表单填写有误：" + "；".join(_flatten(errors)))
        self.errors = errors


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            out.extend(_flatten(value, f"{prefix}{key}." if not isinstance(key, int) else f"{prefix}{key}."))
    elif isinstance(errors, (list, tuple)):
        for value in errors:
            out.extend(_flatten(value, prefix))
    else:
        out.append(str(errors))
    return out
