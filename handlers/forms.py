"""One marshmallow schema per user-task form (the form keys of docs/process-contract.md), and the hooks
that store a validated form on the contract.

Every message is Chinese and names the field, so a person knows what to fix.
Hooks return what the process needs in its task data — never personal data.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from .contract_form import BuyerSchema, ContractForm, SellerSchema, contract_for_edit, save_contract_form
from .form_fields import LABEL_COLON_PROBLEM, REQUIRED, FormSchema, choice, flag, msgs, must_be_true, text
from .i18n import N_, template
from .supervision import SupervisionSignedForm, check_supervision_signed
from .validation import FormatError, normalize_certificate_no, validate_unit_no

__all__ = ["FORMS", "BuyerSchema", "ContractForm", "SellerSchema", "save_contract_form"]


# ---------------------------------------------------------------- 房源

class BusinessTypeForm(FormSchema):
    business_type = choice(N_("业务类型"), [N_("存量房买卖"), N_("房屋赠与"), N_("土地买卖")], required=True)


class PropertyQueryForm(FormSchema):
    query_mode = choice(N_("查询方式"), [N_("证书号"), N_("姓名+不动产单元号")], load_default="证书号")
    certificate_no = text(N_("房产证号或不动产权证号"), 100, load_default=None, allow_none=True)
    check_code = text(N_("校验码"), 20, load_default=None, allow_none=True)
    owner_name = text(N_("权属人姓名"), 100, load_default=None, allow_none=True)
    unit_no = text(N_("不动产单元号"), 40, load_default=None, allow_none=True)
    first_generation_id = flag(N_("如果查询房源失败、且房产证上的证件号码为一代身份证"), load_default=False)

    @validates_schema
    def _mode_fields(self, data, **_):
        errors = {}
        if data["query_mode"] == "证书号":
            if not data.get("certificate_no"):
                errors["certificate_no"] = [REQUIRED % {"label": "房产证号或不动产权证号"}]
            else:
                try:
                    normalize_certificate_no(data["certificate_no"])
                except FormatError as err:
                    errors["certificate_no"] = [LABEL_COLON_PROBLEM % {"label": "房产证号或不动产权证号", "problem": err}]
            if not data.get("check_code"):
                errors["check_code"] = [REQUIRED % {"label": "校验码"}]
        else:
            if not data.get("owner_name"):
                errors["owner_name"] = [REQUIRED % {"label": "权属人姓名"}]
            if not data.get("unit_no"):
                errors["unit_no"] = [REQUIRED % {"label": "不动产单元号"}]
            else:
                try:
                    validate_unit_no(data["unit_no"])
                except FormatError as err:
                    errors["unit_no"] = [LABEL_COLON_PROBLEM % {"label": "不动产单元号", "problem": err}]
        if errors:
            raise ValidationError(errors)


class EmptyForm(FormSchema):
    """Buttons such as 「签订合同」 and 「生成电子合同订单」: no data, only the decision to go on."""


# ---------------------------------------------------------------- 申请人、好差评、资金监管、注意事项

class ApplicantInfoForm(FormSchema):
    applicant_name = text(N_("申请人姓名"), 100, required=True)
    applicant_phone = text(N_("申请人手机号码"), 20, required=True,
                           validate_also=validate.Regexp(r"^1\d{10}$", error="申请人手机号码应为11位手机号"))
    applicant_role = choice(N_("申请人身份"), [N_("卖方"), N_("买方"), N_("代理人")], load_default="卖方")


def save_applicant(ctx, data: dict) -> dict:
    contract = contract_for_edit(ctx)
    contract.applicant = dict(data)
    return {}


RATING_LEVELS = [N_("非常满意"), N_("满意"), N_("基本满意"), N_("不满意"), N_("非常不满意")]


class RatingForm(FormSchema):
    rating_level = choice(N_("好差评评价"), RATING_LEVELS, required=True)
    rating_comment = text(N_("评价内容"), 500, load_default=None, allow_none=True)

    @validates_schema
    def _bad_needs_reason(self, data, **_):
        if data["rating_level"] in ("不满意", "非常不满意") and not (data.get("rating_comment") or "").strip():
            raise ValidationError({"rating_comment": [N_("选择「不满意」或「非常不满意」时，请填写评价内容说明原因")]})


def save_rating(ctx, data: dict) -> dict:
    contract = contract_for_edit(ctx)
    contract.rating = {"level": data["rating_level"], "comment": data.get("rating_comment"),
                       "at": ctx.now().isoformat()}
    return {}


class FundSupervisionForm(FormSchema):
    fund_supervised = flag(N_("是否选择监管交易资金"), required=True)
    supervision_bank = choice(N_("监管银行"), [N_("建设银行"), N_("农村商业银行")], load_default=None, allow_none=True)

    @validates_schema
    def _bank_when_supervised(self, data, **_):
        if data["fund_supervised"] and not data.get("supervision_bank"):
            raise ValidationError({"supervision_bank": [N_("选择监管交易资金时，请选择监管银行")]})
        if not data["fund_supervised"]:
            data["supervision_bank"] = None


def save_fund_supervision(ctx, data: dict) -> dict:
    """The choice; a case opened at another bank (an earlier round) no longer counts. The diagram's
    gateway then takes the chosen bank's path."""
    contract = contract_for_edit(ctx)
    bank = data.get("supervision_bank")
    if contract.supervision_bank != bank:
        contract.supervision_ref = contract.supervision_agreement_no = contract.supervision_status = None
    contract.fund_supervised = data["fund_supervised"]
    contract.supervision_bank = bank
    return {"fund_supervised": data["fund_supervised"], "supervision_bank": bank}


class NotesForm(FormSchema):
    acknowledged = must_be_true(N_("请阅读并勾选「我已阅读并知悉注意事项」"))


def save_notes(ctx, data: dict) -> dict:
    contract = contract_for_edit(ctx)
    contract.notes_acknowledged_at = ctx.now()
    return {}


class ConfirmForm(FormSchema):
    """「提交」 then 「确定」: the second click is the confirmation."""

    confirmed = must_be_true(N_("请点击「确定」确认提交"))


class AfterCancelForm(FormSchema):
    after_cancel_action = choice(N_("后续操作"), [N_("修改合同"), N_("删除合同")], required=True)


# ---------------------------------------------------------------- 窗口、审核、注销

class WindowIntakeForm(FormSchema):
    """The window's identity and representation check (guide §3 (七), §5)."""

    identities_checked = must_be_true(N_("请核验双方本人有效身份证件原件后勾选"))
    any_minor = flag(N_("买方或卖方有未成年人"), load_default=False)
    parents_present = flag(N_("未成年人的父母双方已到场"), load_default=False)
    any_agent = flag(N_("委托他人办理（提供公证委托书原件）"), load_default=False)
    # A POA may list many matters; the clerk types them as written.
    poa_matter = text(N_("公证委托书注明的委托事项"), 300, load_default=None, allow_none=True)

    @validates_schema
    def _agent_needs_matter(self, data, **_):
        if data["any_agent"] and not (data.get("poa_matter") or "").strip():
            raise ValidationError({"poa_matter": [N_("委托他人办理时，请填写公证委托书上注明的委托事项")]})


def accept_signing_intake(ctx, data: dict) -> dict:
    facts = {k: data.get(k) for k in ("any_minor", "parents_present", "any_agent")}
    facts["poa_matter"] = (data.get("poa_matter") or "").strip() or None
    ctx.audit("window_intake", **facts)
    return {**facts, "material_flow": "签约", "window_refusal": None}


class OfflineCancelIntakeForm(WindowIntakeForm):
    contract_no = text(N_("合同编号"), 30, required=True)
    cancellation_reason = text(N_("注销原因"), 500, required=True)


def accept_cancel_intake(ctx, data: dict) -> dict:
    facts = accept_signing_intake(ctx, data)
    return {**facts, "material_flow": "注销", "fund_supervised": None,
            "contract_no": data["contract_no"].strip().upper(), "cancellation_reason": data["cancellation_reason"]}


class WindowMaterialsForm(FormSchema):
    forms_printed = must_be_true(N_("请打印表格并由双方签字后勾选"))
    uploads = fields.Dict(keys=fields.String(), values=fields.Integer(error_messages=msgs(N_("上传文件编号"))),
                          required=True, error_messages=msgs(N_("材料上传")), metadata={"label": N_("材料上传"), "widget": "uploads"})


UPLOAD_MISSING = template(N_("请上传「%(material)s」"))


def check_materials(ctx, data: dict) -> dict:
    """Every material the DMN table requires must be ticked and uploaded for this contract."""
    from .models import Upload

    required = ctx.task_data.get("materials") or []
    contract_id = ctx.task_data["contract"]["id"]
    errors = {}
    for material in required:
        upload_id = data["uploads"].get(material)
        upload = ctx.session.get(Upload, upload_id) if upload_id else None
        if upload is None or upload.contract_id != contract_id or upload.material != material:
            errors[material] = [UPLOAD_MISSING % {"material": material}]
    if errors:
        raise ValidationError({"uploads": errors})
    ctx.audit("materials_uploaded", materials=len(required))
    return {"uploaded_materials": {m: data["uploads"][m] for m in required}}


class ReviewForm(FormSchema):
    review_decision = choice(N_("审核结果"), [N_("通过"), N_("退回")], required=True)
    review_reason = text(N_("退回原因"), 500, load_default=None, allow_none=True)

    @validates_schema
    def _reject_needs_reason(self, data, **_):
        if data["review_decision"] == "退回" and not (data.get("review_reason") or "").strip():
            raise ValidationError({"review_reason": [N_("退回时请填写退回原因，窗口人员据此补正")]})


def record_review(ctx, data: dict) -> dict:
    ctx.audit("reviewed", decision=data["review_decision"], reason=data.get("review_reason"))
    return {"review_decision": data["review_decision"], "review_reason": data.get("review_reason")}


class CancelSelectForm(FormSchema):
    contract_no = text(N_("合同编号"), 30, required=True)


class CancelReasonForm(FormSchema):
    cancellation_reason = text(N_("注销原因"), 500, required=True)
    confirmed = must_be_true(N_("请点击「确定」确认提交注销申请"))


class AfterCancelRequestForm(FormSchema):
    after_cancel_action = choice(N_("后续操作"), [N_("重新生成电子合同订单"), N_("撤回注销申请")], required=True)


FORMS = {
    "business_type": (BusinessTypeForm, None),
    "property_query": (PropertyQueryForm, None),
    "confirm_property": (EmptyForm, None),
    "contract_form": (ContractForm, save_contract_form),
    "applicant_info": (ApplicantInfoForm, save_applicant),
    "rating": (RatingForm, save_rating),
    "fund_supervision": (FundSupervisionForm, save_fund_supervision),
    "supervision_online": (SupervisionSignedForm, check_supervision_signed),
    "supervision_branch": (EmptyForm, None),
    "notes": (NotesForm, save_notes),
    "submit_confirm": (ConfirmForm, None),
    "generate_order": (EmptyForm, None),
    "after_cancel": (AfterCancelForm, None),
    "final_submit": (ConfirmForm, None),
    "window_intake": (WindowIntakeForm, accept_signing_intake),
    "offline_cancel_intake": (OfflineCancelIntakeForm, accept_cancel_intake),
    "window_materials": (WindowMaterialsForm, check_materials),
    "review": (ReviewForm, record_review),
    "cancel_select": (CancelSelectForm, None),
    "cancel_reason": (CancelReasonForm, None),
    "after_cancel_request": (AfterCancelRequestForm, None),
}
