"""The distribution's name: ``hokusai-ml-platform`` (``hokusai`` on PyPI is an unrelated project), the import name
and the command ``hokusai``. Every install line of the docs names it, and the version is looked up by it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import hokusai
from hokusai._version import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# docs/gateway.md is left out until its install line names the distribution (it is being changed with the gateway).
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(p for p in (ROOT / "docs").glob("*.md")
                                                           if p.name != "gateway.md")]  # fmt: skip
# `pip install` and its arguments: up to the end of an inline code span, a comment, `&&` or a closing parenthesis.
PIP_INSTALL = re.compile(r"pip install ([^`#\n&;)]*)")
OURS = re.compile(r"""^['"]?(hokusai-ml-platform|\.)(\[[a-z,]+\])?['"]?$""")


def test_the_distribution_has_a_name_of_its_own() -> None:
    assert PYPROJECT["name"] == DISTRIBUTION == "hokusai-ml-platform"
    assert set(PYPROJECT["scripts"]) == {"hokusai", "hokusai-auth"}
    assert set(PYPROJECT["optional-dependencies"]) >= {"server", "mlflow", "dev"}


def test_the_version_is_read_from_the_installed_distribution() -> None:
    try:
        installed = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pytest.skip("this checkout is not installed (pip install -e .)")
    assert installed == PYPROJECT["version"] == hokusai.__version__


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_install_line_names_the_distribution(doc: Path) -> None:
    lines = doc.read_text().splitlines()
    for number, line in enumerate(lines):
        for args in PIP_INSTALL.findall(line):
            for word in args.split():
                if word.startswith("-") or not ("hokusai" in word or word.strip("'\"").startswith(".")):
                    continue  # a flag (-q, -e), or another package (scikit-learn)
                if word == "hokusai" and "unrelated" in " ".join(lines[number : number + 2]):
                    continue  # the warning that `pip install hokusai` is another project
                assert OURS.match(word), f"{doc.name}: `pip install {args.strip()}` does not name hokusai-ml-platform"
