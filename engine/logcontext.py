"""What every log line carries: the fields of the request or step it was written in.

A context variable holds them (request id, business key, instance id, task, actor …); the web binds a
request's, a step binds its instance's, and the logging configuration (web/logs.py) adds them to each
record.  :func:`scope` restores what was bound before when it ends, so a worker's next step never
carries the last one's instance.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("netsign_log_fields", default={})


def current() -> dict[str, Any]:
    return _fields.get()


def bind(**fields: Any) -> None:
    """Add fields to the current context (``None`` values are left out)."""
    _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})


def reset(**fields: Any) -> None:
    """Start afresh with only these fields (a new request)."""
    _fields.set({k: v for k, v in fields.items() if v is not None})


@contextmanager
def scope(**fields: Any) -> Iterator[None]:
    """Fields bound inside the block are forgotten at its end."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)
