"""The sandbox pages (粤信签, 建设银行「龙存管」, the SMS outbox, the webhook receiver) read in English for an
English reader: what is left in Chinese is data (names, the contract's terms, a text message as sent), a
document's name in 《》 and the language switch's 中文."""
from __future__ import annotations

import html
import json
import re

import pytest

from handlers.demo import ZHANG_WEI_ID, ZHAO_MIN_ID

from .conftest import login_as
from .test_esign_pages import signatures
from .test_fund_supervision_pages import to_fund_page
from .test_portal import follow_task, walk_to_signing

NAMES = ("张伟", "赵敏")


def chinese_left(page: str) -> list[str]:
    """Chinese words an English reader still sees outside the data cells, names, 《》 titles and 中文."""
    text = re.sub(r"<script.*?</script>|<td[^>]*>.*?</td>|<input[^>]*>", " ", page, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"《[^》]*》", " ", text)
    for kept in (*NAMES, "中文"):
        text = text.replace(kept, " ")
    return re.findall(r"[\u4e00-\u9fff][^\sA-Za-z]*", text)


@pytest.fixture
def english(app):
    reader = app.test_client()
    reader.get("/lang/en")
    return reader


def test_the_esign_sandbox_reads_in_english_step_by_step(app, client, account_id, english):
    login_as(client, account_id("张伟"))
    walk_to_signing(client, ZHAO_MIN_ID)
    token = next(t for t, side, _, _ in signatures(app) if side == "卖方")
    url = f"/sandbox/esign/{token}"

    read = english.get(url).data.decode()
    assert "Sale contract 《广东省房地产买卖合同》 (contract no. ZS" in read and "Parties" in read
    assert "Please sign within 10 minutes." in read and "Signer Seller 张伟" in read
    auth = english.post(url, data={"step": "confirm"}).data.decode()
    assert "Police identity check" in auth and "Authorise" in auth
    refused = english.post(url, data={"step": "auth", "name": "张伟", "id_number": ZHAO_MIN_ID}).data.decode()
    assert "the name or ID number does not match the signer" in refused
    face = english.post(url, data={"step": "auth", "name": "张伟", "id_number": ZHANG_WEI_ID}).data.decode()
    prompts = json.loads(re.search(r"var prompts = (\[.*?\])", face).group(1))
    assert prompts == ["Please blink", "Please open your mouth", "Face recognised"]
    done = english.post(url, data={"step": "face"}).data.decode()
    assert "You have given your e-signature" in done
    for page in (read, auth, refused, face, done):
        assert chinese_left(page) == []
    # The Chinese reader's page keeps the guide's words.
    chinese = app.test_client().get(url).data.decode()
    assert "签名成功" in chinese and "您已完成电子签名授权，可返回存量房网上合同备案系统。" in chinese
    assert "签名成功" in chinese_left(chinese)  # the check itself sees untranslated words


def test_longcunguan_sms_and_webhook_sandboxes_read_in_english(app, client, account_id, english):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post(to_fund_page(client), data={"fund_supervised": "on",
                                                                      "supervision_bank": "建设银行"}))
    link = re.search(r'id="to-longcunguan" href="http://localhost(/sandbox/bank/longcunguan/CCB[0-9A-F]+)"',
                     client.get(url).data.decode()).group(1)
    bank = english.get(link).data.decode()
    assert "Fund supervision agreement 《存量房交易资金监管协议》" in bank and "CNY 1," in bank
    signed = english.post(link, data={"name-0": "张伟", "id_number-0": ZHANG_WEI_ID, "name-1": "赵敏",
                                      "id_number-1": ZHAO_MIN_ID}).data.decode()
    assert "Fund supervision agreement signed" in signed and "click “Next”" in signed

    with app.app_context():
        services = app.extensions["netsign"]
        services.adapters.sms.send(services.session, "13800001111", "【中山市存量房网签】合同ZS1已签约", "e-1")
        services.session.commit()
        services.end_session()
    sms = english.get("/sandbox/sms").data.decode()
    assert "Sent text messages" in sms and "【中山市存量房网签】合同ZS1已签约" in sms
    webhook = english.get("/sandbox/webhook").data.decode()
    assert "Business events received" in webhook and "No events received yet" in webhook
    for page in (bank, signed, sms, webhook):
        assert chinese_left(page) == []
    assert "暂未收到事件" in app.test_client().get("/sandbox/webhook").data.decode()
