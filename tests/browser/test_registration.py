"""An HK owner with no account registers on the unified identity platform (「立即注册」, 账号密码), creates the
netsign account on 用户关联, and verifies her home by 姓名+不动产单元号 — on a desktop and at phone width
(390 px). Screenshots in artifacts/browser/."""
from __future__ import annotations

import pytest

from handlers.demo import WONG_HK_PERMIT
from tests.browser.test_walkthrough import browser, live_server, see, shot  # noqa: F401 (fixtures)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_hong_kong_owner_registers_and_finds_her_home(live_server, browser, width):  # noqa: F811
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
    page.close()
