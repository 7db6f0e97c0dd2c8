"""The one place where identity numbers, certificate numbers and unit numbers are checked.

Every function raises :class:`FormatError` with a Chinese message that a form
can show next to the field; callers prefix the field's name.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .deadlines import BEIJING
from .i18n import N_, template


class FormatError(ValueError):
    pass


# Messages with a part that varies, as templates an English page can translate (handlers/i18n.py).
BORN_TOO_EARLY = template(N_("出生日期无效：%(date)s早于%(year)s年，请核对号码"))
BORN_IN_FUTURE = template(N_("出生日期无效：%(date)s晚于今天，请核对号码"))
BAD_AREA = template(N_("前6位地址码%(code)s无效：前两位应为省级行政区划代码（如广东为44）"))
UNKNOWN_ID_TYPE = template(N_("不支持的证件类型「%(id_type)s」"))
NOT_SIMPLIFIED = template(N_("须为简体字，与产权证上的产权人姓名一致：应写作「%(name)s」"))
OUT_OF_RANGE = template(N_("超出可保存的范围：最多%(digits)s位整数，不能超过%(largest)s元"))
TOO_MANY_DECIMALS = template(N_("最多保留%(n)s位小数"))


# ---------------------------------------------------------------- ID numbers (GB 11643-1999)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

ID_TYPES = (N_("居民身份证"), N_("港澳台居民居住证"), N_("港澳居民来往内地通行证"), N_("台湾居民来往大陆通行证"),
            N_("外国人永久居留身份证"), N_("护照"), N_("统一社会信用代码"))


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


# First two digits of the province-level codes of GB/T 2260, plus 71 (台湾) and 81/82/83, which the
# 港澳台居民居住证 use. Only the province is checked: a county code that no longer exists (440524)
# stays on millions of valid IDs, so a table of today's counties would refuse real people.
PROVINCE_PREFIXES = frozenset(
    [str(n) for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
                      *range(61, 66), 71, 81, 82, 83)])
EARLIEST_BIRTH_YEAR = 1900


def _check_birth_date(number: str, start: int) -> None:
    try:
        born = date(int(number[start:start + 4]), int(number[start + 4:start + 6]), int(number[start + 6:start + 8]))
    except ValueError as err:
        raise FormatError(N_("出生日期无效：号码中的出生年月日不是真实的日期")) from err
    if born.year < EARLIEST_BIRTH_YEAR:
        raise FormatError(BORN_TOO_EARLY % {"date": born.isoformat(), "year": EARLIEST_BIRTH_YEAR})
    # Beijing's date: an ID issued today in Beijing must not be refused because UTC is still yesterday.
    if born > datetime.now(BEIJING).date():
        raise FormatError(BORN_IN_FUTURE % {"date": born.isoformat()})


def _check_area(number: str) -> None:
    if number[:2] not in PROVINCE_PREFIXES:
        raise FormatError(BAD_AREA % {"code": number[:6]})


def check_18_digit_id(number: str) -> str:
    """An 18-character number with the GB 11643 check character (IDs, residence permits, new PR cards).

    The area code is not checked here: the new foreign permanent resident ID starts with 9.
    """
    number = normalize_text(number).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise FormatError(N_("应为18位，前17位为数字，最后一位为数字或X"))
    _check_birth_date(number, 6)
    if id_check_char(number[:17]) != number[17]:
        raise FormatError(N_("校验位错误，请核对号码"))
    return number


def id15_to_18(number15: str) -> str:
    """First-generation 15-digit ID → 18 digits: insert 19 after the area code, append the check char."""
    if not re.fullmatch(r"\d{15}", number15):
        raise FormatError(N_("一代身份证号码应为15位数字"))
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + id_check_char(first17)


def id18_to_15(number18: str) -> str:
    number18 = check_18_digit_id(number18)
    if number18[6:8] != "19":
        raise FormatError(N_("1999年后出生者没有一代身份证号码"))
    return number18[:6] + number18[8:17]


def check_resident_id(number: str) -> str:
    """A 居民身份证 number, 18 or 15 digits: area, birth date and (18 digits) check char.

    Returns the number as written (a 15-digit number stays 15 digits); compare with :func:`comparable_id`.
    """
    if len(number) == 15:
        if not re.fullmatch(r"\d{15}", number):
            raise FormatError(N_("一代身份证号码应为15位数字"))
        _check_area(number)
        _check_birth_date(id15_to_18(number), 6)
        return number
    number = check_18_digit_id(number)
    _check_area(number)
    return number


def comparable_id(number: str | None) -> str:
    """The form in which two ID numbers are compared: trimmed, half-width, upper case, 15 → 18 digits.

    Every comparison of two people's ID numbers goes through this, so that a first-generation
    number and its 18-digit successor are one person.
    """
    text = normalize_text(number or "").upper().replace(" ", "")
    return id15_to_18(text) if re.fullmatch(r"\d{15}", text) else text


def validate_id_number(id_type: str, number: str) -> str:
    """Normalise and check an ID number of the given type; returns the normalised number."""
    number = normalize_text(number or "").upper().replace(" ", "")
    if not number:
        raise FormatError(N_("不能为空"))
    if id_type == "居民身份证":
        return check_resident_id(number)
    if id_type == "港澳台居民居住证":
        number = check_18_digit_id(number)
        if number[:6] not in ("810000", "820000", "830000"):
            raise FormatError(N_("港澳台居民居住证号码应以810000、820000或830000开头"))
        return number
    if id_type == "外国人永久居留身份证":
        number = check_18_digit_id(number)
        if number[0] != "9":
            raise FormatError(N_("新版外国人永久居留身份证号码应以9开头"))
        return number
    if id_type == "港澳居民来往内地通行证":
        if not re.fullmatch(r"[HM]\d{8}(\d{2})?", number):
            raise FormatError(N_("应为H或M加8位数字（旧证可另加2位换证次数）"))
        return number
    if id_type == "台湾居民来往大陆通行证":
        if not re.fullmatch(r"\d{8}", number):
            raise FormatError(N_("应为8位数字"))
        return number
    if id_type == "护照":
        if not re.fullmatch(r"[A-Z0-9]{5,17}", number):
            raise FormatError(N_("应为5至17位字母或数字"))
        return number
    if id_type == "统一社会信用代码":
        return check_uscc(number)
    raise FormatError(UNKNOWN_ID_TYPE % {"id_type": id_type})


def same_person_id(login_id: str, certificate_id: str, first_generation: bool) -> bool:
    """Does the certificate's ID number belong to the signed-in person?

    With ``first_generation`` the certificate may carry the 15-digit number the
    owner had before 18-digit IDs (the guide's checkbox); without it the numbers
    must be written alike, as the guide asks the checkbox to be ticked only then.
    """
    if first_generation:
        return comparable_id(login_id) == comparable_id(certificate_id)
    return normalize_text(login_id).upper() == normalize_text(certificate_id).upper()


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
        raise FormatError(N_("统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）"))
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    if USCC_CHARS[check] != code[17]:
        raise FormatError(N_("统一社会信用代码校验位错误"))
    return code


def check_certificate_name(name: str) -> str:
    """A name as the property certificate prints it: simplified Chinese (陳家明 → 陈家明) or Latin letters.

    The guide asks 港澳台 and foreign people to register with the owner's name exactly as on the
    certificate, in simplified characters; a traditional spelling would never match the registry.
    """
    import zhconv  # type: ignore[import-untyped]  # imported here: its tables load on first use, and only registration needs them

    text = normalize_text(name)
    if not text:
        raise FormatError(N_("不能为空"))
    if len(text) > 50:
        raise FormatError(N_("不能超过50个字"))
    if not re.fullmatch(r"[\u4e00-\u9fff·•A-Za-z .,'-]+", text):
        raise FormatError(N_("只能包含汉字、英文字母、空格和「·」"))
    simplified = zhconv.convert(text, "zh-cn")
    if simplified != text:
        raise FormatError(NOT_SIMPLIFIED % {"name": simplified})
    return text


def check_new_password(password: str) -> str:
    """A password for a new account: 8–64 characters with letters and digits."""
    if not 8 <= len(password or "") <= 64:
        raise FormatError(N_("应为8至64位"))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise FormatError(N_("须同时包含字母和数字"))
    return password


# ---------------------------------------------------------------- certificates and units

def normalize_text(value: str) -> str:
    """Trim, and turn full-width letters, digits and brackets into half-width (NFKC)."""
    return unicodedata.normalize("NFKC", value or "").strip()


CERTIFICATE_FORMAT = N_("不动产权证号格式应为 粤(2023)中山市不动产权第0012345号（6至8位数字）")
CERTIFICATE_RE = re.compile(r"粤\((\d{4})\)中山市不动产权第(\d{6,8})号")


def normalize_certificate_no(value: str) -> str:
    """不动产权证号 to one spelling (half-width brackets, no spaces); old 房产证号 are only normalised."""
    text = normalize_text(value).replace(" ", "").replace("〔", "(").replace("〕", ")")
    if not text:
        raise FormatError(N_("不能为空"))
    if text.startswith("粤(") or text.startswith("粤（"):
        if not CERTIFICATE_RE.fullmatch(text):
            raise FormatError(CERTIFICATE_FORMAT)
    return text


UNIT_NO_RE = re.compile(r"\d{6}\d{3}\d{3}[GJZ][ABSXCDEFHGWY]\d{5}[FLQW]\d{8}")


def validate_unit_no(value: str) -> str:
    """不动产单元号 (GB/T 37346-2019): 28 characters; Zhongshan's county code is 442000."""
    text = normalize_text(value).replace(" ", "").upper()
    if not UNIT_NO_RE.fullmatch(text):
        raise FormatError(N_("不动产单元号应为28位：6位行政区划+6位数字+2位宗地特征码+5位顺序号+1位定着物特征码+8位数字"))
    if not text.startswith("442000"):
        raise FormatError(N_("不动产单元号不属于中山市（应以442000开头）"))
    return text


# ---------------------------------------------------------------- amounts and shares

def positive_money(value, digits: int = 14, places: int = 2) -> Decimal:
    """An amount in 元 that the ``Numeric(digits, places)`` column stores exactly: > 0, at most
    ``digits - places`` integer digits and ``places`` decimals; anything else is a FormatError, never a crash."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as err:
        raise FormatError(N_("应为金额数字")) from err
    if not amount.is_finite():
        raise FormatError(N_("应为金额数字（不能是NaN或无穷大）"))
    if amount <= 0:
        raise FormatError(N_("应大于0"))
    # adjusted() is the exponent of the leading digit, so this refuses 1e30 before quantize() could overflow.
    if amount.adjusted() >= digits - places:
        largest = Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)
        raise FormatError(OUT_OF_RANGE % {"digits": digits - places, "largest": largest})
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):
        raise FormatError(N_("最多保留两位小数") if places == 2 else TOO_MANY_DECIMALS % {"n": places})
    return amount.quantize(step)


def format_share(share) -> str:
    """A share as it was entered: 60 (not 60.0000), 33.33."""
    return f"{Decimal(share).normalize():f}"


def shares_add_up(shares: list[Decimal]) -> bool:
    return all(s > 0 for s in shares) and sum(shares, Decimal(0)) == Decimal(100)


# ---------------------------------------------------------------- powers of attorney

# A notarised POA lists its matters in running text: 「办理存量房买卖合同网签备案及不动产转移登记」.
# Spaces are dropped, not split on: 「代为办理 注销…备案 的相关手续」 is one matter typed loosely.
POA_SEPARATORS = re.compile(r"以及|[、，,；;。/／及和与并]+")
POA_LEADING = ("委托事项:", "委托事项", "代为申请办理", "代为办理", "全权办理", "全权代理", "负责办理", "申请办理",
               "代理", "代办", "办理", "申请")
POA_TRAILING = ("的相关手续", "相关手续", "相关事宜", "有关事宜", "的手续", "手续", "事宜", "事项", "业务", "等")
POA_QUOTES = str.maketrans("", "", "「」『』“”‘’\"'《》〈〉【】()")


def _strip_affixes(item: str) -> str:
    changed = True
    while changed and item:
        changed = False
        for prefix in POA_LEADING:
            if item.startswith(prefix) and len(item) > len(prefix):
                item, changed = item[len(prefix):], True
        for suffix in POA_TRAILING:
            if item.endswith(suffix) and len(item) > len(suffix):
                item, changed = item[:-len(suffix)], True
    return item


def poa_matters(poa_text: str | None) -> list[str]:
    """The matters a POA lists, each without the verbs and fillers around it (「办理…手续」 → 「…」)."""
    text = re.sub(r"\s+", "", normalize_text(poa_text or "").translate(POA_QUOTES))
    return [m for m in (_strip_affixes(part) for part in POA_SEPARATORS.split(text)) if m]


def poa_names_matter(poa_text: str | None, matter: str) -> bool:
    """Does the POA name ``matter`` as one of its matters (it may name others)?

    Matters are compared whole, never as substrings: 「注销存量房买卖合同网签备案」 does not name
    「存量房买卖合同网签备案」. Diagrams call this in gateway conditions, so the matter a flow needs
    is written in the diagram.
    """
    wanted = _strip_affixes(re.sub(r"\s+", "", normalize_text(matter).translate(POA_QUOTES)))
    return bool(wanted) and wanted in poa_matters(poa_text)
