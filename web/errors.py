"""One mapping from the errors of use cases, the engine and the domain to an HTTP status and a Chinese
message: JSON ``{"message", "errors"}`` under /api/, an error page elsewhere."""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from engine import BadCursor, EngineError, FormInvalid
from handlers.models import DomainError
from handlers.usecases import UseCaseError

HANDLED = (UseCaseError, EngineError, DomainError, BadCursor)


def describe(err: Exception) -> tuple[int, str, dict]:
    """(HTTP status, message for people, field errors) of any error a use case may raise."""
    if isinstance(err, FormInvalid):
        return err.status, err.message, err.errors
    if isinstance(err, (UseCaseError, EngineError)):
        return err.status, err.message, getattr(err, "errors", None) or {}
    if isinstance(err, HTTPException):
        return err.code or 500, err.description or "", {}
    return 400, str(err), {}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _answer(err: Exception):
    status, message, errors = describe(err)
    if _wants_json():
        body: dict = {"message": message}
        if errors:
            body["errors"] = errors
        return body, status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    for kind in HANDLED:
        app.register_error_handler(kind, _answer)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if _wants_json():
            return _answer(err)
        return err
