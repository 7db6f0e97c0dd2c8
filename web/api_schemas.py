"""marshmallow schemas of the REST API: what it answers (responses) and what it reads (query strings, bodies);
the OpenAPI document is generated from them and from the views that use them (web/openapi.py)."""
from __future__ import annotations

from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

from engine import InstanceStatus


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
    deletion_deadline = fields.String(metadata={"description": "未签约合同的自动删除时间（UTC, ISO 8601）"})
    parties = fields.List(fields.Nested(PartyOut))


class SignatureStatusOut(Schema):
    side = fields.String(metadata={"description": "卖方 / 买方"})
    name = fields.String()
    status = fields.String(metadata={"description": "待签字 / 签名成功"})


class OrderStatusOut(Schema):
    order_no = fields.String()
    purpose = fields.String(metadata={"description": "签约 / 注销"})
    status = fields.String(metadata={"description": "已创建订单，待签字 / 订单已经完成签字 / 已注销 / 已失效 / 已作废"})
    signatures = fields.List(fields.Nested(SignatureStatusOut))


class OpenTaskOut(Schema):
    id = fields.String()
    name = fields.String()


class SigningStatusOut(Schema):
    contract_no = fields.String()
    status = fields.String(metadata={"description": "合同状态（注销办理期间为「注销中」）"})
    order = fields.Nested(OrderStatusOut, allow_none=True, metadata={"description": "最新的电子合同订单"})
    all_signed = fields.Boolean(metadata={"description": "订单已经完成签字：请确认信息无误后点击「提交」"})
    tasks = fields.List(fields.Nested(OpenTaskOut), metadata={"description": "本人在该合同上的待办（如「提交」）"})


class TaskOut(Schema):
    id = fields.String()
    name = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    business_key = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    form_key = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = fields.DateTime()


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
    deployed_at = fields.DateTime()
    deployed_by = fields.String()


class InstanceOut(Schema):
    id = fields.Integer()
    process_id = fields.String()
    status = fields.String()
    business_key = fields.String(allow_none=True)
    end_event = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class TimerOut(Schema):
    instance_id = fields.Integer()
    name = fields.String()
    due_at = fields.DateTime()


class IncidentOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task = fields.String(attribute="task_name")
    error = fields.String()
    attempts = fields.Integer()
    status = fields.String()


class CallbackOut(Schema):
    accepted = fields.Boolean()
    duplicate = fields.Boolean()


class FlagOut(Schema):
    claimed = fields.Boolean()
    released = fields.Boolean()
    retried = fields.Integer()


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
                           metadata={"description": "running / completed / error"})
    business_key = fields.String(metadata={"description": "合同编号（完整）"})
    process_id = fields.String(metadata={"description": "流程标识，如 online_signing"})


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
