"""Monitoring pages of the admin: a definition version drawn by bpmn-js with, per element, how many
instances wait there and the median time people took (the instance page uses the same viewer)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from engine.monitoring import ElementStats
from handlers.deadlines import beijing
from handlers.labels import labels_for
from handlers.usecases import monitoring

from .auth import roles_required
from .context import actor, services

bp = Blueprint("monitor", __name__, url_prefix="/admin/definitions")


def duration(seconds: float) -> str:
    """engine.monitoring.describe_duration in the reader's language: 「3天4小时」, "3 d 4 h"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("不到1分钟")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [_("%(n)s天", n=days) if days else "", _("%(n)s小时", n=hours) if hours else "",
             _("%(n)s分钟", n=minutes) if minutes and not days else ""]
    return "".join(parts).strip()


def badge(stats: ElementStats) -> str:
    """handlers.usecases.monitoring.badge in the reader's language: 「等待 3 · 中位 2小时」."""
    parts = [_("等待 %(n)s", n=stats.waiting) if stats.waiting else "",
             _("中位 %(time)s", time=duration(stats.median_seconds)) if stats.median_seconds is not None else ""]
    return " · ".join(p for p in parts if p)


@bp.get("/<int:definition_id>")
@roles_required("admin")
def definition(definition_id):
    page = monitoring.definition_monitor(services(), actor(), definition_id)
    badges = {bpmn_id: badge(s) for bpmn_id, s in page.stats.items() if badge(s)}
    diagrams = [(name, {"xml": xml, "badges": badges}) for name, xml in page.diagrams.items()]
    return render_template("admin/definition.html", page=page, diagrams=diagrams, beijing=beijing,
                           duration=duration, L=labels_for(services(), [page.definition.deployed_by]))
