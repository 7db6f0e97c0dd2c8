"""Babel extractors for the diagrams: the words an analyst draws in processes/*.bpmn and *.dmn (process,
lane, task, event, gateway and flow names, a user task's guidance; decision names, column labels and output
texts) are shown on pages, so `make i18n` collects them like the strings marked in code (babel.cfg names these functions)."""
from __future__ import annotations

import html
import re
from typing import IO, Iterator

# Definitions whose name is a code the diagrams refer to, never shown: message, signal, error names.
CODE_NAMED = {"message", "signal", "error", "escalation", "dataStoreReference", "dataObject"}
BPMN_NAME = re.compile(r'<bpmn:(\w+)\b[^>]*?\sname="([^"]*)"', re.S)
# A user task's documentation is the guidance its page shows above the form (handlers/usecases/task_content.py).
TASK_GUIDANCE = re.compile(r'<bpmn:(?:userTask|manualTask)\b[^>]*>\s*<bpmn:documentation>(.*?)</bpmn:documentation>', re.S)
DMN_NAMED = re.compile(r'<(?:definitions|decision|inputData|knowledgeSource)\b[^>]*?\sname="([^"]*)"', re.S)
DMN_LABEL = re.compile(r'<(?:input|output)\b[^>]*?\slabel="([^"]*)"', re.S)
# An output entry's text is a FEEL expression; a string literal in it is a text the table gives the pages.
DMN_OUTPUT = re.compile(r'<outputEntry\b[^>]*>\s*<text>(.*?)</text>', re.S)
FEEL_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')

Extracted = Iterator[tuple[int, str | None, str, list[str]]]


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _found(text: str, position: int, message: str) -> Extracted:
    message = html.unescape(message).strip()
    if message:
        yield _line(text, position), None, message, []


def extract_bpmn(fileobj: IO[bytes], keywords, comment_tags, options) -> Extracted:
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for match in BPMN_NAME.finditer(text):
        if match.group(1) not in CODE_NAMED:
            yield from _found(text, match.start(), match.group(2))
    for match in TASK_GUIDANCE.finditer(text):
        yield from _found(text, match.start(), match.group(1))


def extract_dmn(fileobj: IO[bytes], keywords, comment_tags, options) -> Extracted:
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for pattern in (DMN_NAMED, DMN_LABEL):
        for match in pattern.finditer(text):
            yield from _found(text, match.start(), match.group(1))
    for match in DMN_OUTPUT.finditer(text):
        for literal in FEEL_STRING.finditer(html.unescape(match.group(1))):
            yield from _found(text, match.start(), literal.group(1))
