"""The crate documentation's Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "src" / "lib.rs"


def test_crate_doc_example_runs():
    text = LIB.read_text()
    block = re.search(r"//! ```python\n(.*?)//! ```", text, re.S)
    assert block, "no ```python block in the crate docs"
    code = "\n".join(line[4:] if line.startswith("//! ") else line[3:]
                     for line in block.group(1).splitlines())
    exec(compile(code, str(LIB), "exec"), {})


def test_package_doctest():
    import doctest

    import tradeledger

    failures, tried = doctest.testmod(tradeledger, verbose=False)
    assert tried > 0 and failures == 0
