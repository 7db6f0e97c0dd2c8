"""Draw a BPMN diagram as SVG on the server, from its DI, with a path and current tasks highlighted.

Used by the admin instance page and by the test run's coverage report. Only
the DI shapes and edges are drawn (pools, lanes, tasks, events, gateways,
flows with their labels); every text is escaped.
"""
from __future__ import annotations

from collections.abc import Collection
from html import escape

from lxml import etree

from engine.specs import SAFE_XML_PARSER

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
TASKS = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
         "receiveTask", "callActivity", "subProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}

STYLE = """
.lane{fill:#fbfcfe;stroke:#9aa7b8;stroke-width:1}.pool{fill:#fff;stroke:#56657a;stroke-width:1.4}
.lanelabel{font-size:13px;fill:#33475b}.node{fill:#fff;stroke:#44546a;stroke-width:1.6}
.call{stroke-width:3.2}.end{stroke-width:3.4}.label{font-size:12px;fill:#1f2d3d}
.flow{fill:none;stroke:#7d8a9c;stroke-width:1.3}.flowlabel{font-size:11px;fill:#4a5a6e}
.done .node{fill:#e3f4e8;stroke:#2f8a4c}.done.flow,.flow.done{stroke:#2f8a4c;stroke-width:2.4}
.current .node{fill:#fff4d6;stroke:#d48806;stroke-width:3}.missing.flow{stroke:#d4380d;stroke-dasharray:5 3}
.icon{fill:none;stroke:#44546a;stroke-width:1.2}
"""


def _bounds(shape) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    x, y, width, height = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    return x, y, width, height


def _wrap(text: str, width_px: float, size: int = 12) -> list[str]:
    per_line = max(1, int(width_px // size))
    return [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]


def _text(x: float, y: float, text: str, width: float, cls: str = "label") -> str:
    lines = _wrap(text, width)
    start = y - (len(lines) - 1) * 7
    return "".join(f'<text class="{cls}" x="{x:.0f}" y="{start + i * 14:.0f}" text-anchor="middle" '
                   f'dominant-baseline="middle">{escape(line)}</text>' for i, line in enumerate(lines))


def render_svg(bpmn_xml: str, *, done: Collection[str] = frozenset(), current: Collection[str] = frozenset(),
               done_flows: Collection[str] | None = None,
               missing_flows: Collection[str] = frozenset()) -> str | None:
    """SVG of the first diagram in ``bpmn_xml``; None when the file has no DI.

    ``done``/``current``: element ids to highlight. ``done_flows``: flow ids taken
    (by default: flows whose both ends are done). ``missing_flows``: flows to mark as not taken.
    """
    done, current = set(done), set(current)
    root = etree.fromstring(bpmn_xml.encode("utf-8"), parser=SAFE_XML_PARSER)
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    if plane is None or not len(plane):
        return None
    elements = {e.get("id"): e for e in root.iter() if e.get("id")}
    shapes: list[str] = []
    edges: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for shape in plane.findall("bpmndi:BPMNShape", NS):
        x, y, w, h = _bounds(shape)
        xs += [x, x + w]
        ys += [y, y + h]
        element = elements.get(shape.get("bpmnElement"))
        if element is not None:
            _add_shape(shapes, element, (x, y, w, h), done, current)
    for edge in plane.findall("bpmndi:BPMNEdge", NS):
        element = elements.get(edge.get("bpmnElement"))
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        if element is None or len(points) < 2:
            continue
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
        fid = element.get("id")
        taken = fid in done_flows if done_flows is not None else (
            element.get("sourceRef") in done and element.get("targetRef") in done | current)
        cls = "flow done" if taken else ("flow missing" if fid in missing_flows else "flow")
        edges.append(_edge_svg(element, points, cls))
    return _svg_document(xs, ys, shapes, edges)


def _add_shape(shapes: list[str], element, box: tuple[float, float, float, float],
               done: set[str], current: set[str]) -> None:
    """Add an element's drawing: pools and lanes go underneath everything else."""
    x, y, w, h = box
    kind = etree.QName(element).localname
    name = element.get("name") or ""
    eid = element.get("id")
    state = "current" if eid in current else "done" if eid in done else ""
    if kind == "participant":
        shapes.insert(0, f'<rect class="pool" x="{x}" y="{y}" width="{w}" height="{h}"/>'
                         f'<text class="lanelabel" transform="translate({x + 15},{y + h / 2}) rotate(-90)" '
                         f'text-anchor="middle">{escape(name)}</text>')
    elif kind == "lane":
        shapes.insert(1, f'<rect class="lane" x="{x}" y="{y}" width="{w}" height="{h}"/>'
                         f'<text class="lanelabel" transform="translate({x + 14},{y + h / 2}) rotate(-90)" '
                         f'text-anchor="middle">{escape(name)}</text>')
    elif kind in TASKS:
        shapes.append(_task_svg(kind, name, eid, state, box))
    elif kind in EVENTS:
        shapes.append(_event_svg(element, kind, name, eid, state, box))
    elif kind in GATEWAYS:
        cx, cy = x + w / 2, y + h / 2
        mark = "✕" if kind == "exclusiveGateway" and name == "" else ("⬠" if kind == "eventBasedGateway" else "")
        shapes.append(f'<g class="{state}" data-id="{escape(eid)}"><polygon class="node" points="{cx},{y} {x + w},{cy} '
                      f'{cx},{y + h} {x},{cy}"/><text class="label" x="{cx}" y="{cy}" text-anchor="middle" '
                      f'dominant-baseline="middle">{mark}</text>{_text(cx, y - 14, name, 120)}</g>')


def _task_svg(kind: str, name: str, eid: str, state: str, box: tuple[float, float, float, float]) -> str:
    x, y, w, h = box
    cls = "node call" if kind == "callActivity" else "node"
    icon = {"serviceTask": "⚙", "businessRuleTask": "▦", "callActivity": "⊞"}.get(kind, "")
    marker = (f'<circle class="icon" cx="{x + 14}" cy="{y + 11}" r="4"/>'
              f'<path class="icon" d="M{x + 7},{y + 24} q7,-10 14,0"/>') if kind == "userTask" else \
        f'<text class="label" x="{x + 8}" y="{y + 14}">{icon}</text>'
    return (f'<g class="{state}" data-id="{escape(eid)}"><rect class="{cls}" x="{x}" y="{y}" width="{w}" '
            f'height="{h}" rx="10"/>{marker}{_text(x + w / 2, y + h / 2, name, w - 10)}</g>')


def _event_svg(element, kind: str, name: str, eid: str, state: str, box: tuple[float, float, float, float]) -> str:
    x, y, w, h = box
    r = w / 2
    cls = "node end" if kind == "endEvent" else "node"
    inner = ""
    if element.find("bpmn:timerEventDefinition", NS) is not None:
        inner = f'<circle class="icon" cx="{x + r}" cy="{y + r}" r="{r * 0.55}"/>' \
                f'<path class="icon" d="M{x + r} {y + r} V{y + r * 0.6} M{x + r} {y + r} H{x + r * 1.35}"/>'
    elif element.find("bpmn:messageEventDefinition", NS) is not None:
        inner = f'<rect class="icon" x="{x + r * 0.5}" y="{y + r * 0.65}" width="{r}" height="{r * 0.7}"/>'
    if kind in ("intermediateCatchEvent", "boundaryEvent"):
        inner = f'<circle class="icon" cx="{x + r}" cy="{y + r}" r="{r - 3}"/>' + inner
    return (f'<g class="{state}" data-id="{escape(eid)}"><circle class="{cls}" cx="{x + r}" cy="{y + r}" '
            f'r="{r}"/>{inner}{_text(x + r, y + h + 14, name, 110)}</g>')


def _edge_svg(element, points: list[tuple[float, float]], cls: str) -> str:
    fid = element.get("id")
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.0f},{y:.0f}" for i, (x, y) in enumerate(points))
    label = ""
    if element.get("name"):
        lx, ly = points[0][0] + (points[1][0] - points[0][0]) / 2, points[0][1] + (points[1][1] - points[0][1]) / 2
        label = f'<text class="flowlabel" x="{lx + 4:.0f}" y="{ly - 5:.0f}">{escape(element.get("name"))}</text>'
    return f'<g data-id="{escape(fid)}"><path class="{cls}" d="{path}" marker-end="url(#arrow)"/>{label}</g>'


def _svg_document(xs: list[float], ys: list[float], shapes: list[str], edges: list[str]) -> str:
    min_x, min_y = min(xs) - 20, min(ys) - 30
    width, height = max(xs) - min_x + 20, max(ys) - min_y + 40
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" viewBox="{min_x:.0f} {min_y:.0f} {width:.0f} '
            f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" font-family="WenQuanYi Zen Hei, sans-serif">'
            f'<style>{STYLE}</style><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#7d8a9c"/></marker></defs>'
            + "".join(shapes) + "".join(edges) + "</svg>")


def render_coverage_html(coverage, sources: dict[str, str]) -> str:
    """One page: per diagram, the flow coverage and the diagram with taken flows green, missing red dashed."""
    parts = ["<!doctype html><meta charset='utf-8'><title>BPMN 路径覆盖</title>",
             "<style>body{font-family:sans-serif;margin:24px}h2{margin-top:32px}.ok{color:#2f8a4c}"
             ".bad{color:#d4380d}svg{max-width:100%;height:auto;border:1px solid #ddd}</style>",
             "<h1>BPMN 顺序流覆盖率</h1>"]
    for fc in coverage:
        covered, missing = fc.covered, {f.id for f in fc.missing}
        done = {f.source for f in fc.flows if f.id in covered} | {f.target for f in fc.flows if f.id in covered}
        cls = "ok" if not missing else "bad"
        parts.append(f"<h2>{escape(fc.file)} <span class='{cls}'>{len(covered)}/{len(fc.flows)} "
                     f"({fc.percent:.1f}%)</span></h2>")
        if missing:
            parts.append("<ul>" + "".join(f"<li class='bad'>{escape(f.id)}: {escape(f.source)} → {escape(f.target)}"
                                          f"{' 「' + escape(f.name) + '」' if f.name else ''}</li>" for f in fc.missing)
                         + "</ul>")
        svg = render_svg(sources[fc.file], done=done, done_flows=covered, missing_flows=missing)
        parts.append(svg or "<p>（该文件没有图形信息）</p>")
    return "".join(parts)
