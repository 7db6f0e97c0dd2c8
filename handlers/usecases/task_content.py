"""What a citizen's task page shows besides its form: where the step sits among the drafting pages,
the home and the contract it is about, the diagram's own text for the step (the notes, the advice),
and what the form starts with (what an earlier round saved, what a failed query typed).

Nothing here decides anything: the diagrams do; this only gathers what a person needs to see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from engine.models import InboxTask

from ..bootstrap import Services
from ..documents import contract_sections
from ..i18n import N_
from ..models import Contract, RegistryProperty
from .policy import Actor

# The pages a seller walks through, in the guide's order (§2.2 (二)–(七)), and the tasks behind each.
# The offline flow ends at 「提交」; the window does the rest.
TRAIL = [
    (N_("房源验证"), {"Activity_select_business_type", "Activity_query_property"}),
    (N_("确认房源"), {"Activity_confirm_property"}),
    (N_("填写买卖合同"), {"Activity_fill_contract"}),
    (N_("申请人信息"), {"Activity_fill_applicant"}),
    (N_("好差评信息"), {"Activity_fill_rating"}),
    (N_("资金监管信息"), {"Activity_fill_fund_supervision", "Activity_sign_supervision_online",
                "Activity_supervision_branch_guidance"}),
    (N_("注意事项"), {"Activity_confirm_notes"}),
    (N_("提交"), {"Activity_submit_contract"}),
    (N_("生成电子合同订单"), {"Activity_generate_order"}),
]
ONLINE_ONLY = {"生成电子合同订单"}
# The forms that show the whole contract, read-only, before the click (「再次确认合同信息无误」).
SUMMARY_FORMS = {"submit_confirm", "generate_order", "final_submit"}


@dataclass
class Step:
    label: str
    state: str  # done | current | todo


@dataclass
class TaskContent:
    trail: list[Step] = field(default_factory=list)
    home: RegistryProperty | None = None
    sellers: list[str] = field(default_factory=list)
    guidance: str | None = None  # the diagram's documentation of the task
    summary: list = field(default_factory=list)  # contract_sections of the contract
    identity: tuple[str, str] | None = None  # (权属人姓名, 证件号码) of the signed-in person
    readonly: set[str] = field(default_factory=set)
    # Fund supervision: the bank's page where the parties sign online (「龙存管」), where the case stands,
    # and whether a 《用户操作手册》 is offered.
    supervision_url: str | None = None
    supervision_status: str | None = None
    manual: bool = False


def trail(task: InboxTask) -> list[Step]:
    """The step indicator: empty for a task that is not one of the drafting pages."""
    labels = [(label, ids) for label, ids in TRAIL
              if not (task.process_id == "offline_signing" and label in ONLINE_ONLY)]
    current = next((i for i, (_, ids) in enumerate(labels) if task.bpmn_id in ids), None)
    if current is None:
        return []
    return [Step(label, "done" if i < current else "current" if i == current else "todo")
            for i, (label, _) in enumerate(labels)]


def _spiff_task(services: Services, task: InboxTask):
    workflow = services.engine.load_workflow(task.instance_id)
    return workflow.get_task_from_id(UUID(task.id))


def content(services: Services, actor: Actor, task: InboxTask, contract: Contract | None) -> tuple[TaskContent, dict]:
    """The task's content and its data in the workflow."""
    spiff_task = _spiff_task(services, task)
    data = dict(spiff_task.data) if spiff_task is not None else {}
    shown = TaskContent(trail(task))
    if spiff_task is not None:
        shown.guidance = (getattr(spiff_task.task_spec, "documentation", None) or "").strip() or None
    if task.form_key == "property_query":
        # Signed in, so the owner's name and ID number are the person's own and cannot be changed.
        shown.identity = (actor.name, actor.id_number or "")
        shown.readonly = {"owner_name"}
    property_id = (data.get("verification") or {}).get("property_id")
    if contract is not None:
        shown.home = contract.home
        shown.sellers = [p.name for p in contract.sellers]
    elif property_id:
        shown.home = services.session.get(RegistryProperty, property_id)
        shown.sellers = [o["name"] for o in (shown.home.owners if shown.home else [])]
    if task.form_key in ("supervision_online", "supervision_branch") and contract is not None:
        bank = services.adapters.banks.get(contract.supervision_bank or "")
        if bank is not None and contract.supervision_ref:
            shown.supervision_url = bank.case(contract.supervision_ref).url
        shown.supervision_status = contract.supervision_agreement_no and (
            f"{contract.supervision_status}（协议编号 {contract.supervision_agreement_no}）") or contract.supervision_status
        shown.manual = True
    if task.form_key in SUMMARY_FORMS and contract is not None:
        shown.summary = contract_sections(contract)
    return shown, data


QUERY_FIELDS = ("query_mode", "certificate_no", "check_code", "owner_name", "unit_no", "first_generation_id")


def prefill(task: InboxTask, actor: Actor, contract: Contract | None, data: dict) -> dict:
    """What a form starts with: a failed query keeps what was typed; every drafting form shows what
    an earlier round saved on the contract (after 「注销电子合同订单」 → 修改合同)."""
    key = task.form_key
    if key == "property_query":
        typed = {k: data[k] for k in QUERY_FIELDS if data.get(k) is not None}
        return {**typed, "owner_name": actor.name}
    if contract is None:
        return {}
    if key == "applicant_info" and contract.applicant:
        return dict(contract.applicant)
    if key == "rating" and contract.rating:
        return {"rating_level": contract.rating.get("level"), "rating_comment": contract.rating.get("comment")}
    if key == "fund_supervision" and contract.fund_supervised is not None:
        return {"fund_supervised": contract.fund_supervised, "supervision_bank": contract.supervision_bank}
    if key == "notes" and contract.notes_acknowledged_at is not None:
        return {"acknowledged": True}
    return {}
