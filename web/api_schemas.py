"""marshmallow schemas of the REST API: what it answers (responses) and what it reads (query strings, bodies);
the OpenAPI document is generated from them and from the views that use them (web/openapi.py)."""
from __future__ import annotations

from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

from engine import InstanceStatus
from handlers import labels
from handlers.deadlines import BEIJING


class BeijingDateTime(fields.DateTime):
    """A moment as ISO 8601 with the +08:00 offset: the same clock the pages show (Beijing time)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(BEIJING).isoformat()



class ErrorOut(Schema):
    message = fields.String(required=True, metadata={"description": "给人看的中文说明"})
    errors = fields.Dict(metadata={"description": "字段 → 错误信息列表（表单校验失败时）"})


class PartyOut(Schema):
    side = fields.String(metadata={"description": "卖方 / 买方"})
    name = fields.String()
    id_number = fields.String(metadata={"description": "脱敏后的证件号码"})


class ContractOut(Schema):
    contract_no = fields.String()
    status = fields.String(metadata={"description": "草稿 / 已提交 / 已签约 / 已注销 / 已删除"})
    channel = fields.String(metadata={"description": "线上 / 线下"})
    location = fields.String()
    deletion_deadline = fields.String(allow_none=True, metadata={
        "description": "未签约合同的自动删除时间（UTC, ISO 8601），即流程图中「合同逾期未签」定时器的到期时间；没有等待中的定时器时为 null"})
    parties = fields.List(fields.Nested(PartyOut))


LABEL = {"description": "给人看的名称（中文，与页面一致）；机器请读对应的代码字段"}
# The signing panel's poll redraws the page with these: the words in the language the reader chose.
READER_LABEL = {"description": "给人看的名称，按本会话选择的语言（中文或英文）；机器请读对应的字段"}


class SignatureStatusOut(Schema):
    side = fields.String(metadata={"description": "卖方 / 买方"})
    name = fields.String()
    status = fields.String(metadata={"description": "待签字 / 签名成功"})
    status_label = fields.String(metadata=READER_LABEL)


class OrderStatusOut(Schema):
    order_no = fields.String()
    purpose = fields.String(metadata={"description": "签约 / 注销"})
    status = fields.String(metadata={"description": "已创建订单，待签字 / 订单已经完成签字 / 已注销 / 已失效 / 已作废"})
    status_label = fields.String(metadata=READER_LABEL)
    signatures = fields.List(fields.Nested(SignatureStatusOut))


class OpenTaskOut(Schema):
    id = fields.String()
    name = fields.String()
    name_label = fields.String(metadata=READER_LABEL)


class SigningStatusOut(Schema):
    contract_no = fields.String()
    status = fields.String(metadata={"description": "合同状态（注销办理期间为「注销中」）"})
    status_label = fields.String(metadata=READER_LABEL)
    order = fields.Nested(OrderStatusOut, allow_none=True, metadata={"description": "最新的电子合同订单"})
    all_signed = fields.Boolean(metadata={"description": "订单已经完成签字：请确认信息无误后点击「提交」"})
    tasks = fields.List(fields.Nested(OpenTaskOut), metadata={"description": "本人在该合同上的待办（如「提交」）"})


class TaskOut(Schema):
    id = fields.String()
    name = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    process_label = fields.String(metadata=LABEL)
    business_key = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    form_key = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = BeijingDateTime()


class ReadyTaskOut(Schema):
    id = fields.String()
    bpmn_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)


class StepOut(Schema):
    instance_id = fields.Integer()
    status = fields.String()
    end_event = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    ready_tasks = fields.List(fields.Nested(ReadyTaskOut))


class DefinitionOut(Schema):
    process_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    hash = fields.String(attribute="content_hash")
    deployed_at = BeijingDateTime()
    deployed_by = fields.String()
    deployed_by_label = fields.String(metadata=LABEL)


class InstanceOut(Schema):
    id = fields.Integer()
    process_id = fields.String()
    process_label = fields.String(metadata=LABEL)
    status = fields.String(metadata={"description": "running / completed / error"})
    status_label = fields.Function(lambda i: labels.instance_status(i.status), metadata=LABEL)
    business_key = fields.String(allow_none=True)
    end_event = fields.String(allow_none=True)
    started_by = fields.String(metadata={"description": "发起人的账号 id"})
    started_by_label = fields.String(metadata=LABEL)
    updated_at = BeijingDateTime()


class TimerOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    process_label = fields.String(metadata=LABEL)
    name = fields.String()
    due_at = BeijingDateTime()
    state = fields.String(metadata={"description": "waiting / fired / cancelled"})
    state_label = fields.Function(lambda t: labels.word(labels.TIMER_STATE, t.state), metadata=LABEL)


class IncidentOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    process_label = fields.String(metadata=LABEL)
    task = fields.String(attribute="task_name")
    error = fields.String()
    attempts = fields.Integer()
    status = fields.String(metadata={"description": "open / failed / resolved"})
    status_label = fields.Function(lambda i: labels.word(labels.INCIDENT_STATUS, i.status), metadata=LABEL)
    created_at = BeijingDateTime()


class AuditOut(Schema):
    id = fields.Integer()
    at = BeijingDateTime()
    kind = fields.String(metadata={"description": "事件代码，如 task_completed、definition_deployed、password_reset"})
    kind_label = fields.Function(lambda e: labels.audit_kind(e.kind), metadata=LABEL)
    actor = fields.String(metadata={"description": "操作人：账号 id，或 init / worker / cli 等"})
    actor_label = fields.String(metadata=LABEL)
    instance_id = fields.Integer(allow_none=True)
    details = fields.Dict()


class CallbackOut(Schema):
    accepted = fields.Boolean()
    duplicate = fields.Boolean()


class FlagOut(Schema):
    claimed = fields.Boolean()
    released = fields.Boolean()
    retried = fields.Integer()


class TaskMoveOut(Schema):
    name = fields.String()
    from_id = fields.String(metadata={"description": "当前版本中的元素 ID"})
    to_id = fields.String(allow_none=True, metadata={"description": "新版本中对应的元素 ID；null 表示已删除"})
    state = fields.String(metadata={"description": "READY / WAITING / STARTED"})
    changed = fields.List(fields.String(), metadata={"description": "该元素在新版本中改变的属性"})


class MigrationPlanOut(Schema):
    instance_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    can_move = fields.Boolean()
    moves = fields.List(fields.Nested(TaskMoveOut))
    reset = fields.List(fields.String(), metadata={"description": "迁移时会按新版本重新计算的任务和定时器"})
    problems = fields.List(fields.String(), metadata={"description": "不能迁移的原因"})


class MigrationOutcomeOut(Schema):
    instance_id = fields.Integer()
    ok = fields.Boolean()
    message = fields.String()
    snapshot_id = fields.Integer(allow_none=True, metadata={"description": "迁移前快照，用于还原"})


class SnapshotOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    definition_id = fields.Integer()
    to_definition_id = fields.Integer(allow_none=True)
    status = fields.String()
    taken_at = BeijingDateTime()
    taken_by = fields.String()
    reverted_at = BeijingDateTime(allow_none=True)


class ResetPointOut(Schema):
    task_id = fields.String()
    bpmn_id = fields.String()
    name = fields.String()


class OperationOut(Schema):
    instance_id = fields.Integer()
    status = fields.String()


# ---------------------------------------------------------------- what the API reads (query strings, bodies)

class PageQuery(Schema):
    """Keyset pagination: a page is ``limit`` rows after ``after``; the next page's cursor comes back in
    the ``X-Next-Cursor`` response header (absent on the last page)."""

    class Meta:
        unknown = EXCLUDE

    after = fields.String(metadata={"description": "上一页响应头 X-Next-Cursor 的值（next_cursor）；省略则从第一页开始"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "每页条数，1–500，默认 50"})


class InstanceQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in InstanceStatus]),
                           metadata={"description": "running / completed / error / suspended / cancelled"})
    business_key = fields.String(metadata={"description": "合同编号（完整）"})
    business_key_prefix = fields.String(metadata={"description": "合同编号的开头部分（按索引前缀匹配）"})
    process_id = fields.String(metadata={"description": "流程标识，如 online_signing（或流程名称）"})


class DayRangeQuery(PageQuery):
    process_id = fields.String(metadata={"description": "流程标识，如 online_signing（或流程名称）"})
    from_ = fields.Date(data_key="from", metadata={"description": "日期从（北京时间，YYYY-MM-DD）"})
    to = fields.Date(metadata={"description": "日期到（含当天，北京时间，YYYY-MM-DD）"})


class TimerQuery(DayRangeQuery):
    """Waiting timers; the days are of the due time."""


class IncidentQuery(DayRangeQuery):
    status = fields.String(validate=validate.OneOf(["open", "failed", "resolved", "all"]),
                           metadata={"description": "open / failed / resolved / all；省略为未解决（open 和 failed）"})


class AuditQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(list(labels.AUDIT_KIND)), metadata={"description": "事件代码"})
    actor = fields.String(metadata={"description": "操作人：账号 id、姓名，或 init / worker / cli"})
    from_ = fields.Date(data_key="from", metadata={"description": "日期从（北京时间，YYYY-MM-DD）"})
    to = fields.Date(metadata={"description": "日期到（含当天，北京时间，YYYY-MM-DD）"})


class CallbackIn(Schema):
    event = fields.String(metadata={"description": "签名成功"})
    order_no = fields.String(required=True)
    party_id = fields.Integer(required=True)
    token = fields.String(required=True)
    signed_at = fields.String(metadata={"description": "签名时间（ISO 8601）"})


class BankCallbackIn(Schema):
    event = fields.String(required=True, metadata={"description": "SIGNED：买卖双方已签署资金监管协议"})
    bank = fields.String(required=True, metadata={"description": "监管银行，如 建设银行"})
    reference = fields.String(required=True, metadata={"description": "监管申请编号（开立时由银行给出）"})
    agreement_no = fields.String(required=True, metadata={"description": "资金监管协议编号"})
    signed_at = fields.String(metadata={"description": "签署时间（ISO 8601）"})


class TaskDataIn(Schema):
    """The task's form data; its fields are those of the form schema named by the task's ``form_key``."""

    class Meta:
        unknown = INCLUDE


class ReasonIn(Schema):
    reason = fields.String(load_default="", metadata={"description": "原因（取消时必填），写入审计记录"})


class ResetIn(ReasonIn):
    task_id = fields.String(required=True, metadata={"description": "要退回到的已完成任务（见 reset-points）"})


class MigrateIn(Schema):
    to_definition_id = fields.Integer(load_default=None, allow_none=True,
                                      metadata={"description": "目标定义版本 ID；省略为最新版本"})
    instance_ids = fields.List(fields.Integer(), load_default=None, allow_none=True,
                               metadata={"description": "要迁移的实例；省略则迁移演练中所有可迁移的实例"})
    business_key_prefix = fields.String(load_default=None, allow_none=True,
                                        metadata={"description": "只迁移合同编号以此开头的实例"})


class MigrationQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    to_definition_id = fields.Integer(metadata={"description": "目标定义版本 ID；省略为最新版本"})


class HealthOut(Schema):
    status = fields.String(metadata={"description": "ok：进程存活（不访问数据库）"})


class WorkerBeatOut(Schema):
    id = fields.String(metadata={"description": "主机名:进程号"})
    last_beat = fields.String(metadata={"description": "最后一次心跳（UTC, ISO 8601）"})
    age_seconds = fields.Float()
    stale = fields.Boolean()
    sweeps = fields.Integer()


class ReadyCheckOut(Schema):
    ok = fields.Boolean(required=True)
    error = fields.String(metadata={"description": "未就绪的原因"})
    current = fields.List(fields.String(), metadata={"description": "schema：数据库的 Alembic 版本"})
    head = fields.List(fields.String(), metadata={"description": "schema：迁移脚本的最新版本"})
    stale_after_seconds = fields.Float(metadata={"description": "worker：心跳过期的阈值"})
    fresh = fields.Integer(metadata={"description": "worker：心跳新鲜的 worker 数"})
    workers = fields.List(fields.Nested(WorkerBeatOut))


class ReadyOut(Schema):
    ready = fields.Boolean(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(ReadyCheckOut),
                         metadata={"description": "database（可连接）、schema（Alembic 版本为最新：current/head）、"
                                                  "worker（心跳：workers 列出每个 worker 的 id、last_beat、"
                                                  "age_seconds、stale）"})
