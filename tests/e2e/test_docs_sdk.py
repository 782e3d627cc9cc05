"""docs/sdk.md, followed as written: its ```sh commands typed into bash on a terminal and its ```python blocks
run with ``python3`` in the same shell, against a real ``hokusai-auth serve`` standing in for https://auth.hokus.ai.

Two people, as the quick start has it, each on a machine of their own (an empty HOME): an administrator, who logs
in with the admin token and creates a key, and Ana, who logs in with that key and uses it from Python. The async
example lists keys, so the administrator runs it. Two blocks are fragments of a larger program: the test gives
them the names they use (``client``, ``key``, ``log``, ``keys``) and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hokusai._config import read_profiles
from tests.conftest import ADMIN_TOKEN, free_port
from tests.docs_blocks import Reader, Walkthrough, stale_entries
from tests.e2e.helpers import start_auth_service

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
PIP = "installs from PyPI; the suite runs in the environment it makes (this checkout, pip install -e)"


def walkthrough(auth: str) -> Walkthrough:
    return Walkthrough(
        doc=DOC,
        replace={"https://auth.hokus.ai": auth},
        people={"admin": {}, "ana": {}},
        first="admin",
        values={"url": auth, "admin_token": ADMIN_TOKEN},
        switch={
            "# An administrator, once:": "admin",
            "# Ana, once per machine:": "ana",
            "import hokusai\n": "ana",  # "From Python:" after her login
            "import asyncio\n": "admin",  # it lists keys
        },
        skipped={"pip install hokusai-ml-platform": PIP},
        preludes={  # fragments of a larger program: only the names they use
            "result = client.validate_key(key,": "import logging\n\nfrom hokusai import AuthClient\n\n"
            "log = logging.getLogger('docs')\nclient = AuthClient()\nkey = '{key}'\n",
            "import asyncio\n": "keys = ['{key}']\n",
        },
    )


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("docs-sdk")
    port = free_port()
    service = start_auth_service(work, port)
    try:
        service.wait_healthy(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()


def test_the_walkthrough_tables_match_the_doc() -> None:
    assert stale_entries(walkthrough("http://auth")) == []


def test_sdk_md_runs_as_written(auth: str, tmp_path: Path) -> None:
    with Reader(walkthrough(auth), tmp_path) as reader:
        steps = reader.follow()
    assert [(step.text.split("#")[0].strip(), step.skipped) for step in steps if step.skipped] == [
        ("pip install hokusai-ml-platform", PIP)
    ]
    ran = {step.text.splitlines()[0]: step for step in steps if step.skipped is None}
    assert len(ran) == 8, list(ran)

    # Ana's key is the one the administrator made, with the scopes the doc gave it, and it works from Python.
    key = reader.values["key"]
    assert read_profiles(reader.home("admin") / ".hokusai" / "config")["default"].keys() == {
        "auth_service_url", "admin_token"}  # fmt: skip
    assert read_profiles(reader.home("ana") / ".hokusai" / "config")["default"] == {
        "auth_service_url": auth, "api_key": key}  # fmt: skip
    assert re.search(r"^True [0-9a-f-]{36} \['read', 'model:write'\] \d+$", ran["import hokusai"].output, re.M)
    assert ran["import asyncio"].person == "admin"
    refused = ran['result = client.validate_key(key, service_id="prediction", required_scope="predict")']
    assert "refused: Key not authorized for this service (wrong_service)" in refused.output
