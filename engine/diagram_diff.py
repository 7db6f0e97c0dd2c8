"""What changed between two versions of a BPMN or DMN file, element by element (the editor marks it).

Elements are matched by their ``id``. An element's own content is its attributes and its children that
have no id of their own (conditions, timer expressions, extension settings, documentation, incoming and
outgoing references); a child with an id is compared on its own, so a changed task does not also mark its
process. A changed element that is not drawn (a timer definition, a decision table rule) counts as a change of
the nearest drawn element around it, where the editor can mark it. Layout (``BPMNDiagram``/``DMNDI``) is left
out: moving a shape is not a change of the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

_LAYOUT_NAMESPACES = ("http://www.omg.org/spec/BPMN/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/")

# What an analyst calls the part of an element that changed.
_PART_NAMES = {
    "name": "名称", "conditionExpression": "条件", "timerEventDefinition": "定时器",
    "extensionElements": "引擎设置", "documentation": "说明", "incoming": "连线", "outgoing": "连线",
    "sourceRef": "连线", "targetRef": "连线", "default": "默认路径", "script": "脚本", "text": "内容",
    "inputExpression": "输入表达式", "flowNodeRef": "泳道成员", "timeDate": "定时器", "timeDuration": "定时器",
    "timeCycle": "定时器", "messageEventDefinition": "消息", "rule": "规则", "inputEntry": "规则",
    "outputEntry": "规则", "input": "输入列", "output": "输出列",
}


# Attributes at their BPMN default: a modeler may write them or leave them out, which is no change.
_DEFAULTS = {
    "cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false", "startQuantity": "1",
    "completionQuantity": "1", "parallelMultiple": "false", "gatewayDirection": "Unspecified",
    "instantiate": "false", "isClosed": "false", "processType": "None", "isSequential": "false",
    "behavior": "All", "triggeredByEvent": "false", "associationDirection": "None", "isImmediate": "true",
}


@dataclass
class ElementChange:
    id: str
    label: str
    what: list[str] = field(default_factory=list)


@dataclass
class DiagramDiff:
    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_diagrams(old_xml: str, new_xml: str) -> DiagramDiff:
    """Raises :class:`etree.XMLSyntaxError` when either text is not XML."""
    old, new = _elements(old_xml), _elements(new_xml)
    drawn = _drawn(old_xml) | _drawn(new_xml)
    result = DiagramDiff()
    changed: dict[str, ElementChange] = {}

    def change_of(element: etree._Element, parts: list[str]) -> None:
        holder = _drawn_ancestor(element, drawn)
        if holder is None or holder is element:
            holder, parts = element, parts
        else:
            parts = [_part_name(etree.QName(element).localname)]
        entry = changed.setdefault(str(holder.get("id")), ElementChange(str(holder.get("id")), _label(holder)))
        entry.what += [p for p in parts if p not in entry.what]

    for element_id, element in new.items():
        if element_id not in old:
            if _drawn_ancestor(element, drawn) in (None, element):
                result.added.append(ElementChange(element_id, _label(element)))
            else:
                change_of(element, [])
            continue
        parts = _changed_parts(old[element_id], element)
        if parts:
            change_of(element, parts)
    for element_id, element in old.items():
        if element_id not in new:
            if _drawn_ancestor(element, drawn) in (None, element):
                result.removed.append(ElementChange(element_id, _label(element)))
            elif (holder := _drawn_ancestor(element, drawn)) is not None and holder.get("id") in new:
                change_of(new[str(holder.get("id"))], [_part_name(etree.QName(element).localname)])
    added = {c.id for c in result.added}
    result.changed = [c for i, c in changed.items() if i not in added]
    return result


def _drawn(xml: str) -> set[str]:
    """Ids of the elements that have a shape or an edge in the file's layout."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    return {str(e.get("bpmnElement") or e.get("dmnElementRef"))
            for e in root.iter() if isinstance(e.tag, str) and (e.get("bpmnElement") or e.get("dmnElementRef"))}


def _drawn_ancestor(element: etree._Element, drawn: set[str]) -> etree._Element | None:
    """The element itself when drawn (or when the file has no layout), else its nearest drawn ancestor."""
    if not drawn or element.get("id") in drawn:
        return element
    node = element.getparent()
    while node is not None:
        if node.get("id") in drawn:
            return node
        node = node.getparent()
    return None


def _elements(xml: str) -> dict[str, etree._Element]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    found: dict[str, etree._Element] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or _is_layout(element):
            continue
        element_id = element.get("id")
        if element_id and element is not root:
            found[element_id] = element
    return found


def _is_layout(element: etree._Element) -> bool:
    node: etree._Element | None = element
    while node is not None:
        if isinstance(node.tag, str) and etree.QName(node).namespace in _LAYOUT_NAMESPACES:
            return True
        node = node.getparent()
    return False


def _label(element: etree._Element) -> str:
    name = element.get("name") or (element.findtext("{*}text") or "").strip()
    return f"{name}（{element.get('id')}）" if name else str(element.get("id"))


def _changed_parts(old: etree._Element, new: etree._Element) -> list[str]:
    parts: list[str] = []
    for attribute in sorted(set(old.attrib) | set(new.attrib)):
        default = _DEFAULTS.get(attribute)
        if old.get(attribute, default) != new.get(attribute, default):
            parts.append(_part_name(attribute))
    old_children, new_children = _own_children(old), _own_children(new)
    for tag in sorted(set(old_children) | set(new_children)):
        if old_children.get(tag) != new_children.get(tag):
            parts.append(_part_name(tag))
    if (old.text or "").strip() != (new.text or "").strip():
        parts.append("内容")
    return sorted(set(parts), key=parts.index)


def _own_children(element: etree._Element) -> dict[str, list[str]]:
    """The element's children without an id, as canonical text, by local tag name."""
    children: dict[str, list[str]] = {}
    for child in element:
        if not isinstance(child.tag, str) or child.get("id"):
            continue
        children.setdefault(etree.QName(child).localname, []).append(_canonical(child))
    return children


def _canonical(element: etree._Element) -> str:
    attributes = " ".join(f"{k}={v!r}" for k, v in sorted(element.attrib.items()) if _DEFAULTS.get(k) != v)
    inner = "".join(_canonical(c) for c in element if isinstance(c.tag, str))
    return f"<{etree.QName(element).localname} {attributes}>{(element.text or '').strip()}{inner}</>"


def _part_name(tag_or_attribute: str) -> str:
    local = tag_or_attribute.rsplit("}", 1)[-1]
    return _PART_NAMES.get(local, local)
