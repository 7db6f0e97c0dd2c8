"""「立即注册」 on the unified identity platform: the forms of 账号密码 (港澳台 and foreign people) and of 法人
(a unit selling a home in its own name). Every message names its field, and all of them come in one round."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validates, validates_schema

from .form_fields import FormSchema, choice, msgs, phone_field, text
from .validation import (FormatError, check_certificate_name, check_new_password, check_uscc,
                         validate_id_number)

# The documents 港澳台 and foreign people register with (mainland residents sign in by 粤省事 instead).
PERSON_ID_TYPES = ["港澳居民来往内地通行证", "台湾居民来往大陆通行证", "港澳台居民居住证", "外国人永久居留身份证", "护照"]
REPRESENTATIVE_ID_TYPES = ["居民身份证", *PERSON_ID_TYPES]


def _registration_errors(data, type_field: str, number_field: str, id_types: list[str],
                         label: str) -> dict[str, list[str]]:
    """What only the whole form can tell: the document number for its type, and the password twice."""
    errors: dict[str, list[str]] = {}
    if data.get(type_field) in id_types and data.get(number_field):
        try:
            validate_id_number(data[type_field], data[number_field])
        except FormatError as err:
            errors[number_field] = [f"{label}{err}"]
    errors.update(_password_errors(data))
    return errors


def _password_errors(data) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        check_new_password(data.get("password", ""))
    except FormatError as err:
        errors["password"] = [f"密码{err}"]
    if "password" not in errors and data.get("password") != data.get("password_again"):
        errors["password_again"] = ["两次输入的密码不一致"]
    return errors


class PersonRegistration(FormSchema):
    id_type = choice("证件类型", PERSON_ID_TYPES, required=True)
    id_number = text("证件号码", 30, required=True)
    name = text("姓名", 50, required=True)
    phone = phone_field("手机号码")
    username = text("账号", 30, required=True)
    password = fields.String(required=True, error_messages=msgs("密码"))
    password_again = fields.String(required=True, error_messages=msgs("确认密码"))

    @validates("name")
    def _name(self, value, **_):
        try:
            check_certificate_name(value)
        except FormatError as err:
            raise ValidationError(f"姓名{err}") from err

    @validates("username")
    def _username(self, value, **_):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{3,29}", value.strip()):
            raise ValidationError("账号应为4至30位字母、数字或「_ . -」，以字母开头")

    @validates_schema(skip_on_field_errors=False)
    def _checks(self, data, **_):
        errors = _registration_errors(data, "id_type", "id_number", PERSON_ID_TYPES, "证件号码")
        if errors:
            raise ValidationError(errors)


class LegalPersonRegistration(FormSchema):
    unit_name = text("单位名称", 100, required=True)
    uscc = text("统一社会信用代码", 18, required=True)
    representative = text("法定代表人姓名", 50, required=True)
    representative_id_type = choice("法定代表人证件类型", REPRESENTATIVE_ID_TYPES, required=True)
    representative_id = text("法定代表人证件号码", 30, required=True)
    phone = phone_field("联系电话")
    password = fields.String(required=True, error_messages=msgs("密码"))
    password_again = fields.String(required=True, error_messages=msgs("确认密码"))

    @validates("uscc")
    def _uscc(self, value, **_):
        try:
            check_uscc(value)
        except FormatError as err:
            raise ValidationError(str(err)) from err

    @validates_schema(skip_on_field_errors=False)
    def _checks(self, data, **_):
        errors = _registration_errors(data, "representative_id_type", "representative_id", REPRESENTATIVE_ID_TYPES,
                                      "法定代表人证件号码")
        if errors:
            raise ValidationError(errors)
