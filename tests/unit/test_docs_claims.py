"""What the guides say the SDK and the CLI do, checked against what they do: the troubleshooting guide's SDK class
and exit code of every error code, and the offline key check's messages in docs/sdk.md."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import hokusai
from hokusai import check_format
from hokusai._errors import HokusaiError, error_for
from hokusai._keys import checksum
from hokusai.cli._failures import exit_code

DOCS = Path(__file__).resolve().parents[2] / "docs"
TROUBLESHOOTING = (DOCS / "troubleshooting.md").read_text()
# | `code` | status | `SDKClass` (`.field`) [exit] | means | do |
ROW = re.compile(r"^\| `(?P<code>\w+)`[^|]* \| (?P<status>[^|]+) \| `(?P<cls>\w+)`(?: \(`\.field`\))?"
                 r"(?: \[(?P<exit>\d)\])? \|", re.MULTILINE)  # fmt: skip
# (`SDKClass` [exit]) in the "SDK and CLI only" table
INLINE = re.compile(r"\(`(?P<cls>\w+Error)` \[(?P<exit>\d)\]\)")


def sdk_rows() -> list[re.Match[str]]:
    rows = list(ROW.finditer(TROUBLESHOOTING))
    assert len(rows) >= 25, "the three tables with an SDK column"
    return rows


@pytest.mark.parametrize("row", sdk_rows(), ids=lambda row: f"{row['code']}-{row['status'].split()[0]}")
def test_each_error_code_row_names_the_sdk_class_and_the_cli_exit_code(row: re.Match[str]) -> None:
    first = re.match(r"\d{3}", row["status"].strip())
    status = int(first.group()) if first else 418  # "other 4xx"
    error = error_for(status, {"code": row["code"], "detail": "x"})
    assert type(error).__name__ == row["cls"], f"{row['code']}: the SDK raises {type(error).__name__}"
    assert row["exit"] is not None, f"{row['code']}: no exit code in brackets"
    assert int(row["exit"]) == exit_code(error), f"{row['code']}: the CLI exits {exit_code(error)}"


def test_the_cli_only_rows_give_the_exit_code_of_their_class() -> None:
    found = list(INLINE.finditer(TROUBLESHOOTING))
    assert found
    for match in found:
        cls = getattr(hokusai, match["cls"])
        assert issubclass(cls, HokusaiError)
        assert int(match["exit"]) == exit_code(cls("x")), match.group()


def _block_after(text: str, heading: str) -> str:
    found = re.search(rf"## {heading}\n+```python\n(.*?)```", text, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_offline_check_in_the_sdk_guide_prints_what_it_says() -> None:
    sdk = (DOCS / "sdk.md").read_text()
    code = _block_after(sdk, "Checking a key offline")
    promised = re.search(r"^# → (.*)$", code, re.MULTILINE)
    assert promised is not None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})  # noqa: S102 - the guide's own example
    assert printed.getvalue().strip() == promised.group(1)

    body = "hk_live_" + "Ab3" * 10 + "Zz"
    key = body + checksum(body)
    assert check_format(key).valid
    mistyped = key[:10] + ("x" if key[10] != "x" else "y") + key[11:]
    pasted_with_a_dot = key[:-1] + "."
    for candidate in (mistyped, pasted_with_a_dot):
        problem = check_format(candidate).problem
        assert problem is not None
        assert f"`{problem}`" in " ".join(sdk.split()), problem
