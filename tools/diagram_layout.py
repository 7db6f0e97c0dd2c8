"""The layout of the BPMN diagrams, checked (``make test``) and tidied (``python tools/diagram_layout.py --fix``).

What an analyst reading a diagram must be able to trust:
- shapes do not overlap, and no sequence flow runs through a shape it does not start or end at;
- every label sits by its own element (an edge's label closer to that edge than to any other), over no shape
  and over no other label;
- exclusive gateways show their "X" (``isMarkerVisible``), and a gateway that splits is named as a question
  (a merge may stay unnamed).

``--fix`` moves labels (never shapes or edges) to the first free spot around their element, and turns the
gateway markers on; run it after drawing, then look at the diagram.
"""
from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
CONTAINERS = {"participant", "lane", "textAnnotation", "group", "dataObjectReference", "dataStoreReference"}
LABEL_DISTANCE = 45  # an edge label further than this from its edge reads as someone else's

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass
class Diagram:
    root: etree._Element
    elements: dict[str, etree._Element]
    nodes: dict[str, tuple[str, Box]]  # id → (kind, bounds) of flow nodes
    edges: dict[str, list[Point]]
    label_bounds: dict[str, etree._Element]  # element id → its label's dc:Bounds


def read(path: Path) -> tuple[etree._ElementTree, Diagram]:
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    root = tree.getroot()
    elements = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    nodes, edges, labels = {}, {}, {}
    for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        element = elements.get(shape.get("bpmnElement"))
        kind = etree.QName(element).localname if element is not None else "?"
        if kind not in CONTAINERS:
            nodes[shape.get("bpmnElement")] = (kind, _box(shape.find("dc:Bounds", NS)))
        label = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            labels[shape.get("bpmnElement")] = label
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        edges[edge.get("bpmnElement")] = [(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)]
        label = edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            labels[edge.get("bpmnElement")] = label
    return tree, Diagram(root, elements, nodes, edges, labels)


def _box(bounds: etree._Element) -> Box:
    return tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _through(p: Point, q: Point, box: Box, inset: float = 2) -> bool:
    """Does the segment p→q cross the inside of ``box`` (shrunk by ``inset``)?"""
    x, y, w, h = box[0] + inset, box[1] + inset, box[2] - 2 * inset, box[3] - 2 * inset
    t0, t1 = 0.0, 1.0
    for delta, start, low, high in ((q[0] - p[0], p[0], x, x + w), (q[1] - p[1], p[1], y, y + h)):
        if delta == 0:
            if start <= low or start >= high:
                return False
            continue
        a, b = sorted(((low - start) / delta, (high - start) / delta))
        t0, t1 = max(t0, a), min(t1, b)
    return t0 < t1


def _distance(point: Point, polyline: list[Point]) -> float:
    best = math.inf
    for (x1, y1), (x2, y2) in zip(polyline, polyline[1:]):
        dx, dy = x2 - x1, y2 - y1
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((point[0] - x1) * dx + (point[1] - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(point[0] - x1 - t * dx, point[1] - y1 - t * dy))
    return best


def _center(box: Box) -> Point:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _attached(diagram: Diagram, a: str, b: str) -> bool:
    return diagram.elements[a].get("attachedToRef") == b or diagram.elements[b].get("attachedToRef") == a


def problems(diagram: Diagram) -> list[str]:
    found = []
    for (a, (kind_a, box_a)), (b, (kind_b, box_b)) in itertools.combinations(diagram.nodes.items(), 2):
        if "subProcess" not in (kind_a, kind_b) and not _attached(diagram, a, b) and _overlap(box_a, box_b):
            found.append(f"图形重叠：{a} 与 {b}")
    for edge_id, points in diagram.edges.items():
        element = diagram.elements[edge_id]
        ends = {element.get("sourceRef"), element.get("targetRef")}
        for node_id, (kind, box) in diagram.nodes.items():
            if node_id in ends or kind == "subProcess" or any(_attached(diagram, node_id, e) for e in ends if e):
                continue
            if any(_through(p, q, box) for p, q in zip(points, points[1:])):
                found.append(f"连线 {edge_id} 穿过 {node_id}")
    labels = {i: _box(b) for i, b in diagram.label_bounds.items()}
    for (a, box_a), (b, box_b) in itertools.combinations(labels.items(), 2):
        if _overlap(box_a, box_b):
            found.append(f"标签重叠：{a} 与 {b}")
    for label_id, box in labels.items():
        for node_id, (_, node_box) in diagram.nodes.items():
            if node_id != label_id and _overlap(box, node_box):
                found.append(f"{label_id} 的标签压在 {node_id} 上")
        if label_id in diagram.edges:
            own = _distance(_center(box), diagram.edges[label_id])
            nearest = min(((_distance(_center(box), pts), e) for e, pts in diagram.edges.items()), default=(own, label_id))
            if own > LABEL_DISTANCE or (nearest[1] != label_id and nearest[0] + 1 < own):
                found.append(f"{label_id} 的标签离它的连线太远（更靠近 {nearest[1]}）")
    for shape in diagram.root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        element = diagram.elements.get(shape.get("bpmnElement"))
        if element is not None and etree.QName(element).localname == "exclusiveGateway" \
                and shape.get("isMarkerVisible") != "true":
            found.append(f"排他网关 {element.get('id')} 没有显示「X」标记")
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in diagram.root.iter(f"{{{NS['bpmn']}}}{kind}"):
            if len(gateway.findall("bpmn:outgoing", NS)) > 1 and not gateway.get("name"):
                found.append(f"分支网关 {gateway.get('id')} 没有名称（应写成一个问题）")
    return found


def fix(diagram: Diagram) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """Markers on; every label that is in the way or far from its element moved to the first free spot.

    Returns the gateways whose marker to turn on and the labels' new positions, for :func:`patch`."""
    markers = []
    for shape in diagram.root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        element = diagram.elements.get(shape.get("bpmnElement"))
        if element is not None and etree.QName(element).localname == "exclusiveGateway" \
                and shape.get("isMarkerVisible") != "true":
            markers.append(str(shape.get("bpmnElement")))
    moved: dict[str, tuple[float, float]] = {}
    placed: dict[str, Box] = {}
    order = sorted(diagram.label_bounds, key=lambda i: (i not in diagram.nodes, i))  # shape labels first
    for label_id in order:
        bounds = diagram.label_bounds[label_id]
        current = _box(bounds)
        if _free(diagram, label_id, current, placed) and _near(diagram, label_id, current):
            placed[label_id] = current
            continue
        # First a spot no edge crosses; failing that, one that only touches an edge (still readable).
        for strict in (True, False):
            spot = next((c for c in _candidates(diagram, label_id, current[2], current[3])
                         if _free(diagram, label_id, c, placed, strict) and _near(diagram, label_id, c)), None)
            if spot is not None:
                moved[label_id] = (spot[0], spot[1])
                placed[label_id] = spot
                break
        else:
            placed[label_id] = current
    return markers, moved


def patch(text: str, markers: list[str], moved: dict[str, tuple[float, float]]) -> str:
    """Apply :func:`fix`'s changes to the file's own text: everything else (quoting, line breaks, the
    analysts' formatting) stays as it was, so the diff shows only what moved."""
    for element_id in markers:
        text = re.sub(rf'(<bpmndi:BPMNShape\b[^>]*\bbpmnElement="{re.escape(element_id)}")',
                      r'\1 isMarkerVisible="true"', text, count=1)
    for element_id, (x, y) in moved.items():
        pattern = re.compile(rf'(<bpmndi:BPMN(?:Shape|Edge)\b[^>]*\bbpmnElement="{re.escape(element_id)}".*?'
                             rf'<bpmndi:BPMNLabel>\s*<dc:Bounds\s+)x="[^"]*"\s+y="[^"]*"', re.S)
        text = pattern.sub(rf'\g<1>x="{x:.0f}" y="{y:.0f}"', text, count=1)
    return text

def _free(diagram: Diagram, label_id: str, box: Box, placed: dict[str, Box], strict: bool = True) -> bool:
    if any(node_id != label_id and _overlap(box, node_box) for node_id, (_, node_box) in diagram.nodes.items()):
        return False
    if any(_overlap(box, other) for other in placed.values()):
        return False
    if not strict:
        return True
    return not any(e != label_id and any(_through(p, q, box, inset=0) for p, q in zip(pts, pts[1:]))
                   for e, pts in diagram.edges.items())


def _near(diagram: Diagram, label_id: str, box: Box) -> bool:
    if label_id not in diagram.edges:
        return True
    own = _distance(_center(box), diagram.edges[label_id])
    return own <= LABEL_DISTANCE and all(_distance(_center(box), pts) + 1 >= own
                                         for e, pts in diagram.edges.items() if e != label_id)


def _candidates(diagram: Diagram, label_id: str, width: float, height: float):
    """Spots around a shape (below, above, right, left), or along an edge's segments near its start."""
    if label_id in diagram.nodes:
        x, y, w, h = diagram.nodes[label_id][1]
        cx = x + w / 2 - width / 2
        for gap in (4, 10, 20):
            yield cx, y + h + gap, width, height
            yield cx, y - height - gap, width, height
            yield x + w + gap, y + h / 2 - height / 2, width, height
            yield x - width - gap, y + h / 2 - height / 2, width, height
            yield x + w + gap, y - height - gap, width, height
            yield x - width - gap, y - height - gap, width, height
        return
    points = diagram.edges[label_id]
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        length = math.hypot(x2 - x1, y2 - y1) or 1
        for t in (0.5, 0.3, 0.7, 0.15, 0.85):
            px, py = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
            if abs(y2 - y1) < abs(x2 - x1):  # horizontal: above, then below
                spots = [(px - width / 2, py - height - 3), (px - width / 2, py + 3)]
            else:  # vertical: right, then left
                spots = [(px + 4, py - height / 2), (px - width - 4, py - height / 2)]
            for sx, sy in spots:
                yield sx, sy, width, height
        if length > 0:
            continue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--fix", action="store_true", help="move labels and turn gateway markers on, in place")
    args = parser.parse_args(argv)
    files = args.files or sorted(Path(__file__).resolve().parents[1].joinpath("processes").glob("*.bpmn"))
    failed = 0
    for path in files:
        tree, diagram = read(path)
        if args.fix:
            markers, moved = fix(diagram)
            path.write_text(patch(path.read_text(encoding="utf-8"), markers, moved), encoding="utf-8")
            tree, diagram = read(path)
        found = problems(diagram)
        failed += len(found)
        print(f"{path.name}: {'ok' if not found else f'{len(found)} 个布局问题'}")
        for problem in found:
            print("  ", problem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
