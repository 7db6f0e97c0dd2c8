"""An HK owner with no account registers on the unified identity platform (「立即注册」, 账号密码), creates the
netsign account on 用户关联, verifies her home by 姓名+不动产单元号, fills the contract, and she and her buyer
sign it on the sandbox 粤信签 with their own QR codes until 首页 shows 「已签约」 — on a desktop and at phone
width (390 px). Screenshots in artifacts/browser/."""
from __future__ import annotations

import pytest

from handlers.demo import WONG_HK_PERMIT, ZHAO_MIN_ID
from tests.browser.test_walkthrough import (  # noqa: F401 (fixtures)
    browser,
    fill_terms_to_supervision,
    live_server,
    party_signs_with_own_code,
    see,
    shot,
    sign_in_by_yss,
    submit_and_confirm,
)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_hong_kong_owner_registers_and_signs_her_sale_contract(live_server, browser, width):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(live_server + "/login")
    page.click("a[href='/register/person']")
    see(page, "且为简体字")
    page.select_option("#id_type", "港澳居民来往内地通行证")
    page.fill("#id_number", WONG_HK_PERMIT)
    page.fill("#name", "黃麗華")  # traditional, as on her HK documents
    page.fill("#phone", "85261112222")
    page.fill("#username", f"wong{width}")
    page.fill("#password", "Harbour2026")
    page.fill("#password_again", "Harbour2026")
    page.click("button:has-text('注册')")
    see(page, "应写作「黄丽华」")
    shot(page, f"register-01-simplified-hint-{width}")
    assert page.input_value("#username") == f"wong{width}" and page.input_value("#password") == ""
    page.fill("#name", "黄丽华")
    page.fill("#password", "Harbour2026")
    page.fill("#password_again", "Harbour2026")
    page.click("button:has-text('注册')")
    see(page, "用户关联")
    shot(page, f"register-02-associate-{width}")
    page.click("button:has-text('无网签账号，创建个人网签账号')")
    see(page, "统一身份认证成功：黄丽华")

    page.click("button:has-text('签订买卖合同线上')")
    page.select_option("#business_type", "存量房买卖")
    page.click("button:has-text('下一步')")
    page.select_option("#query_mode", "姓名+不动产单元号")
    # Signed in, her name and document are preset and cannot be changed (guide: 房源验证).
    assert page.input_value("#owner_name") == "黄丽华" and not page.locator("#owner_name").is_editable()
    page.fill("#unit_no", "442000008001GB00555F00080808")
    page.click("button:has-text('查询')")
    see(page, "星汇云锦5幢801房")  # 「确认房源」 shows the home the registry found
    shot(page, f"register-03-home-found-{width}")

    fill_sign_and_file(page, browser, live_server, width)
    page.close()


def fill_sign_and_file(page, browser, base, width):  # noqa: F811
    """She fills the contract with her buyer, both sign with their own QR codes (she signs in with the password
    she registered), and she submits: 「已签约」."""
    page.click("button:has-text('签订合同')")
    assert page.input_value("[name=sellers-0-name]") == "黄丽华"
    page.fill("[name=sellers-0-phone]", "85261112222")
    page.fill("[name=buyers-0-name]", "赵敏")
    page.fill("[name=buyers-0-id_number]", ZHAO_MIN_ID)
    page.fill("[name=buyers-0-phone]", "13900005555")
    fill_terms_to_supervision(page, applicant=("黄丽华", "13712345678"))
    page.click("button:has-text('保存并继续')")  # 不选择资金监管
    page.check("input[name=acknowledged]")
    page.click("button:has-text('保存并继续')")
    submit_and_confirm(page)
    page.click("button:has-text('生成电子合同订单')")
    see(page, "已创建订单，待签字")
    contract_url = page.url.split("?")[0]

    def sign_in_with_password(own, base, _person):
        own.goto(base + "/login")
        own.fill("#username", f"wong{width}")
        own.fill("#password", "Harbour2026")
        own.click("form[action*='password'] button:has-text('登录')")
        see(own, "我的合同")

    party_signs_with_own_code(browser, base, contract_url, "黄丽华", WONG_HK_PERMIT, f"hk-seller-{width}",
                              sign_in=sign_in_with_password)
    party_signs_with_own_code(browser, base, contract_url, "赵敏", ZHAO_MIN_ID, f"hk-buyer-{width}",
                              sign_in=sign_in_by_yss)
    page.goto(contract_url)
    see(page, "订单已经完成签字")
    page.click("a.btn:has-text('提交')")
    submit_and_confirm(page)
    see(page, "已签约")
    shot(page, f"register-04-signed-{width}")
