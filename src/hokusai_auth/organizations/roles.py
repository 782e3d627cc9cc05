"""The four roles of an organization member, ranked: Owner > Admin > Developer > Viewer."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, minimum: Role) -> bool:
        return self.rank >= minimum.rank

    @property
    def label(self) -> str:
        return self.value.capitalize()


_RANK = {Role.VIEWER: 1, Role.DEVELOPER: 2, Role.ADMIN: 3, Role.OWNER: 4}
