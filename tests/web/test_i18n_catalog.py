"""The English catalog is complete for every message `make i18n` extracts with pybabel (the code's and the
templates' marked strings, and the names drawn in the diagrams): a new Chinese string marked with _(), tr()
or N_(), or a newly drawn task name, fails here until it has English, instead of showing Chinese to an
English reader. The extraction is the Makefile's: babel.cfg's files and extractors, the Makefile's keywords."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def extraction_config() -> tuple[list, dict, dict]:
    """(method map, options map, keywords) exactly as `make i18n` runs `pybabel extract`."""
    with (ROOT / "babel.cfg").open() as cfg:
        methods, options = parse_mapping_cfg(cfg)
    command = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "pybabel extract" in line)
    return methods, options, {keyword: None for keyword in re.findall(r"-k\s+(\w+)", command)}


def marked_messages() -> set[str]:
    methods, options, keywords = extraction_config()
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), methods, options, keywords=keywords):
        if isinstance(message, str) and message and any("\u4e00" <= ch <= "\u9fff" for ch in message):
            found.add(message)
    return found


def test_every_marked_chinese_message_has_an_english_translation():
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    marked = marked_messages()
    assert len(marked) > 150  # the extraction itself works (templates and code)
    missing = sorted(m for m in marked if m not in catalog or not catalog[m].string)
    assert missing == []


def test_the_extraction_reads_the_diagrams_and_the_form_definitions():
    methods, _options, keywords = extraction_config()
    assert {"N_", "_", "tr"} <= set(keywords)
    marked = marked_messages()
    # a task of online_signing.bpmn, a gateway's question, an output text of materials.dmn, a field label
    assert {"生成电子合同订单", "房源是否可以签约？", "未成年人保证书", "成交价格"} <= marked


def test_every_translation_in_the_catalog_is_still_marked_somewhere():
    """`make i18n` (pybabel update) turns a catalog entry that nothing marks into an obsolete one, and the page
    showing that runtime word (a status, an audit event, an error page's message) silently turns Chinese again.
    So every entry must be found by the extraction: mark the word where it is defined (N_)."""
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    marked = marked_messages()
    unmarked = sorted(m.id for m in catalog if m.id and isinstance(m.id, str) and m.id not in marked
                      and any("\u4e00" <= ch <= "\u9fff" for ch in m.id))
    assert unmarked == []


def test_the_diagram_extractor_reads_any_modelers_prefix_and_skips_engine_settings():
    import io

    from web.i18n_extract import extract_bpmn

    def words(source: bytes) -> set[str]:
        return {message for _line, _fn, message, _comments in extract_bpmn(io.BytesIO(source), None, None, {})}

    drawn = (ROOT / "processes" / "online_signing.bpmn").read_bytes()
    as_saved = words(drawn)
    assert "生成电子合同订单" in as_saved and "formKey" not in as_saved  # a spiffworkflow:property is a setting
    other_modeler = drawn.replace(b"bpmn:", b"semantic:").replace(b"xmlns:bpmn=", b"xmlns:semantic=")
    assert words(other_modeler) == as_saved
