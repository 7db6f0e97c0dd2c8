"""Identity and certificate formats, with the examples of the spec and the mistakes people make."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from handlers.deadlines import deletion_deadline
from handlers.validation import (FormatError, check_uscc, comparable_id, id15_to_18, id18_to_15, id_check_char, mask_id_number,
                                 normalize_certificate_no, poa_matters, poa_names_matter, positive_money,
                                 same_person_id, shares_add_up,
                                 validate_id_number, validate_unit_no)


# 440524 (a county code that no longer exists) and 810000 (a residence permit) stay valid.
@pytest.mark.parametrize("number", ["11010519491231002X", "440524198001010013", "11010519491231002x",
                                    "810000199001010027", "440524800101001"])
def test_valid_resident_ids(number):
    assert validate_id_number("居民身份证", number) == number.upper()


def resident(first17: str) -> str:
    """A number whose check character is right, so that only the rule under test can refuse it."""
    return first17 + id_check_char(first17)


@pytest.mark.parametrize("number, message", [
    (resident("00000019800101001"), "地址码000000无效"),
    (resident("99999919800101001"), "地址码999999无效"),
    (resident("16010519800101001"), "省级行政区划代码"),
    (resident("72010519800101001"), "省级行政区划代码"),
    (resident("44052418800101001"), "早于1900年"),  # the spec's old example: a real date, but not a living owner
    (resident("44052420990101001"), "晚于今天"),
    (resident("44052419810229001"), "不是真实的日期"),
    ("000000800101001", "地址码000000无效"),
    ("999999800101001", "地址码999999无效"),
    ("440524809901001", "不是真实的日期"),  # month 99
    ("440524800230001", "不是真实的日期"),
    ("44052480010100X", "15位数字"),
])
def test_resident_ids_with_impossible_area_or_birth_date(number, message):
    with pytest.raises(FormatError, match=message):
        validate_id_number("居民身份证", number)


@pytest.mark.parametrize("province", ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65",
                                      "71", "81", "82", "83"])
def test_every_province_level_code_is_accepted(province):
    assert validate_id_number("居民身份证", resident(province + "010519800101001"))


def test_of_all_two_digit_prefixes_only_province_level_codes_pass():
    expected = set("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                   "61 62 63 64 65 71 81 82 83".split())
    accepted = set()
    for prefix in (f"{n:02d}" for n in range(100)):
        try:
            validate_id_number("居民身份证", resident(prefix + "010519800101001"))
            accepted.add(prefix)
        except FormatError as err:
            assert "省级行政区划代码" in str(err)
    assert accepted == expected


def test_birth_dates_start_in_1900():
    assert validate_id_number("居民身份证", resident("44052419000101001"))
    with pytest.raises(FormatError, match="早于1900年"):
        validate_id_number("居民身份证", resident("44052418991231001"))


def test_birth_dates_end_today_in_beijing():
    import time_machine
    with time_machine.travel(datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc), tick=False):  # 00:30 on the 28th
        assert validate_id_number("居民身份证", resident("44200020261128001"))
        with pytest.raises(FormatError, match="晚于今天"):
            validate_id_number("居民身份证", resident("44200020261129001"))


def test_foreign_permanent_resident_ids_keep_their_own_rule():
    number = resident("93156019800101001")  # 9 + province 31 + nationality 560: no resident area code
    assert validate_id_number("外国人永久居留身份证", number) == number
    with pytest.raises(FormatError, match="省级行政区划代码"):
        validate_id_number("居民身份证", number)
    with pytest.raises(FormatError, match="早于1900年"):
        validate_id_number("外国人永久居留身份证", resident("93156018800101001"))


def test_comparable_form_makes_15_and_18_digits_one_person():
    assert comparable_id("440524800101001") == comparable_id("440524198001010013") == "440524198001010013"
    assert comparable_id(" １１０１０５１９４９１２３１００２x ") == "11010519491231002X"
    assert comparable_id("h12345678") == "H12345678"
    assert comparable_id(None) == ""


@pytest.mark.parametrize("number, message", [
    ("110105194912310021", "校验位错误"),
    ("11010519491231002", "应为18位"),
    ("11010519491231002A", "应为18位"),
    ("110105194913310020", "出生日期无效"),
    ("", "不能为空"),
])
def test_bad_resident_ids(number, message):
    with pytest.raises(FormatError, match=message):
        validate_id_number("居民身份证", number)


def test_first_generation_conversion_both_ways():
    assert id15_to_18("440524800101001") == "440524198001010013"
    assert id18_to_15("440524198001010013") == "440524800101001"
    assert same_person_id("440524198001010013", "440524800101001", first_generation=True)
    assert not same_person_id("440524198001010013", "440524800101001", first_generation=False)
    with pytest.raises(FormatError, match="1999年后"):
        id18_to_15("11010520011231002" + id_check_char("11010520011231002"))


@pytest.mark.parametrize("id_type, number", [
    ("港澳台居民居住证", "810000199001010027"),
    ("港澳居民来往内地通行证", "H12345678"),
    ("港澳居民来往内地通行证", "M1234567801"),
    ("台湾居民来往大陆通行证", "12345678"),
    ("护照", "E12345678"),
    ("统一社会信用代码", "91350100M000100Y43"),
])
def test_other_documents(id_type, number):
    assert validate_id_number(id_type, number) == number


@pytest.mark.parametrize("id_type, number", [
    ("港澳台居民居住证", "110105194912310021"),
    ("港澳居民来往内地通行证", "A12345678"),
    ("台湾居民来往大陆通行证", "1234567"),
    ("统一社会信用代码", "91350100M000100Y44"),
    ("外国人永久居留身份证", "11010519491231002X"),
])
def test_other_documents_refused(id_type, number):
    with pytest.raises(FormatError):
        validate_id_number(id_type, number)


def test_uscc_rejects_letters_outside_the_alphabet():
    with pytest.raises(FormatError, match="18位"):
        check_uscc("91350100M000100I43")


@pytest.mark.parametrize("raw", ["粤(2023)中山市不动产权第0012345号", "粤（2023）中山市不动产权第0012345号",
                                 " 粤(2023)中山市不动产权第0012345号 "])
def test_certificate_numbers_normalise(raw):
    assert normalize_certificate_no(raw) == "粤(2023)中山市不动产权第0012345号"


def test_certificate_with_too_few_digits_is_refused():
    with pytest.raises(FormatError, match="6至8位"):
        normalize_certificate_no("粤(2023)中山市不动产权第12345号")


def test_unit_numbers():
    assert validate_unit_no("442000001002gb00123f00010203") == "442000001002GB00123F00010203"
    with pytest.raises(FormatError, match="28位"):
        validate_unit_no("442000001002GB00123F0001020")
    with pytest.raises(FormatError, match="中山市"):
        validate_unit_no("440100001002GB00123F00010203")


@pytest.mark.parametrize("value, message", [
    ("1e30", "最多12位整数"), (1e30, "最多12位整数"), ("1000000000000", "不能超过999999999999.99元"),
    ("NaN", "NaN"), ("Infinity", "无穷大"), ("-Infinity", "无穷大"), ("sNaN", "NaN"),
    ("-1", "大于0"), ("0", "大于0"), ("0.00", "大于0"), ("abc", "金额数字"), ("1e-30", "两位小数"),
])
def test_money_outside_the_stored_precision_is_refused(value, message):
    with pytest.raises(FormatError, match=message):
        positive_money(value)


def test_money_at_the_edge_of_the_stored_precision():
    assert positive_money("999999999999.99") == Decimal("999999999999.99")
    assert positive_money("0.01") == Decimal("0.01")
    assert positive_money("1.50") == Decimal("1.50")
    with pytest.raises(FormatError, match="最多4位整数"):
        positive_money("12345", digits=6, places=2)


def test_money_and_shares():
    assert positive_money("1580000") == Decimal("1580000.00")
    with pytest.raises(FormatError, match="两位小数"):
        positive_money("1.005")
    with pytest.raises(FormatError, match="大于0"):
        positive_money("0")
    assert shares_add_up([Decimal("50"), Decimal("30"), Decimal("20")])
    assert not shares_add_up([Decimal("50"), Decimal("30"), Decimal("19.99")])
    assert not shares_add_up([Decimal("100"), Decimal("0")])


def test_masking_keeps_the_ends():
    assert mask_id_number("440524198001010013") == "440524********0013"
    assert mask_id_number("H12345678") == "H1*****78"
    assert mask_id_number("12345678") == "12****78"


@pytest.mark.parametrize("created, deadline", [
    ("2026-11-23T10:00:00+08:00", "2026-11-25T00:00:00+08:00"),
    ("2026-11-23T23:59:59+08:00", "2026-11-25T00:00:00+08:00"),
    ("2026-11-24T00:00:00+08:00", "2026-11-26T00:00:00+08:00"),
    ("2026-11-23T16:30:00+00:00", "2026-11-26T00:00:00+08:00"),  # 00:30 on the 24th in Beijing
])
def test_next_natural_day_deadline(created, deadline):
    due = deletion_deadline(datetime.fromisoformat(created))
    assert due == datetime.fromisoformat(deadline)
    assert due.tzinfo == timezone.utc


SIGNING, CANCELLING = "存量房买卖合同网签备案", "注销存量房买卖合同网签备案"


@pytest.mark.parametrize("poa, signing, cancelling", [
    ("存量房买卖合同网签备案", True, False),
    ("办理存量房买卖合同网签备案及不动产转移登记", True, False),  # refused by string equality before
    ("注销存量房买卖合同网签备案", False, True),  # contains the signing matter, but is another matter
    ("办理注销存量房买卖合同网签备案手续", False, True),
    ("代为办理「存量房买卖合同网签备案」、注销存量房买卖合同网签备案", True, True),
    ("委托事项：代办存量房买卖合同网签备案以及银行按揭贷款等", True, False),
    ("全权办理不动产转移登记，存量房买卖合同网签备案；税费缴纳", True, False),
    ("代理存量房买卖合同网签备案和注销存量房买卖合同网签备案", True, True),
    ("存量房买卖合同备案", False, False),
    ("房屋买卖", False, False),
    ("", False, False),
    (None, False, False),
])
def test_a_poa_names_matters_whole(poa, signing, cancelling):
    assert poa_names_matter(poa, SIGNING) is signing
    assert poa_names_matter(poa, CANCELLING) is cancelling


def test_poa_matters_are_listed_without_verbs_and_fillers():
    assert poa_matters("办理存量房买卖合同网签备案及不动产转移登记") == [SIGNING, "不动产转移登记"]
    assert poa_matters("代为办理 注销存量房买卖合同网签备案 的相关手续") == [CANCELLING]
