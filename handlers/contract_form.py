"""The 《广东省房地产买卖合同》 form: its schema, the rules about the people on it, and the hook that
stores it on the contract.

The schema checks what the form alone shows (shares, duplicates among the buyers, one phone per
person); the hook sees the contract and checks the buyers against the sellers of the registry.
"""
from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from .form_fields import LABEL_PROBLEM, FormSchema, amount, choice, flag, money, msgs, phone_field, text
from .i18n import N_, template
from .models import Contract, ContractParty
from .validation import ID_TYPES, FormatError, comparable_id, normalize_text, shares_add_up, validate_id_number

SAME_PERSON = N_("同一人在一份合同中只能出现一次")
OWN_PHONE = N_("每位卖方、买方须填写本人的联系电话")
SAME_AS_BUYER = template(N_("证件号码与第%(n)s位买方相同：%(rule)s，每一格只能填写一个人"))
SAME_AS_SELLER = template(N_("证件号码与本合同的卖方相同：卖方不能同时作为买方，%(rule)s"))
SAME_PHONE = template(N_("联系电话与%(party)s相同：%(rule)s"))
PARTY_AT = template(N_("第%(n)s位%(side)s"))
SHARES_TOTAL = template(N_("按份共有时，买方份额之和必须等于100%%（现为%(total)s%%）"))
SELLER_ROWS = template(N_("本合同的卖方共%(n)s人（%(names)s），请按顺序为每位卖方各填写一行联系电话"))
SELLER_NAME = template(N_("第%(n)s位卖方应为「%(name)s」：卖方以不动产登记为准，不能修改"))


def comparable_phone(phone: str | None) -> str:
    """0760-88880000 and 076088880000, +8613800001111 and 13800001111 are one number."""
    digits = "".join(c for c in normalize_text(phone or "") if c.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("861") else digits


class SellerSchema(FormSchema):
    """One row per seller, in the order of the registry's owners (the page fills in the names)."""

    name = text(N_("卖方姓名"), 100, load_default=None, allow_none=True)
    phone = phone_field(N_("联系电话"))
    address = text(N_("通讯地址"), 300, load_default=None, allow_none=True)


class BuyerSchema(FormSchema):
    name = text(N_("姓名"), 100, required=True)
    id_type = choice(N_("证件类型"), list(ID_TYPES[:-1]), load_default="居民身份证")
    id_number = text(N_("证件号码"), 30, required=True)
    phone = phone_field(N_("联系电话"))
    address = text(N_("通讯地址"), 300, load_default=None, allow_none=True)
    share = money(N_("份额（%）"), load_default=None, allow_none=True)
    is_minor = flag(N_("未成年人"), load_default=False)
    agent_name = text(N_("代理人姓名"), 100, load_default=None, allow_none=True)
    agent_id_number = text(N_("代理人证件号码"), 30, load_default=None, allow_none=True)

    @post_load
    def _check_id(self, data, **_):
        try:
            data["id_number"] = validate_id_number(data["id_type"], data["id_number"])
        except FormatError as err:
            raise ValidationError({"id_number": [LABEL_PROBLEM % {"label": "证件号码", "problem": err}]}) from err
        return data


class RowErrors:
    """Messages for fields inside list rows ({"buyers": {1: {"phone": [...]}}}), as marshmallow shapes them."""

    def __init__(self):
        self.rows: dict[str, dict[int, dict[str, list[str]]]] = {}

    def add(self, field: str, index: int, key: str, message: str) -> None:
        self.rows.setdefault(field, {}).setdefault(index, {}).setdefault(key, []).append(message)


def _people_rules(data: dict, errors: RowErrors) -> None:
    """One person once among the buyers; every seller and buyer with a phone number of their own."""
    seen_ids: dict[str, int] = {}
    for index, buyer in enumerate(data.get("buyers") or []):
        if not buyer.get("id_number"):
            continue  # that row's own message already names the field
        key = comparable_id(buyer["id_number"])
        if key in seen_ids:
            errors.add("buyers", index, "id_number",
                       SAME_AS_BUYER % {"n": seen_ids[key] + 1, "rule": SAME_PERSON})
        seen_ids.setdefault(key, index)
    seen_phones: dict[str, str] = {}
    parties = [("sellers", "卖方", row) for row in data.get("sellers") or []]
    parties += [("buyers", "买方", row) for row in data.get("buyers") or []]
    positions = {"sellers": 0, "buyers": 0}
    for field, side, row in parties:
        index, positions[field] = positions[field], positions[field] + 1
        if not row.get("phone"):
            continue
        key = comparable_phone(row["phone"])
        if key in seen_phones:
            errors.add(field, index, "phone", SAME_PHONE % {"party": seen_phones[key], "rule": OWN_PHONE})
        seen_phones.setdefault(key, PARTY_AT % {"n": index + 1, "side": side})


def _share_rules(data: dict, errors: dict) -> None:
    buyers = data.get("buyers") or []
    if len(buyers) == 1:
        data["co_ownership"] = "单独所有"
    elif len(buyers) > 1:
        if data.get("co_ownership") not in ("共同共有", "按份共有"):
            errors["co_ownership"] = [N_("买方为多人时，请先选择共有性质（共同共有或按份共有）")]
        elif data["co_ownership"] == "按份共有":
            shares = [b.get("share") for b in buyers]
            if any(s is None or s <= 0 for s in shares):
                errors["buyers"] = [N_("按份共有时，每位买方的份额都必须大于0")]
            elif not shares_add_up([Decimal(s) for s in shares]):
                errors["buyers"] = [SHARES_TOTAL % {"total": sum(shares)}]


class ContractForm(FormSchema):
    sellers = fields.List(fields.Nested(SellerSchema), required=True,
                          validate=validate.Length(min=1, max=20, error=N_("请为每位卖方填写联系电话（卖方至少1人）")),
                          error_messages=msgs(N_("卖方")), metadata={"label": N_("甲方（卖方）")})
    buyers = fields.List(fields.Nested(BuyerSchema), required=True,
                         validate=validate.Length(min=1, max=10, error=N_("买方至少1人、最多10人")),
                         error_messages=msgs(N_("买方")), metadata={"label": N_("乙方（买方）")})
    co_ownership = choice(N_("共有性质"), [N_("单独所有"), N_("共同共有"), N_("按份共有")], load_default=None, allow_none=True)
    price = amount(N_("成交价格"), required=True)
    payment_method = choice(N_("付款方式"), [N_("一次性付款"), N_("贷款"), N_("分期")], required=True)
    deposit = amount(N_("定金"), load_default=None, allow_none=True)
    delivery_date = fields.Date(required=True, error_messages=msgs(N_("交付日期")), metadata={"label": N_("房屋交付日期")})
    tax_bearer = choice(N_("税费承担"), [N_("按国家规定各自承担"), N_("买方承担"), N_("卖方承担")], required=True)
    default_liability = text(N_("违约责任"), 2000, load_default=None, allow_none=True)
    dispute_resolution = choice(N_("争议解决方式"), [N_("仲裁"), N_("诉讼")], required=True)
    supplementary_terms = text(N_("补充条款"), 5000, load_default=None, allow_none=True)

    # Run with the field errors too (not only once they are fixed): every problem of the form in one round.
    # ``data`` then holds only the fields that were valid, so each rule checks what it reads is there.
    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data, **_):
        errors: dict = {}
        if data.get("deposit") is not None and data.get("price") is not None and data["deposit"] > data["price"]:
            errors["deposit"] = [N_("定金不能超过成交价格")]
        rows = RowErrors()
        _people_rules(data, rows)
        errors.update(rows.rows)
        if "buyers" not in rows.rows:  # one message shape per field: shares are checked once the rows are right
            _share_rules(data, errors)
        if errors:
            raise ValidationError(errors)


def contract_for_edit(ctx) -> Contract:
    contract = ctx.session.get(Contract, ctx.task_data["contract"]["id"])
    contract.ensure_editable()
    return contract


def _check_against_contract(contract: Contract, data: dict) -> None:
    """The rows of sellers are the registry's owners, in order; no seller is also a buyer."""
    sellers = contract.sellers
    if len(data["sellers"]) != len(sellers):
        names = "、".join(s.name for s in sellers)
        raise ValidationError({"sellers": [SELLER_ROWS % {"n": len(sellers), "names": names}]})
    rows = RowErrors()
    for index, (seller, row) in enumerate(zip(sellers, data["sellers"])):
        if row.get("name") and normalize_text(row["name"]) != seller.name:
            rows.add("sellers", index, "name", SELLER_NAME % {"n": index + 1, "name": seller.name})
    seller_ids = {comparable_id(s.id_number) for s in sellers}
    for index, buyer in enumerate(data["buyers"]):
        if comparable_id(buyer["id_number"]) in seller_ids:
            rows.add("buyers", index, "id_number", SAME_AS_SELLER % {"rule": SAME_PERSON})
    if rows.rows:
        raise ValidationError(rows.rows)


def save_contract_form(ctx, data: dict) -> dict:
    contract = contract_for_edit(ctx)
    _check_against_contract(contract, data)
    for key in ("co_ownership", "price", "payment_method", "deposit", "delivery_date", "tax_bearer",
                "default_liability", "dispute_resolution", "supplementary_terms"):
        setattr(contract, key, data.get(key))
    for seller, row in zip(contract.sellers, data["sellers"]):
        seller.phone = row["phone"]
        seller.address = row.get("address")
    known = {comparable_id(p.id_number): p for p in contract.parties if p.side == "买方"}
    for party in known.values():
        party.active = False
    for position, buyer in enumerate(data["buyers"], start=1):
        found = known.get(comparable_id(buyer["id_number"]))
        party = found if found is not None else ContractParty(side="买方")
        if found is None:
            contract.parties.append(party)
        party.id_type, party.id_number = buyer["id_type"], buyer["id_number"]
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


def contract_form_values(contract: Contract) -> dict:
    """What the contract form shows before anyone types: one row per seller of the registry (with what
    an earlier round saved for them), and the terms and buyers of an earlier round."""
    values: dict = {"sellers": [{"name": s.name, "phone": s.phone, "address": s.address} for s in contract.sellers]}
    if contract.buyers:
        values["buyers"] = [{"name": b.name, "id_type": b.id_type, "id_number": b.id_number, "phone": b.phone,
                             "address": b.address, "share": b.share} for b in contract.buyers]
        values.update({key: getattr(contract, key) for key in (
            "co_ownership", "price", "payment_method", "deposit", "delivery_date", "tax_bearer",
            "dispute_resolution", "supplementary_terms")})
    return values
