"""The BPMN path-coverage report of a test run, drawn by the same bpmn-js viewer as the admin pages:
flows taken green, flows no test took red and dashed. One self-contained HTML file (the viewer is inlined,
so the report opens from artifacts/ without a server)."""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

BUILD = Path(__file__).resolve().parent / "static" / "build"


def render_coverage_html(coverage, sources: dict[str, str]) -> str | None:
    """None when the viewer bundle is not built (``make setup`` builds it): the text summary stays."""
    script, style = BUILD / "viewer.js", BUILD / "viewer.css"
    if not script.exists() or not style.exists():
        return None
    parts = ["<!doctype html><meta charset='utf-8'><title>BPMN 路径覆盖</title>",
             f"<style>body{{font-family:sans-serif;margin:24px}}.ok{{color:#2f8a4c}}.bad{{color:#d4380d}}"
             f"{_font_free(style.read_text(encoding='utf-8'))}</style>",
             "<h1>BPMN 顺序流覆盖率</h1>"]
    for fc in coverage:
        covered, missing = sorted(fc.covered), sorted(f.id for f in fc.missing)
        cls = "ok" if not missing else "bad"
        parts.append(f"<h2>{escape(fc.file)} <span class='{cls}'>{len(covered)}/{len(fc.flows)} "
                     f"({fc.percent:.1f}%)</span></h2>")
        if fc.missing:
            parts.append("<ul>" + "".join(f"<li class='bad'>{escape(f.id)}: {escape(f.source)} → {escape(f.target)}"
                                          f"{' 「' + escape(f.name) + '」' if f.name else ''}</li>" for f in fc.missing)
                         + "</ul>")
        done = sorted({f.source for f in fc.flows if f.id in fc.covered} | {f.target for f in fc.flows if f.id in fc.covered})
        data = {"xml": sources[fc.file], "done": done, "flows_taken": covered, "flows_missing": missing}
        payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        parts.append(f"<div class='bpmn-monitor'><div class='bpmn-canvas'></div>"
                     f"<script type='application/json'>{payload}</script></div>")
    parts.append(f"<script>{script.read_text(encoding='utf-8')}</script>")
    return "".join(parts)


def _font_free(css: str) -> str:
    """The viewer's stylesheet without the icon font it loads from a file next to it (the report would not
    find it); the same font embedded as data stays."""
    return re.sub(r'@font-face\{[^}]*url\("\./[^}]*\}', "", css)
