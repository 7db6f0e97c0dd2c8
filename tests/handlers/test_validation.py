"""Identity and certificate formats, with the examples of the spec and the mistakes people make."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from handlers.deadlines import deletion_deadline
from handlers.validation import (FormatError, check_uscc, id15_to_18, id18_to_15, id_check_char, mask_id_number,
                                 normalize_certificate_no, positive_money, same_person_id, shares_add_up,
                                 validate_id_number, validate_unit_no)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_valid_resident_ids(number):
    assert validate_id_number("居民身份证", number) == number.upper()


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
