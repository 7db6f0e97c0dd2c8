"""``N_`` marks a Chinese text that the handlers define and the pages show later (a form label, a choice, a
message template) for `make i18n`; it changes nothing, the page translates the text when it shows it.

A message with a variable part is built from a marked template (``REQUIRED % {"label": label}``); every
such template is listed in ``MESSAGE_TEMPLATES``, so an English page can find the template a message was
built from and translate it and its parts (web/i18n.py).
"""
from __future__ import annotations


def N_(message: str) -> str:
    return message


MESSAGE_TEMPLATES: list[str] = []


def template(message: str) -> str:
    """A marked message template with %(name)s parts, registered for the English pages."""
    MESSAGE_TEMPLATES.append(message)
    return message
