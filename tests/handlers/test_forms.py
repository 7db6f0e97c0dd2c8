"""Form schemas: what a person sees when a form is filled wrongly."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from handlers.forms import (AfterCancelForm, ApplicantInfoForm, BusinessTypeForm, ConfirmForm, FundSupervisionForm,
                            NotesForm, PropertyQueryForm, RatingForm)


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
