"""What a view needs besides the request: the use cases' services and who is acting.

Both are put in place by the app factory (``services``) and by :mod:`web.auth` for each
request (``g.actor``); views and commands read them through these two functions.
"""
from __future__ import annotations

from flask import current_app, g

from handlers.bootstrap import Services
from handlers.usecases import ANONYMOUS, Actor


def services() -> Services:
    return current_app.extensions["netsign"]


def actor() -> Actor:
    return getattr(g, "actor", ANONYMOUS)
