"""The citizen portal in English (GET /lang/en): the pages a citizen walks through show no Chinese of their own.
What may stay Chinese is data people typed or the register holds (names, addresses, certificate numbers), legal
document names in 《》 and the 「中文」 language link; the Chinese pages keep the guide's wording."""
from __future__ import annotations

import re
from html import unescape

from handlers.demo import ZHAO_MIN_ID, resident_id

from .conftest import login_as
from .test_portal import follow_task, walk_to_signing

CJK = re.compile(r"[\u4e00-\u9fff]+")
# Data: the demo people and homes, as the register and the parties wrote them.
DATA = [re.compile(p) for p in (
    r"《[^》]*》",
    r"粤\(\d{4}\)中山市不动产权第\d+号",
    r"中山市[^\s<]*(?:号咨询台|号|室|房)",
    r"(?:张伟|赵敏|黄丽|李秀英|陈家明|陳家明|黄丽华|王强|刘芳|孙磊|周婷)",  # 陳家明: the hint's traditional example
)]
# Words the code under handlers/ hands to the pages at run time (task names, statuses, form labels, choices,
# messages); their English belongs to the catalog entries of handlers' strings, not to these templates.
# Listed here until their catalog entries land; a word of a template or of web/ must never be added.
FROM_HANDLERS = {
    "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "护照", "外国人永久居留身份证", "港澳台居民居住证",  # ID types
    "已提交", "已创建订单", "待签字", "签约",  # contract, order and signature statuses, an order's purpose
    "选择业务类型", "确认房源", "填写买卖合同", "申请人信息", "好差评信息", "资金监管信息", "注意事项",  # steps
    "存量房买卖", "房屋赠与", "土地买卖",  # 业务类型's choices
}


def chinese_left(page: str) -> list[str]:
    """Chinese in what a reader sees: text and the attributes shown (alt, title, placeholder, aria-label)."""
    page = re.sub(r"<script.*?</script>|<template.*?</template>", "", page, flags=re.DOTALL)
    shown = re.findall(r'(?:alt|title|placeholder|aria-label)="([^"]*)"', page)
    text = " ".join([re.sub(r"<[^>]+>", " ", page), *shown])
    text = unescape(text)
    text = re.sub(r"(?<![\u4e00-\u9fff])中文(?![\u4e00-\u9fff])", "", text)  # the language link
    for pattern in DATA:
        text = pattern.sub("", text)
    return sorted(set(CJK.findall(text)) - FROM_HANDLERS)


def english(client):
    client.get("/lang/en")
    return client


def test_sign_in_and_registration_pages_are_english(client):
    english(client)
    for url in ("/login", "/register/person", "/register/legal-person"):
        page = client.get(url).data.decode()
        assert "Unified sign-in" in page or "Register" in page
        assert chinese_left(page) == [], f"{url}: {chinese_left(page)}"


def test_association_page_is_english(client):
    english(client)
    client.post("/login/yss-new", data={"name": "黄丽", "id_number": resident_id("44200019880808123")})
    page = client.get("/associate").data.decode()
    assert "Link an existing account" in page
    assert chinese_left(page) == []


def test_home_todo_task_and_contract_pages_are_english(client, account_id):
    english(client)
    login_as(client, account_id("张伟"))
    pages = {"/": client.get("/").data.decode(), "/todo": client.get("/todo").data.decode()}
    first_task = follow_task(client, client.post("/start/online_signing"))
    pages[first_task] = client.get(first_task).data.decode()
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    for url in (contract_url, contract_url + "?qr=1", contract_url + "/cancel-order", "/", "/todo"):
        pages[url] = client.get(url).data.decode()
    left = {url: chinese_left(page) for url, page in pages.items() if chinese_left(page)}
    assert left == {}, "\n".join(f"{url}: {words}" for url, words in left.items())


def test_the_chinese_pages_keep_their_words(client, account_id):
    """English is opt-in: without /lang/en the portal speaks the guide's Chinese."""
    login_as(client, account_id("张伟"))
    home = client.get("/").data.decode()
    assert "如有疑问，请拨打咨询电话" in home and "待办业务" in home and ">English<" in home
    page = client.get("/login").data.decode()
    assert '如有疑问，请拨打咨询电话 <a href="tel:0760-88363077">0760-88363077</a>。' in page
    assert "<title>统一认证登录 · 中山市存量房买卖合同网签备案系统</title>" in page
