"""Monitoring pages of the admin: a definition version drawn by bpmn-js with, per element, how many
instances wait there and the median time people took (the instance page uses the same viewer)."""
from __future__ import annotations

from flask import Blueprint, render_template

from handlers.deadlines import beijing
from handlers.usecases import monitoring

from .auth import roles_required
from .context import actor, services

bp = Blueprint("monitor", __name__, url_prefix="/admin/definitions")


@bp.get("/<int:definition_id>")
@roles_required("admin")
def definition(definition_id):
    page = monitoring.definition_monitor(services(), actor(), definition_id)
    diagrams = [(name, {"xml": xml, "badges": page.badges}) for name, xml in page.diagrams.items()]
    return render_template("admin/definition.html", page=page, diagrams=diagrams, beijing=beijing)
