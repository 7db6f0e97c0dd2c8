"""REST API under /api/v1: the 粤信签 callback, my contracts, tasks of my roles, and admin read-outs.

Authentication is the session cookie of the web pages, except the e-sign
callback, which is authenticated by its HMAC signature (X-Signature header).
Errors are JSON ``{"message": ..., "errors": {field: [..]}}``.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine import EngineError, FormInvalid
from engine.models import Incident, InboxTask, ProcessDefinition, ProcessInstance, Timer
from handlers.models import DomainError
from handlers.signing import accept_callback
from handlers.validation import mask_id_number

from .app import get_engine
from .auth import current_actor, login_required, roles_required
from . import api_schemas as out
from .extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def receive_esign_callback(body: bytes, signature: str | None) -> bool:
    """Verify a 粤信签 callback and hand it to the engine as ``esign_party_signed``; False if a repeat."""
    key, payload, idempotency_key = accept_callback(db.session, body, signature,
                                                    current_app.config["ESIGN_CALLBACK_SECRET"])
    return get_engine().deliver_message("esign_party_signed", key, payload, idempotency_key)


@bp.post("/esign/callback")
def esign_callback():
    try:
        fresh = receive_esign_callback(request.get_data(), request.headers.get("X-Signature"))
    except PermissionError:
        return jsonify(message="回调签名无效"), 401
    except (DomainError, ValueError) as err:
        return jsonify(message=str(err)), 400
    return jsonify(accepted=True, duplicate=not fresh)


@bp.get("/contracts")
@login_required
def contracts():
    from .portal import my_contracts_query
    rows = db.session.scalars(my_contracts_query(g.account)).all()
    return jsonify(out.ContractOut(many=True).dump([{
        "contract_no": c.contract_no, "status": c.status, "channel": c.channel, "location": c.home.location,
        "deletion_deadline": c.deletion_deadline.isoformat(),
        "parties": [{"side": p.side, "name": p.name, "id_number": mask_id_number(p.id_number)}
                    for p in c.active_parties]} for c in rows]))


@bp.get("/tasks")
@login_required
def tasks():
    query = sa.select(InboxTask).where(InboxTask.state == "READY")
    staff_roles = g.roles - {"citizen"}
    if staff_roles:
        query = query.where(InboxTask.role.in_(staff_roles))
    else:
        query = query.join(ProcessInstance, ProcessInstance.id == InboxTask.instance_id).where(
            ProcessInstance.started_by == current_actor(), InboxTask.role.in_(("seller", "buyer")))
    return jsonify(out.TaskOut(many=True).dump(db.session.scalars(query.order_by(InboxTask.created_at))))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id):
    from .portal import engine_roles, task_for_me
    roles = engine_roles(task_for_me(task_id))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(message="请求体应为 JSON 对象"), 400
    result = get_engine().complete_task(task_id, data, current_actor(), roles=roles)
    return jsonify(out.StepOut().dump(result))


@bp.post("/tasks/<task_id>/claim")
@roles_required("clerk", "reviewer")
def claim(task_id):
    get_engine().claim(task_id, current_actor(), g.roles)
    return jsonify(claimed=True)


@bp.post("/tasks/<task_id>/release")
@roles_required("clerk", "reviewer")
def release(task_id):
    get_engine().release(task_id, current_actor(), g.roles)
    return jsonify(released=True)


@bp.get("/definitions")
@roles_required("admin")
def definitions():
    rows = db.session.scalars(sa.select(ProcessDefinition).order_by(ProcessDefinition.process_id,
                                                                     ProcessDefinition.version))
    return jsonify(out.DefinitionOut(many=True).dump(rows))


@bp.get("/instances")
@roles_required("admin")
def instances():
    query = sa.select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(200)
    if request.args.get("status"):
        query = query.where(ProcessInstance.status == request.args["status"])
    if request.args.get("business_key"):
        query = query.where(ProcessInstance.business_key == request.args["business_key"])
    return jsonify(out.InstanceOut(many=True).dump(db.session.scalars(query)))


@bp.get("/timers")
@roles_required("admin")
def timers():
    rows = db.session.scalars(sa.select(Timer).where(Timer.state == "waiting").order_by(Timer.due_at))
    return jsonify(out.TimerOut(many=True).dump(rows))


@bp.get("/incidents")
@roles_required("admin")
def incidents():
    rows = db.session.scalars(sa.select(Incident).where(Incident.status != "resolved"))
    return jsonify(out.IncidentOut(many=True).dump(rows))


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
def retry(incident_id):
    return jsonify(retried=get_engine().retry_incidents(incident_id=incident_id, actor=current_actor()))


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


SWAGGER_FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}


@bp.get("/docs")
def docs():
    """Swagger UI, served from the swagger-ui-bundle package's files (the machines have no internet)."""
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>API 文档</title>"
            f"<link rel='stylesheet' href='{request.script_root}/api/v1/docs/swagger-ui.css'></head><body>"
            f"<div id='swagger-ui'></div><script src='{request.script_root}/api/v1/docs/swagger-ui-bundle.js'></script>"
            f"<script>SwaggerUIBundle({{url: '{request.script_root}/api/v1/openapi.json', dom_id: '#swagger-ui'}});"
            f"</script></body></html>")


@bp.get("/docs/<name>")
def docs_asset(name):
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path
    if name not in SWAGGER_FILES:
        abort(404)
    return send_from_directory(swagger_ui_path, name)


@bp.errorhandler(EngineError)
def engine_error(err: EngineError):
    body = {"message": err.message}
    if isinstance(err, FormInvalid):
        body["errors"] = err.errors
    return jsonify(body), err.status


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    return jsonify(message=err.description), err.code


def build_openapi() -> dict:
    """The OpenAPI document, generated from the response schemas in web/api_schemas.py."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    from . import api_schemas as out

    spec = APISpec(title="中山市存量房买卖合同网签备案 API", version="1.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    for name in ("ErrorOut", "ContractOut", "TaskOut", "StepOut", "DefinitionOut", "InstanceOut", "TimerOut",
                 "IncidentOut", "CallbackOut", "FlagOut"):
        spec.components.schema(name.removesuffix("Out"), schema=getattr(out, name))

    def ref(name, many=False):
        schema = {"$ref": f"#/components/schemas/{name}"}
        return {"type": "array", "items": schema} if many else schema

    def op(summary, tag, ok, errors=(), params=(), body=None):
        responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
        for code in errors:
            responses[code] = {"description": code, "content": {"application/json": {"schema": ref("Error")}}}
        operation = {"summary": summary, "tags": [tag], "responses": responses}
        if params:
            operation["parameters"] = [{"name": p, "in": "path", "required": True,
                                        "schema": {"type": "integer" if p.endswith("_id") and p != "task_id"
                                                   else "string"}} for p in params]
        if body:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        return operation

    form_body = {"type": "object", "description": "任务表单数据；字段见该任务 form_key 对应的表单结构"}
    callback_body = {"type": "object", "properties": {"order_no": {"type": "string"}, "party_id": {"type": "integer"},
                                                      "token": {"type": "string"}, "signed_at": {"type": "string"}}}
    paths = {
        "/api/v1/esign/callback": {"post": op("粤信签签名回调（请求头 X-Signature: HMAC-SHA256）", "e-sign",
                                              ref("Callback"), ("400", "401"), body=callback_body)},
        "/api/v1/contracts": {"get": op("我的合同", "contracts", ref("Contract", True), ("401",))},
        "/api/v1/tasks": {"get": op("我可以办理的任务", "tasks", ref("Task", True), ("401",))},
        "/api/v1/tasks/{task_id}/complete": {"post": op("提交任务表单", "tasks", ref("Step"),
                                                        ("400", "401", "403", "404", "409", "422"), ["task_id"],
                                                        form_body)},
        "/api/v1/tasks/{task_id}/claim": {"post": op("认领任务", "tasks", ref("Flag"), ("401", "403", "404", "409"),
                                                     ["task_id"])},
        "/api/v1/tasks/{task_id}/release": {"post": op("释放任务", "tasks", ref("Flag"), ("401", "403", "404"),
                                                       ["task_id"])},
        "/api/v1/definitions": {"get": op("流程定义", "admin", ref("Definition", True), ("401", "403"))},
        "/api/v1/instances": {"get": op("流程实例", "admin", ref("Instance", True), ("401", "403"))},
        "/api/v1/timers": {"get": op("等待中的定时器", "admin", ref("Timer", True), ("401", "403"))},
        "/api/v1/incidents": {"get": op("异常事件", "admin", ref("Incident", True), ("401", "403"))},
        "/api/v1/incidents/{incident_id}/retry": {"post": op("重试异常事件", "admin", ref("Flag"), ("401", "403"),
                                                            ["incident_id"])},
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


OPENAPI = build_openapi()


def init_app(app):
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # JSON API: the callback is HMAC-signed; the rest rides the SameSite session cookie
