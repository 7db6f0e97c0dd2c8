"""One logging configuration for the web, the worker and every ``netsign`` command (the app factory
calls :func:`configure`): stdlib ``logging`` to stderr, one JSON object a line in production, readable
text in development (``NETSIGN_LOG_FORMAT=json|text``), ``NETSIGN_LOG_LEVEL``.

Every line carries the fields bound in :mod:`engine.logcontext` (request id, business key / contract
number, instance id, task, actor) and whatever the call passed as ``extra``.  :func:`init_app` gives each
request its id (the caller's ``X-Request-ID`` when it is sane, else a new one), returns it as
``X-Request-ID`` and logs one line per request.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, request

from engine import logcontext

# The attributes every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "netsign"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _fields(record: logging.LogRecord) -> dict:
    found = dict(logcontext.current())
    found.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    return found


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "event", …fields, "exc"}``, one line, non-ASCII kept readable."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "event": record.getMessage()}
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: event key=value …`` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f"  {extra}" if extra else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(fmt: str, level: str = "INFO") -> None:
    """Put the one handler on the root logger (replacing the one an earlier app put there)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"NETSIGN_LOG_FORMAT must be json or text, not {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # waitress says "Serving on …" and queue warnings; its access is logged by us below.
    logging.getLogger("waitress").setLevel(logging.WARNING)
    # SpiffWorkflow says every task state change at INFO: hundreds of lines a step.
    logging.getLogger("spiff").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    log = logging.getLogger("web.request")

    @app.before_request
    def _start() -> None:
        wanted = request.headers.get("X-Request-ID", "")
        g.request_id = wanted if _REQUEST_ID.match(wanted) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        view_args = request.view_args or {}
        logcontext.reset(request_id=g.request_id, business_key=view_args.get("contract_no"))

    @app.after_request
    def _finish(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
            level = logging.WARNING if response.status_code >= 500 else logging.INFO
            log.log(level, "%s %s %s", request.method, request.path, response.status_code,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1)})
        return response

    @app.teardown_request
    def _forget(_error=None) -> None:
        logcontext.reset()


def bind_actor() -> None:
    """After sign-in has loaded ``g.actor`` (registered behind :mod:`web.auth`): the account id, never a name."""
    actor = getattr(g, "actor", None)
    if actor is not None and actor.account_id is not None:
        logcontext.bind(actor=str(actor.account_id))
