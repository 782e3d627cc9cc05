"""docs/organizations.md shows the roles table the service enforces (organizations/permissions.py)."""

from __future__ import annotations

from pathlib import Path

from hokusai_auth.organizations.permission_doc import section

DOC = Path(__file__).resolve().parents[2] / "docs" / "organizations.md"


def test_the_roles_table_in_the_docs_is_the_permission_table() -> None:
    assert section() in DOC.read_text(), (
        "docs/organizations.md is out of date: run "
        "`python -m hokusai_auth.organizations.permission_doc docs/organizations.md`"
    )
