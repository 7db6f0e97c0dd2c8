"""Field builders shared by the task forms: every field carries its Chinese label, and every message
names the field, so a person knows what to fix.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .models import Money
from .validation import FormatError, positive_money


def msgs(label: str) -> dict:
    return {"required": f"{label}为必填项", "null": f"{label}不能为空", "invalid": f"{label}格式不正确",
            "invalid_choice": f"{label}的取值无效"}


def choice(label: str, options, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(options, error=f"{label}只能是：{'、'.join(options)}"),
                         error_messages=msgs(label), metadata={"label": label, "choices": list(options)}, **kwargs)


def text(label: str, max_len: int = 200, validate_also=None, **kwargs) -> fields.String:
    """A text field; ``required`` text must also be non-blank. One message per problem: an empty required
    field is 「必填」 only (not also 「格式不正确」), a long one 「不能超过…个字」, else the field's own check."""
    required = kwargs.get("required", False)

    def check(value: str) -> None:
        if not value.strip():
            if required:
                raise ValidationError(f"{label}为必填项")
            return
        if len(value) > max_len:
            raise ValidationError(f"{label}不能超过{max_len}个字")
        if validate_also is not None:
            validate_also(value)

    return fields.String(validate=check, error_messages=msgs(label), metadata={"label": label}, **kwargs)


class Number(fields.Decimal):
    """A decimal as people type it: 「2,000,000」, 「2，000，000」 and 「2 000 000」 mean 2000000."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").replace(" ", "").replace("\u3000", "")
        return super()._deserialize(value, attr, data, **kwargs)


def money(label: str, **kwargs) -> fields.Decimal:
    # "special" is marshmallow's message for NaN and Infinity; its default is English.
    messages = dict(msgs(label), invalid=f"{label}应为数字，例如 2000000 或 2,000,000",
                    special=f"{label}应为金额数字（不能是NaN或无穷大）")
    return Number(places=None, as_string=False, error_messages=messages, metadata={"label": label}, **kwargs)


def amount(label: str, **kwargs) -> fields.Decimal:
    """Money in 元: positive, and within the precision of the column that stores it (``models.Money``),
    so that what is accepted is what is stored, on SQLite and PostgreSQL alike."""

    def check(value):
        try:
            positive_money(value, Money.precision or 14, Money.scale or 2)
        except FormatError as err:
            raise ValidationError(f"{label}{err}") from err

    return money(label, validate=check, **kwargs)


PHONE_RE = r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\+?\d{6,15})$"


def phone_field(label: str) -> fields.String:
    return text(label, 30, required=True, validate_also=validate.Regexp(PHONE_RE, error=f"{label}格式不正确"))


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # buttons and CSRF tokens arrive with the form; they are not data


def must_be_true(label: str):
    return fields.Boolean(required=True, validate=validate.Equal(True, error=label),
                          error_messages={"required": label, "invalid": label}, metadata={"label": label})


def flag(label: str, **kwargs) -> fields.Boolean:
    return fields.Boolean(error_messages=msgs(label), metadata={"label": label}, **kwargs)
