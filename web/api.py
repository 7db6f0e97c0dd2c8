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
from handlers.deadlines import BEIJING
from handlers.labels import labels_for
from handlers.usecases import (Invalid, NotFound, STAFF_ROLES, admin, citizen, esign, instances as ops, lists,
                               supervision, tasks)
from handlers.validation import mask_id_number

from . import api_schemas as out
from . import openapi
from .auth import login_required, roles_required
from .context import actor, services
from .i18n import translate
from .openapi import documented

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _query(schema: type[Schema]) -> dict:
    try:
        return schema().load(request.args)
    except ValidationError as err:
        messages: dict = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Invalid("查询参数有误：" + "；".join(f"{k}：{'，'.join(map(str, v))}" for k, v in messages.items()),
                      messages) from err


def _page(page: Page | lists.AdminList, schema: Schema, extra=None):
    """A page as JSON; ``extra(item)`` adds fields (the ``*_label`` names) to each item's dump."""
    dumped = schema.dump(page.items)
    if extra is not None:
        for data, item in zip(dumped, page.items):
            data.update(extra(item))
    response = jsonify(dumped)
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total.value)
        if page.total.capped:
            response.headers["X-Total-Capped"] = "true"
    return response


def _filter(wanted: dict) -> lists.ListFilter:
    return lists.ListFilter(process=wanted.get("process_id"), status=wanted.get("status"), kind=wanted.get("kind"),
                            actor=wanted.get("actor"), day_from=wanted.get("from_"), day_to=wanted.get("to"),
                            after=wanted.get("after"), limit=wanted["limit"])


def _of_instance(found: lists.AdminList):
    """The process of each row's instance (timers, incidents), by id and by name."""
    def extra(item) -> dict:
        owner = found.instances.get(item.instance_id)
        process_id = owner.process_id if owner is not None else None
        return {"process_id": process_id, "process_label": found.labels.process(process_id)}
    return extra


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
    page = citizen.my_contracts_page(services(), actor(), after=wanted.get("after"), limit=wanted["limit"],
                                     total=True)
    deadlines = citizen.contract_deadlines(services(), page.items)
    response = jsonify(out.ContractOut(many=True).dump([{
        "contract_no": c.contract_no, "status": c.status, "channel": c.channel, "location": c.home.location,
        "deletion_deadline": deadlines[c.contract_no].astimezone(BEIJING).isoformat()
        if c.contract_no in deadlines else None,
        "parties": [{"side": p.side, "name": p.name, "id_number": mask_id_number(p.id_number)}
                    for p in c.active_parties]} for c in page.items]))
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total.value)
        if page.total.capped:
            response.headers["X-Total-Capped"] = "true"
    return response


@bp.get("/contracts/<contract_no>/signing")
@login_required
@documented(summary="签名状态（合同页面据此自动刷新）：合同与电子合同订单状态、各当事人签名状态、本人的待办",
            tag="contracts", response=out.SigningStatusOut, errors=("401", "403", "404"))
def signing_status(contract_no):
    status = out.SigningStatusOut().dump(citizen.signing_status(services(), actor(), contract_no))
    status["status_label"] = translate(status["status"])
    for task in status.get("tasks") or []:
        task["name_label"] = translate(task["name"])
    if status.get("order"):
        status["order"]["status_label"] = translate(status["order"]["status"])
        for signature in status["order"]["signatures"]:
            signature["status_label"] = translate(signature["status"])
    response = jsonify(status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tasks")
@login_required
@documented(summary="我可以办理的任务（工作人员：本角色的任务；市民：本人发起业务中的任务）", tag="tasks",
            response=out.TaskOut, many=True, query=out.PageQuery, errors=("401", "422"), paged=True)
def my_tasks():
    wanted = _query(out.PageQuery)
    page = citizen.my_tasks(services(), actor(), after=wanted.get("after"), limit=wanted["limit"],
                            newest_first=False, total=True)
    names = labels_for(services())
    return _page(page, out.TaskOut(many=True), lambda t: {"process_label": names.process(t.process_id)})


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
    found = admin.definitions(services(), actor())
    names = labels_for(services(), [d.deployed_by for d in found])
    dumped = out.DefinitionOut(many=True).dump(found)
    for data, definition in zip(dumped, found):
        data["deployed_by_label"] = names.person(definition.deployed_by)
    return jsonify(dumped)


@bp.get("/instances")
@roles_required("admin")
@documented(summary="流程实例（新的在前）", tag="admin", response=out.InstanceOut, many=True, query=out.InstanceQuery,
            errors=("401", "403", "422"), paged=True)
def instances():
    wanted = _query(out.InstanceQuery)
    key = wanted.get("business_key")
    page = admin.instances(services(), actor(), process_id=labels_for(services()).process_id_for(wanted.get("process_id")),
                           status=wanted.get("status"), business_key=key,
                           business_key_prefix=wanted.get("business_key_prefix"), after=wanted.get("after"),
                           limit=wanted["limit"], total=True)
    names = labels_for(services(), [i.started_by for i in page.items])
    return _page(page, out.InstanceOut(many=True), lambda i: {
        "process_label": names.process(i.process_id), "started_by_label": names.person(i.started_by)})


@bp.get("/timers")
@roles_required("admin")
@documented(summary="等待中的定时器（先到期的在前；可按流程和到期日期筛选）", tag="admin", response=out.TimerOut,
            many=True, query=out.TimerQuery, errors=("401", "403", "422"), paged=True)
def timers():
    found = lists.timers(services(), actor(), _filter(_query(out.TimerQuery)))
    return _page(found, out.TimerOut(many=True), _of_instance(found))


@bp.get("/incidents")
@roles_required("admin")
@documented(summary="异常事件（默认未解决的；可按流程、状态和发生日期筛选）", tag="admin", response=out.IncidentOut,
            many=True, query=out.IncidentQuery, errors=("401", "403", "422"), paged=True)
def incidents():
    found = lists.incidents(services(), actor(), _filter(_query(out.IncidentQuery)))
    return _page(found, out.IncidentOut(many=True), _of_instance(found))


@bp.get("/audit")
@roles_required("admin")
@documented(summary="审计记录（新的在前）：实例事件、部署、密码重置、账号变更；可按事件、操作人和日期筛选", tag="admin",
            response=out.AuditOut, many=True, query=out.AuditQuery, errors=("401", "403", "422"), paged=True)
def audit():
    found = lists.audit(services(), actor(), _filter(_query(out.AuditQuery)))
    return _page(found, out.AuditOut(many=True), lambda e: {"actor_label": found.labels.person(e.actor)})


@bp.post("/incidents/<int:incident_id>/retry")
@roles_required("admin")
@documented(summary="立即重试异常事件", tag="admin", response=out.FlagOut, errors=("401", "403"))
def retry(incident_id):
    try:
        _, retried = admin.retry_incident(services(), actor(), incident_id)
    except NotFound:
        retried = 0  # the API answers a count; an unknown incident is simply none retried
    return jsonify(retried=retried)


def _body(schema: type[Schema]) -> dict:
    data = request.get_json(silent=True)
    try:
        return schema().load(data if isinstance(data, dict) else {})
    except ValidationError as err:
        messages: dict = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Invalid("请求内容有误：" + "；".join(f"{k}：{'，'.join(map(str, v))}" for k, v in messages.items()),
                      messages) from err


@bp.post("/instances/<int:instance_id>/cancel")
@roles_required("admin")
@documented(summary="取消流程实例（须填原因；关闭其待办和定时器）", tag="admin", response=out.OperationOut,
            body=out.ReasonIn, errors=("401", "403", "404", "409", "422"))
def cancel_instance(instance_id):
    status = ops.cancel(services(), actor(), instance_id, _body(out.ReasonIn)["reason"])
    return jsonify(instance_id=instance_id, status=status)


@bp.post("/instances/<int:instance_id>/suspend")
@roles_required("admin")
@documented(summary="暂停流程实例（定时器不触发，消息保留，任务不能办理）", tag="admin", response=out.OperationOut,
            body=out.ReasonIn, errors=("401", "403", "404", "409"))
def suspend_instance(instance_id):
    ops.suspend(services(), actor(), instance_id, _body(out.ReasonIn)["reason"])
    return jsonify(instance_id=instance_id, status="suspended")


@bp.post("/instances/<int:instance_id>/resume")
@roles_required("admin")
@documented(summary="恢复已暂停的流程实例（期间到期的定时器立即触发一次）", tag="admin", response=out.OperationOut,
            errors=("401", "403", "404", "409"))
def resume_instance(instance_id):
    return jsonify(instance_id=instance_id, status=ops.resume(services(), actor(), instance_id))


@bp.get("/instances/<int:instance_id>/reset-points")
@roles_required("admin")
@documented(summary="可退回到的已完成任务", tag="admin", response=out.ResetPointOut, many=True,
            errors=("401", "403", "404"))
def reset_points(instance_id):
    return jsonify(out.ResetPointOut(many=True).dump(ops.reset_points(services(), actor(), instance_id)))


@bp.post("/instances/<int:instance_id>/reset")
@roles_required("admin")
@documented(summary="退回到已完成的任务（其后的任务重新办理）", tag="admin", response=out.OperationOut,
            body=out.ResetIn, errors=("401", "403", "404", "409", "422"))
def reset_instance(instance_id):
    wanted = _body(out.ResetIn)
    ops.reset(services(), actor(), instance_id, wanted["task_id"], wanted["reason"])
    return jsonify(instance_id=instance_id, status="running")


@bp.get("/definitions/<process_id>/migration")
@roles_required("admin")
@documented(summary="迁移演练：每个未结束实例能否迁移到目标版本、等待中的任务对应到哪里、哪些会重新计算",
            tag="admin", response=out.MigrationPlanOut, many=True, query=out.MigrationQuery,
            errors=("401", "403", "404", "422"))
def migration_report(process_id):
    wanted = _query(out.MigrationQuery)
    report = ops.migration_report(services(), actor(), process_id, wanted.get("to_definition_id"))
    return jsonify(out.MigrationPlanOut(many=True).dump(report.plans))


@bp.post("/definitions/<process_id>/migrate")
@roles_required("admin")
@documented(summary="迁移实例到目标版本（每个实例一个事务，失败的不影响其他实例；保留迁移前快照）",
            tag="admin", response=out.MigrationOutcomeOut, many=True, body=out.MigrateIn,
            errors=("401", "403", "404", "422"))
def migrate(process_id):
    wanted = _body(out.MigrateIn)
    outcomes = ops.migrate(services(), actor(), process_id, wanted["to_definition_id"],
                           instance_ids=wanted["instance_ids"], business_key_prefix=wanted["business_key_prefix"])
    return jsonify(out.MigrationOutcomeOut(many=True).dump(outcomes))


@bp.get("/instances/<int:instance_id>/snapshots")
@roles_required("admin")
@documented(summary="实例的迁移前快照", tag="admin", response=out.SnapshotOut, many=True, errors=("401", "403"))
def instance_snapshots(instance_id):
    return jsonify(out.SnapshotOut(many=True).dump(ops.snapshots(services(), actor(), instance_id=instance_id)))


@bp.post("/snapshots/<int:snapshot_id>/revert")
@roles_required("admin")
@documented(summary="还原迁移：实例回到迁移前的版本和状态", tag="admin", response=out.OperationOut,
            errors=("401", "403", "404", "409"))
def revert_migration(snapshot_id):
    instance_id = ops.revert(services(), actor(), snapshot_id)
    return jsonify(instance_id=instance_id, status="reverted")


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
