"""Field builders shared by the task forms: every field carries its Chinese label, and every message
names the field, so a person knows what to fix.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .i18n import N_, template
from .models import Money
from .validation import FormatError, positive_money

# Every message names the field: built from these templates, so an English page translates both.
REQUIRED = template(N_("%(label)s为必填项"))
NOT_EMPTY = template(N_("%(label)s不能为空"))
MALFORMED = template(N_("%(label)s格式不正确"))
BAD_CHOICE = template(N_("%(label)s的取值无效"))
ONLY_CHOICES = template(N_("%(label)s只能是：%(choices)s"))
TOO_LONG = template(N_("%(label)s不能超过%(n)s个字"))
NOT_A_NUMBER = template(N_("%(label)s应为数字，例如 2000000 或 2,000,000"))
NOT_AN_AMOUNT = template(N_("%(label)s应为金额数字（不能是NaN或无穷大）"))
LABEL_PROBLEM = template(N_("%(label)s%(problem)s"))  # a validation.FormatError after the field's name
LABEL_COLON_PROBLEM = template(N_("%(label)s：%(problem)s"))


def msgs(label: str) -> dict:
    return {"required": REQUIRED % {"label": label}, "null": NOT_EMPTY % {"label": label},
            "invalid": MALFORMED % {"label": label}, "invalid_choice": BAD_CHOICE % {"label": label}}


def choice(label: str, options, **kwargs) -> fields.String:
    """A choice among Chinese values: what is posted and stored is the Chinese value, the page shows it translated."""
    error = ONLY_CHOICES % {"label": label, "choices": "、".join(options)}
    return fields.String(validate=validate.OneOf(options, error=error),
                         error_messages=msgs(label), metadata={"label": label, "choices": list(options)}, **kwargs)


def text(label: str, max_len: int = 200, validate_also=None, **kwargs) -> fields.String:
    """A text field; ``required`` text must also be non-blank. One message per problem: an empty required
    field is 「必填」 only (not also 「格式不正确」), a long one 「不能超过…个字」, else the field's own check."""
    required = kwargs.get("required", False)

    def check(value: str) -> None:
        if not value.strip():
            if required:
                raise ValidationError(REQUIRED % {"label": label})
            return
        if len(value) > max_len:
            raise ValidationError(TOO_LONG % {"label": label, "n": max_len})
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
    messages = dict(msgs(label), invalid=NOT_A_NUMBER % {"label": label}, special=NOT_AN_AMOUNT % {"label": label})
    return Number(places=None, as_string=False, error_messages=messages, metadata={"label": label}, **kwargs)


def amount(label: str, **kwargs) -> fields.Decimal:
    """Money in 元: positive, and within the precision of the column that stores it (``models.Money``),
    so that what is accepted is what is stored, on SQLite and PostgreSQL alike."""

    def check(value):
        try:
            positive_money(value, Money.precision or 14, Money.scale or 2)
        except FormatError as err:
            raise ValidationError(LABEL_PROBLEM % {"label": label, "problem": err}) from err

    return money(label, validate=check, **kwargs)


PHONE_RE = r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\+?\d{6,15})$"


def phone_field(label: str) -> fields.String:
    return text(label, 30, required=True, validate_also=validate.Regexp(PHONE_RE, error=MALFORMED % {"label": label}))


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # buttons and CSRF tokens arrive with the form; they are not data


def must_be_true(label: str):
    return fields.Boolean(required=True, validate=validate.Equal(True, error=label),
                          error_messages={"required": label, "invalid": label}, metadata={"label": label})


def flag(label: str, **kwargs) -> fields.Boolean:
    return fields.Boolean(error_messages=msgs(label), metadata={"label": label}, **kwargs)
