"""Archiving a filed contract's instance (the retention policy) keeps the contract and the instance's path."""
from __future__ import annotations

import pytest

from engine import NotFound

from .flows import contract_of, sign_all, to_signing


def test_archiving_keeps_the_contract_and_the_path(harness, accounts):
    seller = accounts["张伟"]
    case = to_signing(harness, seller)
    sign_all(harness, case)
    case.complete("提交", {"confirmed": True}, actor=str(seller.id))
    path = case.path()
    report = harness.engine.archive_finished(0)
    assert report.instances == 1 and report.audit_rows > 0
    contract = contract_of(harness, case)
    assert contract.status == "已签约" and contract.filed_at is not None and contract.buyers
    assert case.end_event == "已签约" and case.path() == path
    with pytest.raises(NotFound):
        harness.engine.load_workflow(case.id)
