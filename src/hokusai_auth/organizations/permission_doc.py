"""The roles table of docs/organizations.md, written from the permission table so the two cannot drift.

``python -m hokusai_auth.organizations.permission_doc docs/organizations.md`` rewrites the part of the file between
the two markers; a test fails when the file and the table disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hokusai_auth.organizations.permissions import PERMISSIONS
from hokusai_auth.organizations.roles import Role

BEGIN = "<!-- roles table: generated from hokusai_auth/organizations/permissions.py -->"
END = "<!-- end of roles table -->"
_ROLES_HIGHEST_FIRST = sorted(Role, key=lambda role: -role.rank)


def render() -> str:
    header = "| endpoint | what it does | " + " | ".join(role.label for role in _ROLES_HIGHEST_FIRST) + " | rule |"
    lines = [header, "|" + "---|" * (len(_ROLES_HIGHEST_FIRST) + 3)]
    for permission in PERMISSIONS.values():
        minimum = permission.minimum
        marks = [
            "yes" if minimum is None or role.at_least(minimum) else ("self" if permission.self_allowed else "—")
            for role in _ROLES_HIGHEST_FIRST
        ]
        rule = permission.note or ("any signed-in user, member or not" if minimum is None else "")
        lines.append(
            f"| `{permission.method} {permission.path}` | {permission.summary} | {' | '.join(marks)} | {rule} |"
        )
    return "\n".join(lines)


def section() -> str:
    return f"{BEGIN}\n{render()}\n{END}"


def rewrite(path: Path) -> bool:
    """Put the current table into ``path`` between the markers; whether the file changed."""
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    updated = text[:start] + section() + text[end:]
    if updated != text:
        path.write_text(updated)
    return updated != text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {'rewritten' if rewrite(Path(name)) else 'up to date'}")
