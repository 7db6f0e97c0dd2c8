"""Processes starting together compile the English catalog at the same time; readers never see half a file."""
from __future__ import annotations

import threading

from babel.messages.mofile import read_mo

from web.i18n import _compile


def test_catalog_is_whole_while_others_compile_it(tmp_path):
    _compile(tmp_path)
    [mo] = list(tmp_path.glob("*/LC_MESSAGES/messages.mo"))
    expected = len(read_mo(mo.open("rb")))
    stop, failures = threading.Event(), []

    def compile_again():
        while not stop.is_set():
            _compile(tmp_path)

    writers = [threading.Thread(target=compile_again) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        for _ in range(300):
            try:
                with mo.open("rb") as handle:
                    if len(read_mo(handle)) != expected:
                        failures.append("catalog lost messages")
            except Exception as err:  # noqa: BLE001 - any read error is the failure
                failures.append(repr(err))
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert failures == []
    assert not list(tmp_path.glob("*/LC_MESSAGES/*.tmp"))
