"""Write docs/process-contract.md from the diagrams: where the BPMN and the code meet.

    python tools/process_contract.py          # rewrite the document
    python tools/process_contract.py --check  # exit 1 if the document is out of date

The tables are read from processes/*.bpmn, so they cannot drift from the
diagrams; the conventions above them are written here.  The test suite runs
``--check``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "process-contract.md"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
B = "{%s}" % NS["bpmn"]

CONVENTIONS = """\
# How the diagrams and the code meet

The diagrams under `processes/` decide *what happens next*; the code under
`handlers/` does the work of each step. They meet only through the names on
this page. Change a name in the diagram and in the registration together:
`netsign validate` (the deploy-time check) refuses a diagram whose service
operator, form key or lane has no binding.

This page is generated from the diagrams by `tools/process_contract.py`; the
test suite fails when it is out of date.

## Conventions
- Service task: `<spiffworkflow:serviceTaskOperator id="OPERATOR" resultVariable="VAR">`
  with `<spiffworkflow:parameter id="p" type="any" value="EXPR"/>`; each value is a
  Python expression over task data. The handler is `fn(ctx, **params) -> dict`
  (registered in `handlers/services.py`) and its dict lands in task data under `VAR`.
- User task: `<spiffworkflow:property name="formKey" value="KEY"/>` (the BPMN id is
  used when absent). The form's marshmallow schema (`handlers/forms.py`) validates
  the input; the validated data (Decimals as strings) is merged into task data, or,
  when the form has an `on_submit` hook, the dict the hook returns.
  `notCompletedBy` names earlier tasks whose performer may not complete this one.
  With `<spiffworkflow:variableName>VAR</spiffworkflow:variableName>` the form lands under
  `VAR` as one dict instead of being merged.
- Manual task and undefined task (`bpmn:task`): in the inbox like a user task; without a
  `formKey` they take the built-in empty form (a confirmation, no fields).
- Lanes: 卖方 → `seller`, 买方 → `buyer`, 窗口受理人员 → `clerk`, 审核人员 → `reviewer`,
  系统 → `system`. Citizen lanes are further limited to the parties of the
  instance's contract; staff lanes to accounts holding the role.
- Messages are correlated by the instance's business key (the contract number,
  set by `create_contract` through `ctx.set_business_key`). A message that
  arrives before the instance waits for it is kept and delivered later.
- Call activities copy the caller's task data in and the results back out.
- Expressions and scripts may use task data, `True/False/None`, the functions and
  methods listed in docs/diagram-python.md, within its budgets. No imports, no
  dunder attributes.
- Timers are `timeDate` expressions that evaluate to an aware UTC ISO string;
  the handler that creates the contract computes the deadline.
- An administrator's cancel of an instance (admin pages, API, CLI) is outside every diagram:
  the engine tells the lifecycle listener `handlers/lifecycle.py` in the same transaction.
  The unfiled contract the instance created is deleted (its waiting order expires, the home
  is free); a cancellation's hold on a filed contract is let go (已签约 again).
"""

KINDS = {
    "startEvent": "start", "endEvent": "end", "userTask": "user task", "serviceTask": "service task",
    "callActivity": "call activity", "exclusiveGateway": "gateway", "eventBasedGateway": "event gateway",
    "intermediateCatchEvent": "catch event", "boundaryEvent": "boundary event",
    "businessRuleTask": "decision (DMN)", "scriptTask": "script task", "subProcess": "sub-process",
    "parallelGateway": "parallel gateway", "inclusiveGateway": "inclusive gateway", "manualTask": "manual task",
}


def _code(text: str) -> str:
    return "`" + " ".join(text.split()).replace("|", "\\|") + "`"


def _binding(node, names: dict[str, str], flows: dict[str, list]) -> str:
    """What the element is bound to, in one table cell."""
    parts = []
    operator = node.find(".//spiff:serviceTaskOperator", NS)
    if operator is not None:
        params = ", ".join(f"{p.get('id')}={p.get('value')}" for p in operator.findall(".//spiff:parameter", NS))
        parts.append(_code(f"{operator.get('id')}({params}) → {operator.get('resultVariable')}"))
    properties = {p.get("name"): p.get("value") for p in node.findall(".//spiff:property", NS)}
    if node.tag == B + "userTask":
        parts.append(f"form {_code(properties.get('formKey') or node.get('id'))}")
    elif node.tag in (B + "manualTask", B + "task"):
        parts.append(f"form {_code(properties.get('formKey') or 'builtin:empty')}")
    if properties.get("notCompletedBy"):
        parts.append(f"not by who completed {_code(properties['notCompletedBy'])}")
    for kind in ("preScript", "postScript"):
        script = node.find(f".//spiff:{kind}", NS)
        if script is not None and (script.text or "").strip():
            parts.append(f"{kind} {_code(script.text.strip())}")
    if node.get("calledElement"):
        parts.append(f"calls {_code(node.get('calledElement'))}")
    decision = node.find(".//spiff:calledDecisionId", NS)
    if decision is not None:
        parts.append(f"decision {_code(decision.text or '')}")
    if node.get("attachedToRef"):
        interrupting = node.get("cancelActivity", "true") == "true"
        parts.append(f"on 「{names.get(node.get('attachedToRef'))}」" + ("" if interrupting else ", non-interrupting"))
    for definition in node.findall("bpmn:messageEventDefinition", NS):
        variable = definition.find(".//spiff:messageVariable", NS)
        message = names.get(definition.get("messageRef"), definition.get("messageRef"))
        parts.append(f"message {_code(message)}" + (f" → {_code(variable.text)}" if variable is not None else ""))
    for expression in node.findall("bpmn:timerEventDefinition/*", NS):
        parts.append(f"timer {etree.QName(expression).localname} {_code(expression.text or '')}")
    if node.tag.endswith("Gateway"):
        default = node.get("default")
        for flow_id, target, condition, label in flows.get(node.get("id"), []):
            guard = _code(condition) if condition else ("otherwise" if flow_id == default else "")
            parts.append(f"→ 「{names.get(target, target)}」{f' ({label})' if label else ''}: {guard}".rstrip(": "))
    return "<br>".join(parts)


def _rows(container, lanes: dict[str, str], names, flows, depth: int = 0) -> list[str]:
    rows = []
    for node in container:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if tag not in KINDS:
            continue
        label = node.get("name") or node.get("id")
        indent = "↳ " * depth
        rows.append(f"| {indent}{label} | {KINDS[tag]} | {lanes.get(node.get('id'), '')} | "
                    f"{_binding(node, names, flows)} |")
        if tag == "subProcess":
            rows += _rows(node, lanes, names, flows, depth + 1)
    return rows


def _process_section(process, names: dict[str, str], file_name: str) -> list[str]:
    lanes = {ref.text: lane.get("name") for lane in process.iter(B + "lane")
             for ref in lane.findall("bpmn:flowNodeRef", NS)}
    flows: dict[str, list] = {}
    for flow in process.iter(B + "sequenceFlow"):
        condition = flow.find("bpmn:conditionExpression", NS)
        flows.setdefault(flow.get("sourceRef"), []).append(
            (flow.get("id"), flow.get("targetRef"), condition.text if condition is not None else None, flow.get("name")))
    title = f"## `{process.get('id')}` 「{process.get('name')}」 ({file_name})"
    return [title, "", "| element | kind | lane | binding |", "|---|---|---|---|",
            *_rows(process, lanes, names, flows), ""]


def _decision_section(path: Path) -> list[str]:
    root = etree.fromstring(path.read_bytes(), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    lines = []
    for decision in root.iter("{*}decision"):
        table = decision.find("{*}decisionTable")
        inputs = [i.get("label") or i.find(".//{*}text").text for i in table.findall("{*}input")]
        outputs = [o.get("name") or o.get("label") for o in table.findall("{*}output")]
        lines += [f"## decision `{decision.get('id')}` 「{decision.get('name')}」 ({path.name})", "",
                  f"Hit policy {table.get('hitPolicy', 'UNIQUE')}; {len(table.findall('{*}rule'))} rules; "
                  f"inputs: {', '.join(_code(i) for i in inputs)}; outputs: {', '.join(_code(o) for o in outputs)}.",
                  ""]
    return lines


def render() -> str:
    lines = [CONVENTIONS]
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        root = etree.fromstring(path.read_bytes(), parser=etree.XMLParser(resolve_entities=False, no_network=True))
        names = {e.get("id"): e.get("name") or e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
        for process in root.findall("bpmn:process", NS):
            lines += _process_section(process, names, path.name)
    for path in sorted((ROOT / "processes").glob("*.dmn")):
        lines += _decision_section(path)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the document is up to date")
    args = parser.parse_args()
    text = render()
    if args.check:
        if DOCUMENT.read_text(encoding="utf-8") != text:
            print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run python tools/process_contract.py", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
