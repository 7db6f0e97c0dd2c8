"""Fund supervision in the portal: 建设银行 sends the seller to the sandbox 「龙存管」, where the parties sign
the agreement and the bank's callback records its number; 农村商业银行 gives the branch guidance and a
《用户操作手册》 PDF; the bank's callback endpoint believes only the bank's signature."""
from __future__ import annotations

import re
import subprocess

from .conftest import login_as
from .test_portal import CERT, CONTRACT, follow_task


def to_fund_page(client):
    from handlers.demo import ZHAO_MIN_ID
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    url = follow_task(client, client.post(url, data={}))
    url = follow_task(client, client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID})))
    url = follow_task(client, client.post(url, data={"applicant_name": "张伟", "applicant_phone": "13800001111"}))
    return follow_task(client, client.post(url, data={"rating_level": "非常满意"}))


def test_ccb_parties_sign_in_longcunguan_and_the_agreement_lands_on_the_contract(app, client, account_id):
    from handlers.demo import ZHANG_WEI_ID, ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post(to_fund_page(client), data={"fund_supervised": "on", "supervision_bank": "建设银行"}))
    page = client.get(url).data.decode()
    assert "签署资金监管协议" in page and "待签署资金监管协议" in page
    link = re.search(r'id="to-longcunguan" href="http://localhost(/sandbox/bank/longcunguan/CCB[0-9A-F]+)"', page).group(1)

    early = client.post(url, data={})
    assert early.status_code == 422 and "资金监管协议尚未签署完成" in early.data.decode()

    bank = app.test_client()
    assert "张伟" in bank.get(link).data.decode() and "赵敏" in bank.get(link).data.decode()
    wrong = bank.post(link, data={"name-0": "张伟", "id_number-0": ZHANG_WEI_ID, "name-1": "赵敏",
                                  "id_number-1": ZHANG_WEI_ID})
    assert wrong.status_code == 422 and "身份核验未通过" in wrong.data.decode()
    signed = bank.post(link, data={"name-0": "张伟", "id_number-0": ZHANG_WEI_ID, "name-1": "赵敏",
                                   "id_number-1": ZHAO_MIN_ID}).data.decode()
    agreement_no = re.search(r'id="agreement-no">(LCG[0-9A-F]+)<', signed).group(1)

    assert f"已签署资金监管协议（协议编号 {agreement_no}）" in client.get(url).data.decode()
    notes_url = follow_task(client, client.post(url, data={}))
    assert "确认注意事项" in client.get(notes_url).data.decode()
    submit_url = follow_task(client, client.post(notes_url, data={"acknowledged": "on"}))
    assert f"是，建设银行（资金监管协议编号 {agreement_no}）" in client.get(submit_url).data.decode()


def test_rcb_gives_branch_guidance_and_the_manual(client, account_id):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post(to_fund_page(client), data={"fund_supervised": "on", "supervision_bank": "农村商业银行"}))
    page = client.get(url).data.decode()
    assert "查看线下支行办理指引" in page and "需要到线下支行办理" in page and "待到线下支行办理" in page
    manual_url = re.search(r'id="manual" href="([^"]+)"', page).group(1)
    response = client.get(manual_url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True,
                          check=True).stdout.decode()
    assert "用户操作手册" in text and "农村商业银行" in text and "线下支行" in text and "翠景花园" in text
    notes_url = follow_task(client, client.post(url, data={}))
    submit_url = follow_task(client, client.post(notes_url, data={"acknowledged": "on"}))
    assert "是，农村商业银行（待到线下支行办理）" in client.get(submit_url).data.decode()


def test_the_bank_callback_endpoint_believes_only_the_banks_signature(client):
    body = b'{"agreement_no": "X", "bank": "\\u5efa\\u8bbe\\u94f6\\u884c", "event": "SIGNED", "reference": "CCB0"}'
    forged = client.post("/api/v1/bank/callback", data=body, headers={"X-Signature": "0" * 64,
                                                                      "Content-Type": "application/json"})
    assert forged.status_code == 401 and forged.get_json()["message"] == "回调签名无效"
    garbled = client.post("/api/v1/bank/callback", data=b"not json", headers={"Content-Type": "application/json"})
    assert garbled.status_code == 400
