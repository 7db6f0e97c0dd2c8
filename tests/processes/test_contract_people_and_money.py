"""The guide's rules about the people and the money on a contract, through the real contract form of the
diagrams: a refused form names the field and saves nothing (on the test database, SQLite or PostgreSQL)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine import FormInvalid
from handlers.contract_form import contract_form_values
from handlers.demo import LIU_FANG_ID, ZHANG_WEI_ID, ZHAO_MIN_ID
from handlers.validation import id18_to_15

from .flows import (BUYER_SUN, BUYER_ZHAO, contract_form, contract_of, draft, open_order, sign, start_and_verify,
                    to_signing)

JOINT_HOME = {"query_mode": "证书号", "certificate_no": "粤(2022)中山市不动产权第0567890号", "check_code": "915372"}
WANG, LIU = {"phone": "13800003333"}, {"phone": "13800004444"}


def at_contract_form(harness, seller, query=None):
    case = start_and_verify(harness, seller, query) if query else start_and_verify(harness, seller)
    case.complete("确认房源", {}, actor=str(seller.id))
    assert case.current_tasks() == ["填写买卖合同"]
    return case


def refused(harness, case, seller, form) -> dict:
    """The form is refused with field messages, the task stays and the contract is as it was."""
    with pytest.raises(FormInvalid) as err:
        case.complete("填写买卖合同", form, actor=str(seller.id))
    assert case.current_tasks() == ["填写买卖合同"]
    contract = contract_of(harness, case)
    assert contract.price is None and contract.buyers == []
    assert all(s.phone is None for s in contract.sellers)
    return err.value.errors


# ---------------------------------------------------------------- people

def test_the_seller_is_never_a_buyer(harness, accounts):
    seller = accounts["张伟"]
    case = at_contract_form(harness, seller)
    himself = {"name": "张伟", "id_type": "居民身份证", "id_number": ZHANG_WEI_ID, "phone": "13900009999"}
    errors = refused(harness, case, seller, contract_form([BUYER_ZHAO, himself], co_ownership="共同共有"))
    assert errors == {"buyers": {1: {"id_number": ["证件号码与本合同的卖方相同：卖方不能同时作为买方，同一人在一份合同中只能出现一次"]}}}


def test_a_joint_seller_written_with_the_first_generation_id_is_still_a_seller(harness, accounts):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    liu_as_buyer = {"name": "刘芳", "id_type": "居民身份证", "id_number": id18_to_15(LIU_FANG_ID), "phone": "13900009999"}
    errors = refused(harness, case, seller, contract_form([liu_as_buyer], sellers=[WANG, LIU]))
    assert "卖方不能同时作为买方" in errors["buyers"][0]["id_number"][0]


def test_one_person_once_even_with_15_and_18_digit_ids(harness, accounts):
    seller = accounts["张伟"]
    case = at_contract_form(harness, seller)
    zhao_again = dict(BUYER_ZHAO, id_number=id18_to_15(ZHAO_MIN_ID), phone="13900009999")
    errors = refused(harness, case, seller, contract_form([BUYER_ZHAO, BUYER_SUN, zhao_again],
                                                          co_ownership="共同共有"))
    assert errors == {"buyers": {2: {"id_number": ["证件号码与第1位买方相同：同一人在一份合同中只能出现一次，每一格只能填写一个人"]}}}


def test_joint_sellers_each_keep_their_own_phone(harness, accounts):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    prefilled = contract_form_values(contract_of(harness, case))
    assert [row["name"] for row in prefilled["sellers"]] == ["王强", "刘芳"] and "buyers" not in prefilled
    sellers = [dict(WANG, name="王强", address="中山市东区"), dict(LIU, address="中山市西区")]
    case.complete("填写买卖合同", contract_form([BUYER_ZHAO], sellers=sellers), actor=str(seller.id))
    contract = contract_of(harness, case)
    assert [(s.name, s.phone, s.address) for s in contract.sellers] == [
        ("王强", "13800003333", "中山市东区"), ("刘芳", "13800004444", "中山市西区")]
    again = contract_form_values(contract)
    assert [row["phone"] for row in again["sellers"]] == ["13800003333", "13800004444"]
    assert again["buyers"][0]["id_number"] == ZHAO_MIN_ID


@pytest.mark.parametrize("sellers, buyers, where, message", [
    ([WANG, {"phone": "+8613800003333"}], [BUYER_ZHAO], ("sellers", 1), "联系电话与第1位卖方相同"),
    ([WANG, LIU], [dict(BUYER_ZHAO, phone="13800004444")], ("buyers", 0), "联系电话与第2位卖方相同"),
    ([WANG, LIU], [BUYER_ZHAO, dict(BUYER_SUN, phone="+8613900005555")], ("buyers", 1), "与第1位买方相同"),
])
def test_two_parties_with_one_phone_are_refused(harness, accounts, sellers, buyers, where, message):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    form = contract_form(buyers, sellers=sellers, co_ownership="共同共有" if len(buyers) > 1 else None)
    errors = refused(harness, case, seller, form)
    field, row = where
    assert message in errors[field][row]["phone"][0] and "本人的联系电话" in errors[field][row]["phone"][0]


@pytest.mark.parametrize("sellers, message", [
    ([WANG], "本合同的卖方共2人（王强、刘芳），请按顺序为每位卖方各填写一行联系电话"),
    ([WANG, LIU, {"phone": "13800008888"}], "本合同的卖方共2人"),
])
def test_every_seller_of_the_registry_has_a_row(harness, accounts, sellers, message):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    errors = refused(harness, case, seller, contract_form([BUYER_ZHAO], sellers=sellers))
    assert message in errors["sellers"][0]


def test_seller_rows_follow_the_registry_order(harness, accounts):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    swapped = [dict(WANG, name="刘芳"), dict(LIU, name="王强")]
    errors = refused(harness, case, seller, contract_form([BUYER_ZHAO], sellers=swapped))
    assert errors["sellers"][0]["name"] == ["第1位卖方应为「王强」：卖方以不动产登记为准，不能修改"]


def test_missing_seller_phone_names_the_field(harness, accounts):
    seller = accounts["王强"]
    case = at_contract_form(harness, seller, JOINT_HOME)
    errors = refused(harness, case, seller, contract_form([BUYER_ZHAO], sellers=[WANG, {"address": "中山市"}]))
    assert errors["sellers"][1]["phone"] == ["联系电话为必填项"]


def test_a_buyer_reentered_with_the_first_generation_id_is_the_same_party(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)  # 赵敏 with her 18-digit ID
    first = [p.id for p in contract_of(harness, case).buyers]
    case.send("esign_order_cancel", {"by": str(seller.id), "order_no": open_order(harness, case).order_no})
    case.complete("选择修改或删除", {"after_cancel_action": "修改合同"}, actor=str(seller.id))
    draft(case, seller, [dict(BUYER_ZHAO, id_number=id18_to_15(ZHAO_MIN_ID))])
    contract = contract_of(harness, case)
    assert [p.id for p in contract.buyers] == first
    assert contract.buyers[0].id_number == id18_to_15(ZHAO_MIN_ID)
    case.complete("生成电子合同订单", {}, actor=str(seller.id))
    order = open_order(harness, case)
    zhao = next(s for s in order.signatures if s.party.name == "赵敏")
    assert sign(harness, zhao, id_number=ZHAO_MIN_ID) is True  # 微警认证 with her 18-digit ID card


# ---------------------------------------------------------------- money

@pytest.mark.parametrize("field", ["price", "deposit"])
@pytest.mark.parametrize("value, message", [
    ("1e30", "最多12位整数"), ("1000000000000", "不能超过999999999999.99元"), ("NaN", "不能是NaN或无穷大"),
    ("Infinity", "不能是NaN或无穷大"), ("-1", "应大于0"), ("0", "应大于0"), ("12.345", "最多保留两位小数"),
])
def test_money_outside_the_stored_precision_names_the_field(harness, accounts, field, value, message):
    seller = accounts["张伟"]
    case = at_contract_form(harness, seller)
    errors = refused(harness, case, seller, contract_form(**{field: value}))
    label = {"price": "成交价格", "deposit": "定金"}[field]
    assert list(errors) == [field] and errors[field][0].startswith(label) and message in errors[field][0]


def test_the_largest_price_the_column_holds_is_stored_exactly(harness, accounts):
    seller = accounts["张伟"]
    case = at_contract_form(harness, seller)
    case.complete("填写买卖合同", contract_form(price="999999999999.99", deposit="999999999999.98"),
                  actor=str(seller.id))
    contract = contract_of(harness, case)
    assert (contract.price, contract.deposit) == (Decimal("999999999999.99"), Decimal("999999999999.98"))
