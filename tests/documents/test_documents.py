"""Printed forms: Chinese titles and the contract's data come out of the PDF; amounts in capital numerals."""
from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest

from handlers.documents import FORMS, capital_amount, contract_sections
from handlers.qr import qr_png
from tests.processes.flows import sign_all, to_signing, contract_of


@pytest.mark.parametrize("amount, words", [
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ("100", "壹佰元整"),
    ("100000.05", "壹拾万元零伍分"),
    ("1000000", "壹佰万元整"),
    ("10.5", "壹拾元伍角"),
    ("1580000", "壹佰伍拾捌万元整"),
    ("100010", "壹拾万零壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("105000", "壹拾万伍仟元整"),
    ("0.5", "伍角"),
    ("200000000", "贰亿元整"),
    ("20000001", "贰仟万零壹元整"),
])
def test_capital_numerals(amount, words):
    assert capital_amount(Decimal(amount)) == words


@pytest.fixture
def signed_contract(harness, accounts):
    case = to_signing(harness, accounts["张伟"])
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(accounts["张伟"].id))
    return contract_of(harness, case)


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("key", sorted(FORMS))
def test_each_form_shows_title_and_contract_data(signed_contract, key):
    title, render = FORMS[key]
    text = pdf_text(render(signed_contract))
    assert title in text.replace(" ", "")
    assert signed_contract.contract_no in text
    assert "赵敏" in text or key in ("supervision_waiver", "termination_agreement", "cancellation_application")


def test_sale_contract_has_every_term_and_the_price_in_words(signed_contract):
    text = pdf_text(FORMS["sale_contract"][1](signed_contract)).replace(" ", "")
    assert "壹佰伍拾捌万元整" in text and "1,580,000.00" in text
    for label, value in [row for _, rows in contract_sections(signed_contract) for row in rows]:
        assert label in text


def test_qr_code_is_a_png():
    data = qr_png("http://127.0.0.1:5000/sandbox/esign/abc")
    assert data.startswith(b"\x89PNG") and len(data) > 300


@pytest.mark.parametrize("typed", ["<b>未闭合的粗体", '<img src="/etc/passwd"/>以及 & 符号', "第一行\n第二行</para>"])
def test_markup_typed_into_a_field_is_printed_as_text(signed_contract, typed):
    """What a person typed into 补充条款 reaches the PDF as characters: no broken print button,
    no server-local file pulled into the document."""
    signed_contract.supplementary_terms = typed
    text = pdf_text(FORMS["sale_contract"][1](signed_contract))
    for line in typed.split("\n"):
        assert line.replace(" ", "") in text.replace(" ", "")
