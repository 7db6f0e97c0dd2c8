"""One marshmallow schema per user-task form (the form keys of docs/process-contract.md), and the hooks
that store a validated form on the contract.

Every message is Chinese and names the field, so a person knows what to fix.
Hooks return what the process needs in its task data — never personal data.
"""
from __future__ import annotations

from decimal import Decimal

from marshmallow import (EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema)

from .models import Contract, ContractParty
from .validation import (ID_TYPES, FormatError, normalize_certificate_no, positive_money, shares_add_up,
                         validate_id_number, validate_unit_no)


def msgs(label: str) -> dict:
    return {"required": f"{label}为必填项", "null": f"{label}不能为空", "invalid": f"{label}格式不正确",
            "invalid_choice": f"{label}的取值无效"}


def choice(label: str, options, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(options, error=f"{label}只能是：{'、'.join(options)}"),
                         error_messages=msgs(label), metadata={"label": label, "choices": list(options)}, **kwargs)


def text(label: str, max_len: int = 200, validate_also=None, **kwargs) -> fields.String:
    """A text field; ``required`` text must also be non-blank."""
    checks = [validate.Length(min=1 if kwargs.get("required") else 0, max=max_len,
                              error=f"{label}为必填项，且不能超过{max_len}个字")]
    if validate_also is not None:
        checks.append(validate_also)
    return fields.String(validate=checks, error_messages=msgs(label), metadata={"label": label}, **kwargs)


def money(label: str, **kwargs) -> fields.Decimal:
    return fields.Decimal(places=None, as_string=False, error_messages=msgs(label), metadata={"label": label},
                          **kwargs)


def amount(label: str, **kwargs) -> fields.Decimal:
    """Money in 元: positive, at most two decimal places."""

    def check(value):
        try:
            positive_money(value)
        except FormatError as err:
            raise ValidationError(f"{label}{err}") from err

    return money(label, validate=check, **kwargs)


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # buttons and CSRF tokens arrive with the form; they are not data


def must_be_true(label: str):
    return fields.Boolean(required=True, validate=validate.Equal(True, error=label),
                          error_messages={"required": label, "invalid": label}, metadata={"label": label})


def flag(label: str, **kwargs) -> fields.Boolean:
    return fields.Boolean(error_messages=msgs(label), metadata={"label": label}, **kwargs)


# ---------------------------------------------------------------- 房源

class BusinessTypeForm(FormSchema):
    business_type = choice("业务类型", ["存量房买卖", "房屋赠与", "土地买卖"], required=True)


class PropertyQueryForm(FormSchema):
    query_mode = choice("查询方式", ["证书号", "姓名+不动产单元号"], load_default="证书号")
    certificate_no = text("房产证号或不动产权证号", 100, load_default=None, allow_none=True)
    check_code = text("校验码", 20, load_default=None, allow_none=True)
    owner_name = text("权属人姓名", 100, load_default=None, allow_none=True)
    unit_no = text("不动产单元号", 40, load_default=None, allow_none=True)
    first_generation_id = flag("如果查询房源失败、且房产证上的证件号码为一代身份证", load_default=False)

    @validates_schema
    def _mode_fields(self, data, **_):
        errors = {}
        if data["query_mode"] == "证书号":
            if not data.get("certificate_no"):
                errors["certificate_no"] = ["房产证号或不动产权证号为必填项"]
            else:
                try:
                    normalize_certificate_no(data["certificate_no"])
                except FormatError as err:
                    errors["certificate_no"] = [f"房产证号或不动产权证号：{err}"]
            if not data.get("check_code"):
                errors["check_code"] = ["校验码为必填项"]
        else:
            if not data.get("owner_name"):
                errors["owner_name"] = ["权属人姓名为必填项"]
            if not data.get("unit_no"):
                errors["unit_no"] = ["不动产单元号为必填项"]
            else:
                try:
                    validate_unit_no(data["unit_no"])
                except FormatError as err:
                    errors["unit_no"] = [f"不动产单元号：{err}"]
        if errors:
            raise ValidationError(errors)


class EmptyForm(FormSchema):
    """Buttons such as 「签订合同」 and 「生成电子合同订单」: no data, only the decision to go on."""


# ---------------------------------------------------------------- 买卖合同

class BuyerSchema(FormSchema):
    name = text("姓名", 100, required=True)
    id_type = choice("证件类型", list(ID_TYPES[:-1]), load_default="居民身份证")
    id_number = text("证件号码", 30, required=True)
    phone = text("联系电话", 30, required=True,
                 validate_also=validate.Regexp(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\+?\d{6,15})$", error="联系电话格式不正确"))
    address = text("通讯地址", 300, load_default=None, allow_none=True)
    share = money("份额（%）", load_default=None, allow_none=True)
    is_minor = flag("未成年人", load_default=False)
    agent_name = text("代理人姓名", 100, load_default=None, allow_none=True)
    agent_id_number = text("代理人证件号码", 30, load_default=None, allow_none=True)

    @post_load
    def _check_id(self, data, **_):
        try:
            data["id_number"] = validate_id_number(data["id_type"], data["id_number"])
        except FormatError as err:
            raise ValidationError({"id_number": [f"证件号码{err}"]}) from err
        return data


class ContractForm(FormSchema):
    seller_phone = text("卖方联系电话", 30, required=True,
                        validate_also=validate.Regexp(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\+?\d{6,15})$",
                                                 error="卖方联系电话格式不正确"))
    seller_address = text("卖方通讯地址", 300, load_default=None, allow_none=True)
    buyers = fields.List(fields.Nested(BuyerSchema), required=True,
                         validate=validate.Length(min=1, max=10, error="买方至少1人、最多10人"),
                         error_messages=msgs("买方"), metadata={"label": "乙方（买方）"})
    co_ownership = choice("共有性质", ["单独所有", "共同共有", "按份共有"], load_default=None, allow_none=True)
    price = amount("成交价格", required=True)
    payment_method = choice("付款方式", ["一次性付款", "贷款", "分期"], required=True)
    deposit = amount("定金", load_default=None, allow_none=True)
    delivery_date = fields.Date(required=True, error_messages=msgs("交付日期"), metadata={"label": "房屋交付日期"})
    tax_bearer = choice("税费承担", ["按国家规定各自承担", "买方承担", "卖方承担"], required=True)
    default_liability = text("违约责任", 2000, load_default=None, allow_none=True)
    dispute_resolution = choice("争议解决方式", ["仲裁", "诉讼"], required=True)
    supplementary_terms = text("补充条款", 5000, load_default=None, allow_none=True)

    @validates_schema
    def _rules(self, data, **_):
        errors: dict = {}
        if data.get("deposit") is not None and data["deposit"] > data["price"]:
            errors["deposit"] = ["定金不能超过成交价格"]
        buyers = data.get("buyers") or []
        if len(buyers) == 1:
            data["co_ownership"] = "单独所有"
        elif len(buyers) > 1:
            if data.get("co_ownership") not in ("共同共有", "按份共有"):
                errors["co_ownership"] = ["买方为多人时，请先选择共有性质（共同共有或按份共有）"]
            elif data["co_ownership"] == "按份共有":
                shares = [b.get("share") for b in buyers]
                if any(s is None or s <= 0 for s in shares):
                    errors["buyers"] = ["按份共有时，每位买方的份额都必须大于0"]
                elif not shares_add_up([Decimal(s) for s in shares]):
                    errors["buyers"] = [f"按份共有时，买方份额之和必须等于100%（现为{sum(shares)}%）"]
            seen = set()
            for index, buyer in enumerate(buyers, start=1):
                key = (buyer["id_type"], buyer["id_number"])
                if key in seen:
                    errors.setdefault("buyers", []).append(f"第{index}位买方与前面的买方证件号码重复，每一格只能填写一个人")
                seen.add(key)
        if errors:
            raise ValidationError(errors)


def _contract_for_edit(ctx) -> Contract:
    contract = ctx.session.get(Contract, ctx.task_data["contract"]["id"])
    contract.ensure_editable()
    return contract


def save_contract_form(ctx, data: dict) -> dict:
    contract = _contract_for_edit(ctx)
    for key in ("co_ownership", "price", "payment_method", "deposit", "delivery_date", "tax_bearer",
                "default_liability", "dispute_resolution", "supplementary_terms"):
        setattr(contract, key, data.get(key))
    for seller in contract.sellers:
        seller.phone = data["seller_phone"]
        seller.address = data.get("seller_address")
    known = {(p.id_type, p.id_number): p for p in contract.parties if p.side == "买方"}
    for party in known.values():
        party.active = False
    for position, buyer in enumerate(data["buyers"], start=1):
        party = known.get((buyer["id_type"], buyer["id_number"]))
        if party is None:
            party = ContractParty(side="买方", id_type=buyer["id_type"], id_number=buyer["id_number"])
            contract.parties.append(party)
        party.active = True
        party.position = 100 + position
        party.name = buyer["name"].strip()
        party.phone = buyer["phone"]
        party.address = buyer.get("address")
        party.share = buyer.get("share") if data["co_ownership"] == "按份共有" else None
        party.is_minor = buyer.get("is_minor", False)
        party.agent_name = buyer.get("agent_name")
        party.agent_id_number = buyer.get("agent_id_number")
    contract.updated_at = ctx.now()
    ctx.audit("contract_edited", contract_no=contract.contract_no, buyers=len(data["buyers"]))
    return {"buyer_count": len(data["buyers"])}


# ---------------------------------------------------------------- 申请人、好差评、资金监管、注意事项

class ApplicantInfoForm(FormSchema):
    applicant_name = text("申请人姓名", 100, required=True)
    applicant_phone = text("申请人手机号码", 20, required=True,
                           validate_also=validate.Regexp(r"^1\d{10}$", error="申请人手机号码应为11位手机号"))
    applicant_role = choice("申请人身份", ["卖方", "买方", "代理人"], load_default="卖方")


def save_applicant(ctx, data: dict) -> dict:
    contract = _contract_for_edit(ctx)
    contract.applicant = dict(data)
    return {}


RATING_LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


class RatingForm(FormSchema):
    rating_level = choice("好差评评价", RATING_LEVELS, required=True)
    rating_comment = text("评价内容", 500, load_default=None, allow_none=True)

    @validates_schema
    def _bad_needs_reason(self, data, **_):
        if data["rating_level"] in ("不满意", "非常不满意") and not (data.get("rating_comment") or "").strip():
            raise ValidationError({"rating_comment": ["选择「不满意」或「非常不满意」时，请填写评价内容说明原因"]})


def save_rating(ctx, data: dict) -> dict:
    contract = _contract_for_edit(ctx)
    contract.rating = {"level": data["rating_level"], "comment": data.get("rating_comment"),
                       "at": ctx.now().isoformat()}
    return {}


class FundSupervisionForm(FormSchema):
    fund_supervised = flag("是否选择监管交易资金", required=True)
    supervision_bank = choice("监管银行", ["建设银行", "农村商业银行"], load_default=None, allow_none=True)

    @validates_schema
    def _bank_when_supervised(self, data, **_):
        if data["fund_supervised"] and not data.get("supervision_bank"):
            raise ValidationError({"supervision_bank": ["选择监管交易资金时，请选择监管银行"]})
        if not data["fund_supervised"]:
            data["supervision_bank"] = None


def save_fund_supervision(ctx, data: dict) -> dict:
    contract = _contract_for_edit(ctx)
    contract.fund_supervised = data["fund_supervised"]
    contract.supervision_bank = data.get("supervision_bank")
    return {"fund_supervised": data["fund_supervised"]}


class NotesForm(FormSchema):
    acknowledged = must_be_true("请阅读并勾选「我已阅读并知悉注意事项」")


def save_notes(ctx, data: dict) -> dict:
    contract = _contract_for_edit(ctx)
    contract.notes_acknowledged_at = ctx.now()
    return {}


class ConfirmForm(FormSchema):
    """「提交」 then 「确定」: the second click is the confirmation."""

    confirmed = must_be_true("请点击「确定」确认提交")


class AfterCancelForm(FormSchema):
    after_cancel_action = choice("后续操作", ["修改合同", "删除合同"], required=True)


# ---------------------------------------------------------------- 窗口、审核、注销

class WindowIntakeForm(FormSchema):
    """The window's identity and representation check (guide §3 (七), §5)."""

    identities_checked = must_be_true("请核验双方本人有效身份证件原件后勾选")
    any_minor = flag("买方或卖方有未成年人", load_default=False)
    parents_present = flag("未成年人的父母双方已到场", load_default=False)
    any_agent = flag("委托他人办理（提供公证委托书原件）", load_default=False)
    poa_matter = text("公证委托书注明的委托事项", 100, load_default=None, allow_none=True)

    @validates_schema
    def _agent_needs_matter(self, data, **_):
        if data["any_agent"] and not (data.get("poa_matter") or "").strip():
            raise ValidationError({"poa_matter": ["委托他人办理时，请填写公证委托书上注明的委托事项"]})


def accept_signing_intake(ctx, data: dict) -> dict:
    facts = {k: data.get(k) for k in ("any_minor", "parents_present", "any_agent")}
    facts["poa_matter"] = (data.get("poa_matter") or "").strip() or None
    ctx.audit("window_intake", **facts)
    return {**facts, "material_flow": "签约", "window_refusal": None}


class OfflineCancelIntakeForm(WindowIntakeForm):
    contract_no = text("合同编号", 30, required=True)
    cancellation_reason = text("注销原因", 500, required=True)


def accept_cancel_intake(ctx, data: dict) -> dict:
    facts = accept_signing_intake(ctx, data)
    return {**facts, "material_flow": "注销", "fund_supervised": None,
            "contract_no": data["contract_no"].strip().upper(), "cancellation_reason": data["cancellation_reason"]}


class WindowMaterialsForm(FormSchema):
    forms_printed = must_be_true("请打印表格并由双方签字后勾选")
    uploads = fields.Dict(keys=fields.String(), values=fields.Integer(error_messages=msgs("上传文件编号")),
                          required=True, error_messages=msgs("材料上传"), metadata={"label": "材料上传", "widget": "uploads"})


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
            errors[material] = [f"请上传「{material}」"]
    if errors:
        raise ValidationError({"uploads": errors})
    ctx.audit("materials_uploaded", materials=len(required))
    return {"uploaded_materials": {m: data["uploads"][m] for m in required}}


class ReviewForm(FormSchema):
    review_decision = choice("审核结果", ["通过", "退回"], required=True)
    review_reason = text("退回原因", 500, load_default=None, allow_none=True)

    @validates_schema
    def _reject_needs_reason(self, data, **_):
        if data["review_decision"] == "退回" and not (data.get("review_reason") or "").strip():
            raise ValidationError({"review_reason": ["退回时请填写退回原因，窗口人员据此补正"]})


def record_review(ctx, data: dict) -> dict:
    ctx.audit("reviewed", decision=data["review_decision"], reason=data.get("review_reason"))
    return {"review_decision": data["review_decision"], "review_reason": data.get("review_reason")}


class CancelSelectForm(FormSchema):
    contract_no = text("合同编号", 30, required=True)


class CancelReasonForm(FormSchema):
    cancellation_reason = text("注销原因", 500, required=True)
    confirmed = must_be_true("请点击「确定」确认提交注销申请")


class AfterCancelRequestForm(FormSchema):
    after_cancel_action = choice("后续操作", ["重新生成电子合同订单", "撤回注销申请"], required=True)


FORMS = {
    "business_type": (BusinessTypeForm, None),
    "property_query": (PropertyQueryForm, None),
    "confirm_property": (EmptyForm, None),
    "contract_form": (ContractForm, save_contract_form),
    "applicant_info": (ApplicantInfoForm, save_applicant),
    "rating": (RatingForm, save_rating),
    "fund_supervision": (FundSupervisionForm, save_fund_supervision),
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
