"""Every drafting step shows what the person needs (guide §2.2 (二)–(七)): the signed-in owner at
房源验证, the home at 「确认房源」 and on the contract form, the diagram's notes and advice, the whole
contract before 「提交」 and 「生成电子合同订单」, the step indicator, forms prefilled on re-edit,
refusals with their reason, a failed query that keeps what was typed."""
from __future__ import annotations

import re

from .conftest import login_as
from .test_portal import CERT, CONTRACT, follow_task, walk_to_signing

HOME = "中山市石岐街道民族东路88号翠景花园3幢1502房"


def to_query(client):
    url = follow_task(client, client.post("/start/online_signing"))
    return follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))


def current_step(page: str) -> str:
    return re.search(r'<li class="current" aria-current="step">([^<]+)</li>', page).group(1)


def test_the_query_page_presets_the_signed_in_owner_read_only(client, account_id):
    from handlers.demo import ZHANG_WEI_ID
    login_as(client, account_id("张伟"))
    page = client.get(to_query(client)).data.decode()
    assert re.search(r'id="fixed_name" type="text" value="张伟" readonly', page)
    assert re.search(rf'id="fixed_id" type="text" value="{ZHANG_WEI_ID}" readonly', page)
    assert re.search(r'name="owner_name" value="张伟" readonly', page)  # 姓名+不动产单元号: the name is fixed
    assert current_step(page) == "房源验证"


def test_a_failed_query_keeps_what_was_typed(client, account_id):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post(to_query(client), data=dict(CERT, check_code="000000")))
    page = client.get(url).data.decode()
    assert "未查询到房源" in page
    assert 'value="粤(2023)中山市不动产权第0012345号"' in page and 'value="000000"' in page


def test_confirm_property_and_the_contract_form_show_the_home_and_seller(client, account_id):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post(to_query(client), data=CERT))
    confirm = client.get(url).data.decode()
    assert 'id="home-info"' in confirm and HOME in confirm and "442000" in confirm  # 不动产单元号
    assert current_step(confirm) == "确认房源"
    form = client.get(follow_task(client, client.post(url, data={}))).data.decode()
    assert HOME in form and re.search(r"<th>权属人（卖方）</th><td>张伟</td>", form)
    assert current_step(form) == "填写买卖合同"


def walk_to_fund_supervision(client):
    from handlers.demo import ZHAO_MIN_ID
    url = follow_task(client, client.post(to_query(client), data=CERT))
    url = follow_task(client, client.post(url, data={}))
    url = follow_task(client, client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID})))
    url = follow_task(client, client.post(url, data={"applicant_name": "张伟", "applicant_phone": "13800001111"}))
    return follow_task(client, client.post(url, data={"rating_level": "非常满意"}))


def test_advice_notes_and_summary_come_before_each_click(client, account_id):
    login_as(client, account_id("张伟"))
    url = walk_to_fund_supervision(client)
    fund = client.get(url).data.decode()
    assert "建议选择资金监管" in fund and "龙存管" in fund and "《用户操作手册》" in fund
    url = follow_task(client, client.post(url, data={}))  # 不选择资金监管
    notes = client.get(url).data.decode()
    assert 'id="guidance"' in notes and "0760-88363077" in notes and "不动产转移登记" in notes
    assert "系统将自动删除该合同" in notes and current_step(notes) == "注意事项"
    url = follow_task(client, client.post(url, data={"acknowledged": "on"}))
    submit = client.get(url).data.decode()
    assert "再次确认合同信息无误" in submit and "1,580,000.00 元" in submit and "赵敏" in submit
    assert 'data-dialog="confirm-submit"' in submit and "<dialog" in submit

    # Without JS, 「提交」 asks on the page, and nothing is submitted until 「确定」.
    asked = client.post(url, data={})
    assert asked.status_code == 200 and 'id="asking"' in asked.data.decode()
    assert client.get(url).status_code == 200  # the task is still open
    order = client.get(follow_task(client, client.post(url, data={"confirmed": "1"}))).data.decode()
    assert "再次确认合同信息无误" in order and current_step(order) == "生成电子合同订单"


def test_every_form_is_prefilled_after_the_order_is_cancelled_for_editing(client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    client.post(contract_url + "/cancel-order", data={"confirmed": "1"})
    todo = client.get("/todo").data.decode()
    choose = re.search(r'href="(/task/[^"]+)"[^>]*>选择修改或删除', todo).group(1)
    url = follow_task(client, client.post(choose, data={"after_cancel_action": "修改合同"}))
    assert 'value="赵敏"' in client.get(url).data.decode()
    url = follow_task(client, client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID})))
    applicant = client.get(url).data.decode()
    assert 'value="张伟"' in applicant and 'value="13800001111"' in applicant
    url = follow_task(client, client.post(url, data={"applicant_name": "张伟", "applicant_phone": "13800001111"}))
    assert '<option value="非常满意" selected>' in client.get(url).data.decode()
    url = follow_task(client, client.post(url, data={"rating_level": "非常满意"}))
    fund = client.get(url).data.decode()
    assert 'name="fund_supervised" >' in fund  # answered 「否」 the first time (建设银行: test_fund_supervision_pages)
    url = follow_task(client, client.post(url, data={}))
    assert re.search(r'name="acknowledged" checked', client.get(url).data.decode())


def test_refusals_say_why_in_the_guides_words(client, account_id):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post("/start/online_signing"))
    gift = client.post(url, data={"business_type": "房屋赠与"}, follow_redirects=True).data.decode()
    assert "业务已结束：不予受理。原因：房屋赠与：房屋赠与、土地买卖等不属于存量房网签的范围" in gift
    land = client.post(to_query(client), data={"query_mode": "证书号", "certificate_no": "粤(2024)中山市不动产权第0031415号",
                                               "check_code": "141592"}, follow_redirects=True).data.decode()
    assert "不予受理。原因：" in land and "土地买卖" in land
