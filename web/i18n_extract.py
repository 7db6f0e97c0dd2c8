"""Babel extractors for the diagrams: the words an analyst draws in processes/*.bpmn and *.dmn (process,
lane, task, event, gateway and flow names, a user task's guidance; decision names, column labels and output
texts) are shown on pages, so `make i18n` collects them like the strings marked in code (babel.cfg names
these functions).

The files are read as XML and elements are matched by their local name, so a diagram saved by any modeler
(``bpmn:``, ``semantic:`` or a default namespace) gives the same words."""
from __future__ import annotations

from typing import IO, Iterator

from lxml import etree

# Definitions whose name is a code the diagrams refer to, never shown: message, signal, error names.
CODE_NAMED = {"message", "signal", "error", "escalation", "dataStoreReference", "dataObject"}
# A user task's documentation is the guidance its page shows above the form (handlers/usecases/task_content.py).
GUIDED = {"userTask", "manualTask"}
DMN_NAMED = {"definitions", "decision", "inputData", "knowledgeSource"}
DMN_LABELLED = {"input", "output"}

Extracted = Iterator[tuple[int, str | None, str, list[str]]]


BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _is_dmn_model(namespace: str | None) -> bool:
    """DMN 1.1 to 1.5 each have their own model namespace (…/DMN/<date>/MODEL/)."""
    return namespace is not None and "/DMN/" in namespace and "MODEL" in namespace


def _elements(fileobj: IO[bytes], in_model) -> Iterator[tuple[str, etree._Element]]:
    """(local name, element) of the model's own elements: not the diagram interchange (DI) nor an engine's
    extensions (``spiffworkflow:property name="formKey"`` is a setting, not a word)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.parse(fileobj, parser).getroot()
    for element in root.iter(etree.Element):
        name = etree.QName(element)
        if in_model(name.namespace):
            yield name.localname, element


def _found(element: etree._Element, message: str | None) -> Extracted:
    message = (message or "").strip()
    if message:
        yield element.sourceline or 0, None, message, []


def extract_bpmn(fileobj: IO[bytes], keywords, comment_tags, options) -> Extracted:
    for kind, element in _elements(fileobj, lambda namespace: namespace == BPMN_MODEL):
        if kind not in CODE_NAMED and element.get("name") is not None:
            yield from _found(element, element.get("name"))
        if kind in GUIDED:
            for child in element:
                if etree.QName(child).localname == "documentation":
                    yield from _found(child, child.text)
                    break  # the first documentation only, as the task page shows it


def extract_dmn(fileobj: IO[bytes], keywords, comment_tags, options) -> Extracted:
    for kind, element in _elements(fileobj, _is_dmn_model):
        if kind in DMN_NAMED:
            yield from _found(element, element.get("name"))
        elif kind in DMN_LABELLED:
            yield from _found(element, element.get("label"))
        elif kind == "outputEntry":
            # An output entry's text is a FEEL expression; a string literal in it is a text the table gives pages.
            text = next((child.text for child in element if etree.QName(child).localname == "text"), None) or ""
            for literal in _feel_strings(text):
                yield from _found(element, literal)


def _feel_strings(expression: str) -> Iterator[str]:
    """The string literals of a FEEL expression ("…", with \\" escapes)."""
    literal: list[str] = []
    inside = escaped = False
    for ch in expression:
        if not inside:
            if ch == '"':
                inside, literal = True, []
        elif escaped:
            literal.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            inside = False
            yield "".join(literal)
        else:
            literal.append(ch)
