"""What a person reads when a form is wrong: one message per problem, 「必填」 apart from 「格式不正确」, every
problem of the contract form in one round, amounts as people type them, and no required choice made for them."""
from __future__ import annotations

import re

import sqlalchemy as sa

from handlers.demo import ZHAO_MIN_ID
from handlers.models import Contract
from web.extensions import db

from .conftest import login_as
from .test_contract_form_page import contract_form_url
from .test_portal import CONTRACT, follow_task


def test_a_required_choice_starts_unchosen(app, client, account_id):
    login_as(client, account_id("张伟"))
    page = client.get(contract_form_url(client)).data.decode()
    select = re.search(r'<select id="dispute_resolution".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="" selected disabled>', select)
    assert not re.search(r'<option value="仲裁" selected', select)


def test_empty_amount_and_date_are_required_not_malformed_and_all_problems_come_at_once(app, client, account_id):
    login_as(client, account_id("张伟"))
    url = contract_form_url(client)
    form = dict(CONTRACT, price="", delivery_date="", deposit="100", **{"sellers-0-phone": ""})
    page = client.post(url, data=form).data.decode()
    assert "成交价格为必填项" in page and "交付日期为必填项" in page
    assert "格式不正确" not in page
    assert page.count("联系电话为必填项") == 1
    # a rule between fields is named in the same round as the field messages
    form = dict(CONTRACT, price="50", deposit="100", **{"sellers-0-phone": ""})
    page = client.post(url, data=form).data.decode()
    assert "定金不能超过成交价格" in page and "联系电话为必填项" in page


def test_amounts_with_thousands_separators_are_accepted(app, client, account_id):
    login_as(client, account_id("张伟"))
    url = contract_form_url(client)
    page = client.post(url, data=dict(CONTRACT, price="abc")).data.decode()
    assert "成交价格应为数字，例如 2000000 或 2,000,000" in page
    follow_task(client, client.post(url, data=dict(CONTRACT, price="2,580,000", deposit="100，000",
                                                         **{"buyers-0-id_number": ZHAO_MIN_ID})))
    with app.app_context():
        contract = db.session.scalars(sa.select(Contract)).one()
        assert (contract.price, contract.deposit) == (2580000, 100000)
        db.session.remove()


def test_a_share_reads_as_entered():
    from decimal import Decimal

    from handlers.validation import format_share
    assert [format_share(Decimal(v)) for v in ("60.0000", "33.3300", "100")] == ["60", "33.33", "100"]
