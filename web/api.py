"""REST API under /api/v1: the 粤信签 callback, my contracts, tasks I may work, and admin read-outs.

Authentication is the session cookie of the web pages, except the e-sign callback,
which is authenticated by its HMAC signature (X-Signature header). Errors are JSON
``{"message": ..., "errors": {field: [..]}}`` (web/errors.py); lists are pages of the
read model (``after``/``limit``; the next cursor in the ``X-Next-Cursor`` header).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request, send_from_directory
from marshmallow import Schema, ValidationError

from engine import Page
from handlers.usecases import Invalid, NotFound, STAFF_ROLES, admin, citizen, esign, supervision, tasks
from handlers.validation import mask_id_number

from . import api_schemas as out
from . import openapi
from .auth import login_required, roles_required
from .context import actor, services
from .openapi import documented

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _query(schema: type[Schema]) -> dict:
    try:
        return schema().load(request.args)
    except ValidationError as err:
        messages: dict = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Invalid("查询参数有误：" + "；".join(f"{k}：{'，'.join(map(str, v))}" for k, v in messages.items()),
                      messages) from err


def _page(page: Page, schema: Schema):
    response = jsonify(schema.dump(page.items))
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return response


@bp.post("/esign/callback")
@documented(summary="粤信签签名回调（请求头 X-Signature: HMAC-SHA256）", tag="e-sign", response=out.CallbackOut,
            body=out.CallbackIn, errors=("400", "401", "409"), security="esign")
def esign_callback():
    fresh = esign.receive_callback(services(), request.get_data(), request.headers.get("X-Signature"))
    return jsonify(accepted=True, duplicate=not fresh)


@bp.post("/bank/callback")
@documented(summary="资金监管银行回调：资金监管协议已签署（SIGNED），记录协议编号（请求头 X-Signature: HMAC-SHA256）",
            tag="fund-supervision", response=out.CallbackOut, body=out.BankCallbackIn, errors=("400", "401", "409"),
            security="esign")
def bank_callback():
    fresh = supervision.receive_callback(services(), request.get_data(), request.headers.get("X-Signature"))
    return jsonify(accepted=True, duplicate=not fresh)


@bp.get("/contracts")
@login_required
@documented(summary="我的合同（我创建的或作为当事人的，新的在前）", tag="contracts", response=out.ContractOut,
            many=True, query=out.PageQuery, errors=("401", "422"), paged=True)
def contracts():
    wanted = _query(out.PageQuery)
    page = citizen.my_contracts_page(services(), actor(), after=wanted.get("after"), limit=wanted["limit"])
    response = jsonify(out.ContractOut(many=True).dump([{
        "contract_no": c.contract_no, "status": c.status, "channel": c.channel, "location": c.home.location,
        "deletion_deadline": c.deletion_deadline.isoformat(),
        "parties": [{"side": p.side, "name": p.name, "id_number": mask_id_number(p.id_number)}
                    for p in c.active_parties]} for c in page.items]))
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return response


@bp.get("/contracts/<contract_no>/signing")
@login_required
@documented(summary="签名状态（合同页面据此自动刷新）：合同与电子合同订单状态、各当事人签名状态、本人的待办",
            tag="contracts", response=out.SigningStatusOut, errors=("401", "403", "404"))
def signing_status(contract_no):
    response = jsonify(out.SigningStatusOut().dump(citizen.signing_status(services(), actor(), contract_no)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tasks")
@login_required
@documented(summary="我可以办理的任务（工作人员：本角色的任务；市民：本人发起业务中的任务）", tag="tasks",
            response=out.TaskOut, many=True, query=out.PageQuery, errors=("401", "422"), paged=True)
def my_tasks():
    wanted = _query(out.PageQuery)
    page = citizen.my_tasks(services(), actor(), after=wanted.get("after"), limit=wanted["limit"],
                            newest_first=False)
    return _page(page, out.TaskOut(many=True))


@bp.post("/tasks/<task_id>/complete")
@login_required
@documented(summary="提交任务表单", tag="tasks", response=out.StepOut, body=out.TaskDataIn,
            errors=("400", "401", "403", "404", "409", "422"))
def complete(task_id):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(message="请求体应为 JSON 对象"), 400
    return jsonify(out.StepOut().dump(tasks.complete_task(services(), actor(), task_id, data)))


@bp.post("/tasks/<task_id>/claim")
@roles_required(*STAFF_ROLES)
@documented(summary="认领任务", tag="tasks", response=out.FlagOut, errors=("401", "403", "404", "409"))
def claim(task_id):
    tasks.claim(services(), actor(), task_id)
    return jsonify(claimed=True)


@bp.post("/tasks/<task_id>/release")
@roles_required(*STAFF_ROLES)
@documented(summary="释放任务", tag="tasks", response=out.FlagOut, errors=("401", "403", "404"))
def release(task_id):
    tasks.release(services(), actor(), task_id)
    return jsonify(released=True)


@bp.get("/definitions")
@roles_required("admin")
@documented(summary="流程定义及其版本", tag="admin", response=out.DefinitionOut, many=True, errors=("401", "403"))
def definitions():
    return jsonify(out.DefinitionOut(many=True).dump(admin.definitions(services(), actor())))


@bp.get("/instances")
@roles_required("admin")
@documented(summary="流程实例（新的在前）", tag="admin", response=out.InstanceOut, many=True, query=out.InstanceQuery,
            errors=("401", "403", "422"), paged=True)
def instances():
    wanted = _query(out.InstanceQuery)
    page = admin.instances(services(), actor(), process_id=wanted.get("process_id"), status=wanted.get("status"),
                           business_key=wanted.get("business_key"), after=wanted.get("after"),
                           limit=wanted["limit"])
    return _page(page, out.InstanceOut(many=True))


@bp.get("/timers")
@roles_required("admin")
@documented(summary="等待中的定时器（先到期的在前）", tag="admin", response=out.TimerOut, many=True,
            query=out.PageQuery, errors=("401", "403", "422"), paged=True)
def timers():
    wanted = _query(out.PageQuery)
    return _page(admin.timers(services(), actor(), after=wanted.get("after"), limit=wanted["limit"]),
                 out.TimerOut(many=True))


@bp.get("/incidents")
@roles_required("admin")
@documented(summary="未解决的异常事件", tag="admin", response=out.IncidentOut, many=True, query=out.PageQuery,
            errors=("401", "403", "422"), paged=True)
def incidents():
    wanted = _query(out.PageQuery)
    return _page(admin.incidents(services(), actor(), after=wanted.get("after"), limit=wanted["limit"]),
                 out.IncidentOut(many=True))


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
@documented(summary="立即重试异常事件", tag="admin", response=out.FlagOut, errors=("401", "403"))
def retry(incident_id):
    try:
        _, retried = admin.retry_incident(services(), actor(), incident_id)
    except NotFound:
        retried = 0  # the API answers a count; an unknown incident is simply none retried
    return jsonify(retried=retried)


@bp.get("/openapi.json")
def openapi_document():
    document = current_app.extensions.get("netsign_openapi")
    if document is None:
        document = current_app.extensions["netsign_openapi"] = openapi.build(current_app)
    return jsonify(document)


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
    from swagger_ui_bundle import swagger_ui_path
    if name not in SWAGGER_FILES:
        abort(404)
    return send_from_directory(swagger_ui_path, name)


# Endpoints that are the document itself, not operations of the API.
NOT_OPERATIONS = ("api.openapi_document", "api.docs", "api.docs_asset")
