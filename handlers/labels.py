"""The one mapping from the engine's codes to the words of the guide, for staff and admin pages.

Pages show process and task names as the diagrams name them, statuses and audit events as Chinese words,
people by name and deploy problems in Chinese with a hint; the API keeps the codes and adds ``*_label``
fields from here.  Every word is a plain Chinese string, the msgid of its English translation
(web/translations), so the pages translate it with ``tr()``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa

from .i18n import N_
from .models import Account

INSTANCE_STATUS = {"running": N_("办理中"), "completed": N_("已办结"), "error": N_("异常"), "suspended": N_("已暂停"), "cancelled": N_("已取消")}
TASK_STATE = {"READY": N_("待办理"), "WAITING": N_("等待中"), "STARTED": N_("办理中"), "COMPLETED": N_("已办理"), "CANCELLED": N_("已取消")}
TIMER_STATE = {"waiting": N_("等待中"), "fired": N_("已触发"), "cancelled": N_("已取消")}
INCIDENT_STATUS = {"open": N_("等待自动重试"), "failed": N_("重试已用尽"), "resolved": N_("已解决")}
ROLE = {"seller": N_("卖方"), "buyer": N_("买方"), "clerk": N_("窗口受理人员"), "reviewer": N_("审核人员"), "admin": N_("管理员")}

# What changed in an element between two versions (SpiffWorkflow's serialized attribute names).
ELEMENT_ATTRIBUTE = {"bpmn_name": N_("名称"), "typename": N_("元素类型"), "event_definition": N_("事件定义"), "inputs": N_("前序连线"),
                     "outputs": N_("后续连线"), "lane": N_("泳道"), "documentation": N_("说明"), "extensions": N_("扩展属性"),
                     "cond_task_specs": N_("分支条件"), "default_task_spec": N_("默认分支"), "script": N_("脚本"),
                     "prescript": N_("前置脚本"), "postscript": N_("后置脚本"), "data_input_associations": N_("输入数据关联"),
                     "data_output_associations": N_("输出数据关联"), "io_specification": N_("输入输出定义"),
                     "timer": N_("定时器"), "condition": N_("条件"), "manual": N_("手动任务")}

# Audit events: instance events (written by the engine's steps and the handlers), then the others.
AUDIT_KIND = {
    "instance_started": N_("业务发起"), "nodes_completed": N_("流程推进"), "task_completed": N_("任务办理"),
    "task_cancelled": N_("任务取消"), "task_claimed": N_("任务认领"), "task_released": N_("任务释放"),
    "task_handed_over": N_("任务转交"), "timer_due": N_("定时器到期"), "timer_fired": N_("定时器触发"),
    "message_received": N_("收到消息"), "messages_discarded": N_("消息作废"), "incident_opened": N_("异常发生"),
    "incident_retried": N_("异常重试"), "incident_resolved": N_("异常解决"),
    "property_verified": N_("房源验证通过"), "contract_created": N_("合同创建"), "contract_edited": N_("合同修改"),
    "contract_filed": N_("合同备案"), "contract_cancelled": N_("合同注销"), "contract_deleted": N_("合同删除"),
    "esign_order_created": N_("生成电子合同订单"), "esign_order_superseded": N_("电子合同订单作废"),
    "esign_signature_ignored": N_("签名回调未采用"), "esign_cancel_ignored": N_("注销回调未采用"),
    "cancellation_started": N_("申请注销"), "cancellation_withdrawn": N_("撤回注销申请"),
    "window_intake": N_("窗口受理"), "window_refused": N_("窗口不予受理"), "materials_uploaded": N_("上传材料"),
    "reviewed": N_("审核"),
    "definition_deployed": N_("部署流程"), "password_reset": N_("重置密码"),
    "account_created": N_("创建网签账号"), "account_linked": N_("关联网签账号"),
    "instance_suspended": N_("暂停实例"), "instance_resumed": N_("恢复实例"), "instance_cancelled": N_("取消实例"),
    "instance_reset": N_("退回实例"), "instance_migrated": N_("迁移实例"), "migration_reverted": N_("还原迁移"),
    "message_expired": N_("消息过期"), "message_not_sent": N_("消息未发出"), "esign_callback_refused": N_("签名回调被拒绝"),
    "timer_start_fired": N_("定时发起"),
}
# Kinds that are not events of an instance: the audit page's first choices.
ADMIN_KINDS = ("definition_deployed", "password_reset", "account_created", "account_linked")

# Actors that are not accounts.
ACTORS = {"init": N_("系统初始化"), "system": N_("系统"), "worker": N_("系统（定时任务）"), "cli": N_("命令行"),
          "anonymous": N_("未登录用户"), "esign": N_("粤信签")}


def word(mapping: dict[str, str], code: str | None) -> str:
    """The word for ``code``; an unknown code is shown as it is (a newer diagram or engine may add some)."""
    if code is None:
        return ""
    return mapping.get(str(code), str(code))


def instance_status(code: str | None) -> str:
    return word(INSTANCE_STATUS, code)


def audit_kind(code: str | None) -> str:
    return word(AUDIT_KIND, code)


@dataclass
class Labels:
    """Names of processes and people for one page: built once, then looked up per row."""

    processes: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def process(self, process_id: str | None) -> str:
        return self.processes.get(process_id or "", process_id or "")

    def person(self, ref: str | int | None) -> str:
        if ref is None or ref == "":
            return ""
        text = str(ref)
        return self.people.get(text) or ACTORS.get(text) or f"账号{text}"

    def process_id_for(self, shown: str | None) -> str | None:
        """The process id of a name as shown (or of an id typed as such): the admin filter matches both."""
        text = (shown or "").strip()
        if not text:
            return None
        for process_id, name in self.processes.items():
            if text in (name, process_id):
                return process_id
        return text

    # the fixed words, also as methods so that templates need one object
    instance_status = staticmethod(instance_status)
    audit_kind = staticmethod(audit_kind)

    @staticmethod
    def task_state(code: str | None) -> str:
        return word(TASK_STATE, code)

    @staticmethod
    def timer_state(code: str | None) -> str:
        return word(TIMER_STATE, code)

    @staticmethod
    def incident_status(code: str | None) -> str:
        return word(INCIDENT_STATUS, code)

    @staticmethod
    def role(code: str | None) -> str:
        return word(ROLE, code)

    @staticmethod
    def element_attribute(code: str | None) -> str:
        return word(ELEMENT_ATTRIBUTE, code)


def process_names(queries) -> dict[str, str]:
    """Every deployed process id with the name its newest diagram gives it."""
    return dict(queries.process_names())


def people_names(session, refs: Iterable[str | int | None]) -> dict[str, str]:
    """Account ids (as the engine records them) to names, in one query."""
    ids = {int(r) for r in (str(x) for x in refs if x is not None) if r.isascii() and r.isdigit() and len(r) < 10}
    if not ids:
        return {}
    rows = session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {str(account_id): name for account_id, name in rows}


def labels_for(services, refs: Iterable[str | int | None] = ()) -> Labels:
    return Labels(process_names(services.queries), people_names(services.session, refs))


# Deploy problems from SpiffWorkflow and the XML parser (English), in Chinese with what to do.
_DEPLOY_PROBLEMS: list[tuple[str, str]] = [
    (r"Duplicate process ID: (?P<id>[^\s.]+)\.?",
     "流程标识重复：{id}。另一个文件已定义了流程「{id}」{where}；要替换它，请用原来的文件名上传，"
     "要新增流程，请在建模工具中修改流程的 ID"),
    (r"Process (?P<id>\S+) is not executable\.?", "流程「{id}」不可执行：请在建模工具中勾选「可执行」（isExecutable）"),
    (r"No start event found", "没有找到开始事件：每个流程（和子流程）都要有一个开始事件"),
    (r"A SubWorkflow Must contain an End event", "子流程没有结束事件：请为子流程画一个结束事件"),
    (r"(Unknown Time Specification|Time Specification Error).*",
     "定时器的时间无法识别：请使用 ISO 8601 格式，例如 PT24H（24 小时）或 2026-12-01T00:00:00+08:00"),
    (r"There is no support implemented for this task type.*", "不支持这种任务类型：请改用用户任务、服务任务或脚本任务"),
    (r"Cannot resolve (?P<what>dataInputAssociation|dataOutputAssociation) (?P<name>\S+)",
     "数据关联「{name}」找不到对应的数据对象：请检查数据对象的 ID"),
    (r"(?P<what>Correlation|Error|Escalation|Signal) identifier is missing from bpmn xml",
     "引用了不存在的{what_zh}定义：请在建模工具中为事件选择已定义的{what_zh}"),
    (r"Multiple decision tables are not current supported\.?", "一个 DMN 文件只能包含一个决策表"),
    (r"No decisions found", "DMN 文件中没有决策表"),
]
_WHAT = {"Correlation": N_("关联"), "Error": N_("错误"), "Escalation": N_("升级"), "Signal": N_("信号")}


def deploy_problem(text: str, deployed: dict[str, str] | None = None) -> str:
    """One problem of a deploy check, in Chinese with a hint; problems already in Chinese are kept."""
    prefix, _, message = text.partition(": ") if re.match(r"^[\w.\-]+\.(bpmn|dmn): ", text) else ("", "", text)
    message = message.strip()
    for pattern, template in _DEPLOY_PROBLEMS:
        found = re.fullmatch(pattern, message)
        if found:
            values = {k: v for k, v in found.groupdict().items() if v is not None}
            values["what_zh"] = _WHAT.get(values.get("what", ""), "")
            owners = [name for name, xml in (deployed or {}).items() if name != prefix
                      and values.get("id") and re.search(rf'<(\w+:)?process\b[^>]*\bid="{re.escape(values["id"])}"', xml)]
            values["where"] = f"（{'、'.join(sorted(owners))}）" if owners else ""
            message = template.format(**values)
            break
    return f"{prefix}：{message}" if prefix else message
