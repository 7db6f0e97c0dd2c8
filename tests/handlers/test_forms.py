"""Form schemas: what a person sees when a form is filled wrongly."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from handlers.forms import (AfterCancelForm, ApplicantInfoForm, BusinessTypeForm, ConfirmForm, ContractForm,
                            FundSupervisionForm, NotesForm, PropertyQueryForm, RatingForm)


def errors_of(schema, data) -> dict:
    with pytest.raises(ValidationError) as err:
        schema().load(data)
    return err.value.messages


def test_bad_rating_needs_a_comment():
    assert errors_of(RatingForm, {"rating_level": "不满意"}) == {
        "rating_comment": ["选择「不满意」或「非常不满意」时，请填写评价内容说明原因"]}
    assert RatingForm().load({"rating_level": "非常不满意", "rating_comment": "等待太久"})["rating_comment"] == "等待太久"
    assert "好差评评价只能是" in errors_of(RatingForm, {"rating_level": "还行"})["rating_level"][0]


def test_supervision_needs_a_bank_and_declining_clears_it():
    assert errors_of(FundSupervisionForm, {"fund_supervised": True}) == {
        "supervision_bank": ["选择监管交易资金时，请选择监管银行"]}
    assert FundSupervisionForm().load({"fund_supervised": False, "supervision_bank": "建设银行"})[
        "supervision_bank"] is None


def test_required_fields_are_named():
    assert errors_of(BusinessTypeForm, {}) == {"business_type": ["业务类型为必填项"]}
    assert errors_of(ApplicantInfoForm, {"applicant_name": "张伟", "applicant_phone": "12345"}) == {
        "applicant_phone": ["申请人手机号码应为11位手机号"]}
    assert errors_of(AfterCancelForm, {"after_cancel_action": "撤销"})["after_cancel_action"][0].startswith("后续操作只能是")


def test_confirmations_must_be_given():
    assert errors_of(NotesForm, {"acknowledged": False}) == {"acknowledged": ["请阅读并勾选「我已阅读并知悉注意事项」"]}
    assert errors_of(ConfirmForm, {}) == {"confirmed": ["请点击「确定」确认提交"]}


def test_property_query_by_mode():
    assert errors_of(PropertyQueryForm, {"query_mode": "证书号"}) == {
        "certificate_no": ["房产证号或不动产权证号为必填项"], "check_code": ["校验码为必填项"]}
    assert set(errors_of(PropertyQueryForm, {"query_mode": "姓名+不动产单元号"})) == {"owner_name", "unit_no"}
    loaded = PropertyQueryForm().load({"certificate_no": "粤(2023)中山市不动产权第0012345号", "check_code": "1",
                                       "csrf_token": "x", "submit": "查询"})
    assert loaded["first_generation_id"] is False and loaded["unit_no"] is None and "csrf_token" not in loaded


def contract(**overrides) -> dict:
    form = {"sellers": [{"phone": "13800001111"}],
            "buyers": [{"name": "赵敏", "id_number": "11010519491231002X", "phone": "13900005555"}],
            "price": "1580000", "payment_method": "贷款", "delivery_date": "2027-01-15",
            "tax_bearer": "按国家规定各自承担", "dispute_resolution": "仲裁"}
    form.update(overrides)
    return form


@pytest.mark.parametrize("value", ["1e30", 1e30, "NaN", "Infinity", "-Infinity", "-1", "0", "1000000000000"])
def test_contract_money_outside_numeric_14_2_is_a_field_message(value):
    assert set(errors_of(ContractForm, contract(price=value))) == {"price"}
    assert set(errors_of(ContractForm, contract(deposit=value))) == {"deposit"}
    assert errors_of(ContractForm, contract(price=value))["price"][0].startswith("成交价格")


def test_contract_form_compares_ids_after_15_to_18_and_phones_by_digits():
    buyers = [{"name": "赵敏", "id_number": "440524198001010013", "phone": "13900005555"},
              {"name": "赵敏", "id_number": "440524800101001", "phone": "13900006666"}]
    assert errors_of(ContractForm, contract(buyers=buyers, co_ownership="共同共有")) == {
        "buyers": {1: {"id_number": ["证件号码与第1位买方相同：同一人在一份合同中只能出现一次，每一格只能填写一个人"]}}}
    sellers = [{"phone": "0760-88880000"}, {"phone": "076088880000"}]
    assert errors_of(ContractForm, contract(sellers=sellers)) == {
        "sellers": {1: {"phone": ["联系电话与第1位卖方相同：每位卖方、买方须填写本人的联系电话"]}}}


def test_contract_form_needs_a_row_per_seller():
    assert errors_of(ContractForm, contract(sellers=[])) == {"sellers": ["请为每位卖方填写联系电话（卖方至少1人）"]}
    assert "sellers" in errors_of(ContractForm, {k: v for k, v in contract().items() if k != "sellers"})
