"""The one place where identity numbers, certificate numbers and unit numbers are checked.

Every function raises :class:`FormatError` with a Chinese message that a form
can show next to the field; callers prefix the field's name.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation


class FormatError(ValueError):
    pass


# ---------------------------------------------------------------- ID numbers (GB 11643-1999)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

ID_TYPES = ("居民身份证", "港澳台居民居住证", "港澳居民来往内地通行证", "台湾居民来往大陆通行证",
            "外国人永久居留身份证", "护照", "统一社会信用代码")


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def _check_birth_date(number: str, start: int) -> None:
    try:
        date(int(number[start:start + 4]), int(number[start + 4:start + 6]), int(number[start + 6:start + 8]))
    except ValueError as err:
        raise FormatError("出生日期无效") from err


def check_18_digit_id(number: str) -> str:
    """An 18-character number with the GB 11643 check character (IDs, residence permits, new PR cards)."""
    number = normalize_text(number).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise FormatError("应为18位，前17位为数字，最后一位为数字或X")
    _check_birth_date(number, 6)
    if id_check_char(number[:17]) != number[17]:
        raise FormatError("校验位错误，请核对号码")
    return number


def id15_to_18(number15: str) -> str:
    """First-generation 15-digit ID → 18 digits: insert 19 after the area code, append the check char."""
    if not re.fullmatch(r"\d{15}", number15):
        raise FormatError("一代身份证号码应为15位数字")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + id_check_char(first17)


def id18_to_15(number18: str) -> str:
    number18 = check_18_digit_id(number18)
    if number18[6:8] != "19":
        raise FormatError("1999年后出生者没有一代身份证号码")
    return number18[:6] + number18[8:17]


def validate_id_number(id_type: str, number: str) -> str:
    """Normalise and check an ID number of the given type; returns the normalised number."""
    number = normalize_text(number or "").upper().replace(" ", "")
    if not number:
        raise FormatError("不能为空")
    if id_type == "居民身份证":
        if len(number) == 15:
            id15_to_18(number)
            return number
        return check_18_digit_id(number)
    if id_type == "港澳台居民居住证":
        number = check_18_digit_id(number)
        if number[:6] not in ("810000", "820000", "830000"):
            raise FormatError("港澳台居民居住证号码应以810000、820000或830000开头")
        return number
    if id_type == "外国人永久居留身份证":
        number = check_18_digit_id(number)
        if number[0] != "9":
            raise FormatError("新版外国人永久居留身份证号码应以9开头")
        return number
    if id_type == "港澳居民来往内地通行证":
        if not re.fullmatch(r"[HM]\d{8}(\d{2})?", number):
            raise FormatError("应为H或M加8位数字（旧证可另加2位换证次数）")
        return number
    if id_type == "台湾居民来往大陆通行证":
        if not re.fullmatch(r"\d{8}", number):
            raise FormatError("应为8位数字")
        return number
    if id_type == "护照":
        if not re.fullmatch(r"[A-Z0-9]{5,17}", number):
            raise FormatError("应为5至17位字母或数字")
        return number
    if id_type == "统一社会信用代码":
        return check_uscc(number)
    raise FormatError(f"不支持的证件类型「{id_type}」")


def same_person_id(login_id: str, certificate_id: str, first_generation: bool) -> bool:
    """Does the certificate's ID number belong to the signed-in person?

    With ``first_generation`` the certificate may carry the 15-digit number the
    owner had before 18-digit IDs (the guide's checkbox).
    """
    login_id, certificate_id = login_id.upper(), certificate_id.upper()
    if login_id == certificate_id:
        return True
    if first_generation and len(certificate_id) == 15 and len(login_id) == 18:
        try:
            return id18_to_15(login_id) == certificate_id
        except FormatError:
            return False
    return False


def mask_id_number(number: str | None) -> str:
    """440524********0014: enough to recognise, not enough to misuse."""
    if not number:
        return ""
    if len(number) >= 15:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    keep = 2 if len(number) > 5 else 1
    return number[:keep] + "*" * max(1, len(number) - 2 * keep) + number[-keep:]


# ---------------------------------------------------------------- 统一社会信用代码 (GB 32100-2015)

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_uscc(code: str) -> str:
    code = normalize_text(code).upper()
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        raise FormatError("统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）")
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    if USCC_CHARS[check] != code[17]:
        raise FormatError("统一社会信用代码校验位错误")
    return code


# ---------------------------------------------------------------- certificates and units

def normalize_text(value: str) -> str:
    """Trim, and turn full-width letters, digits and brackets into half-width (NFKC)."""
    return unicodedata.normalize("NFKC", value or "").strip()


CERTIFICATE_RE = re.compile(r"粤\((\d{4})\)中山市不动产权第(\d{6,8})号")


def normalize_certificate_no(value: str) -> str:
    """不动产权证号 to one spelling (half-width brackets, no spaces); old 房产证号 are only normalised."""
    text = normalize_text(value).replace(" ", "").replace("〔", "(").replace("〕", ")")
    if not text:
        raise FormatError("不能为空")
    if text.startswith("粤(") or text.startswith("粤（"):
        if not CERTIFICATE_RE.fullmatch(text):
            raise FormatError("不动产权证号格式应为 粤(2023)中山市不动产权第0012345号（6至8位数字）")
    return text


UNIT_NO_RE = re.compile(r"\d{6}\d{3}\d{3}[GJZ][ABSXCDEFHGWY]\d{5}[FLQW]\d{8}")


def validate_unit_no(value: str) -> str:
    """不动产单元号 (GB/T 37346-2019): 28 characters; Zhongshan's county code is 442000."""
    text = normalize_text(value).replace(" ", "").upper()
    if not UNIT_NO_RE.fullmatch(text):
        raise FormatError("不动产单元号应为28位：6位行政区划+6位数字+2位宗地特征码+5位顺序号+1位定着物特征码+8位数字")
    if not text.startswith("442000"):
        raise FormatError("不动产单元号不属于中山市（应以442000开头）")
    return text


# ---------------------------------------------------------------- amounts and shares

def positive_money(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as err:
        raise FormatError("应为金额数字") from err
    if amount <= 0:
        raise FormatError("应大于0")
    if amount != amount.quantize(Decimal("0.01")):
        raise FormatError("最多保留两位小数")
    return amount.quantize(Decimal("0.01"))


def shares_add_up(shares: list[Decimal]) -> bool:
    return all(s > 0 for s in shares) and sum(shares, Decimal(0)) == Decimal(100)
