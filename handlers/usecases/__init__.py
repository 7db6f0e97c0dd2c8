"""The application layer: one function per action a citizen, clerk, reviewer, administrator or external
system triggers, and the reads their pages need.

Each takes the :class:`~handlers.bootstrap.Services`, the :class:`~.policy.Actor` and plain values;
checks the one access policy (:mod:`.policy`); runs in one unit of work (an engine step, or
``services.unit_of_work()``); returns ORM rows or small dataclasses to read, or raises an error of
:mod:`.errors` (or the engine's), which the web maps to an HTTP status and a Chinese message.

Modules: :mod:`.accounts` (sign-in, 用户关联, password reset), :mod:`.citizen` (portal), :mod:`.tasks`
(completing, claiming, the staff inbox, uploads, prints), :mod:`.admin` (deploy, instances, incidents,
read-outs), :mod:`.instances` (cancel, suspend, resume, reset, migrate and revert running instances), :mod:`.lists` (the administrator's lists of the whole system, bulk retry), :mod:`.esign` (粤信签 callback, the sandbox signing page), :mod:`.ops` (readiness, metrics).
"""
from .errors import Conflict, Forbidden, Invalid, NotFound, Refused, Unauthenticated, UseCaseError
from .policy import ANONYMOUS, CITIZEN_ROLES, STAFF_ROLES, Actor

__all__ = ["ANONYMOUS", "CITIZEN_ROLES", "STAFF_ROLES", "Actor", "Conflict", "Forbidden", "Invalid", "NotFound", "Refused",
           "Unauthenticated", "UseCaseError"]
