"""The README's demo table is what a newcomer types: every certificate number, check code and ID number it
shows must be one the demo data knows, written out in full (issue #12: abbreviated numbers found nothing)."""
from __future__ import annotations

import re
from pathlib import Path

from handlers import demo
from handlers.validation import validate_id_number

README = Path(__file__).resolve().parents[2] / "README.md"


def demo_table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Demo accounts")
    return text[start:text.index("\n#", start + 5)]


def test_every_certificate_in_the_readme_is_a_demo_home_with_its_check_code():
    table = demo_table()
    shown = re.findall(r"(粤\(\d{4}\)中山市不动产权第\d{7}号)(?:, 校验码| /) (\d{6})", table)
    homes = {p["certificate_no"]: p["check_code"] for p in demo.PROPERTIES}
    assert len(shown) >= 7
    assert [(no, code) for no, code in shown if homes.get(no) != code] == []


def test_every_id_number_in_the_readme_is_valid_and_belongs_to_a_demo_person():
    table = demo_table()
    shown = re.findall(r"`(\d{17}[\dX])`", table)
    known = {row[5] for row in demo.CITIZENS} | {o["id_number"] for p in demo.PROPERTIES for o in p["owners"]}
    assert len(shown) >= 7
    assert [n for n in shown if n not in known] == []
    for number in shown:
        validate_id_number("居民身份证", number)  # raises on a wrong check digit or area
