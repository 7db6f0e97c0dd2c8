"""docs/process-contract.md is generated from the diagrams and must match them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_contract_page_describes_the_diagrams_as_they_are():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "process_contract.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    page = (ROOT / "docs" / "process-contract.md").read_text(encoding="utf-8")
    # The online flow as the guide describes it: the deadline timer over the unsigned phase.
    assert "| 合同逾期未签 | boundary event | 卖方 | on 「签订合同」<br>timer timeDate `end_of_next_natural_day(contract[\"created_at\"])` |" in page
