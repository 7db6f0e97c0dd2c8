"""The guide's help where the guide puts it: the simplified-character name rule and the 政务服务 phone
under 账号密码 (§1.1 (三)), the password-reset places and their exclusions at 用户关联 (§1.1 (六)), the
consultation number on 首页."""
from __future__ import annotations

from handlers.demo import resident_id

from .conftest import login_as


def test_login_explains_the_name_rule_and_gives_the_phone(client):
    page = client.get("/login").data.decode()
    assert "填写用户姓名必须与产权证上的产权人姓名一致，且为简体字" in page and "0760-89817433" in page


def test_association_says_where_to_reset_a_password(client):
    client.post("/login/yss-new", data={"name": "黄丽", "id_number": resident_id("44200019880808123")})
    page = client.get("/associate").data.decode()
    assert "各镇街行政服务中心（除火炬开发区、民众街道外）" in page and "民族东路1号" in page


def test_home_gives_the_consultation_number(client, account_id):
    login_as(client, account_id("张伟"))
    assert "0760-88363077" in client.get("/").data.decode()
