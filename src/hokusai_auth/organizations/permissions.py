"""Who may call each organization endpoint: the one table the routes enforce, the tests iterate and the docs
print (docs/organizations.md is generated from it).

A route names its own operation id; ``access.member(operation_id)`` looks the minimum role up here, so a route
cannot be added without an entry, and an entry cannot disagree with what the route does. ``SIGNED_IN`` endpoints
need an access token but no membership (they act on the caller's own organizations or invitations). For every
other endpoint a caller who is not a member gets 404 (the organization is not theirs to know of), and a member
below the minimum gets 403 ``insufficient_role``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from hokusai_auth.organizations.roles import Role

PREFIX = "/api/v1/organizations"
ORG = f"{PREFIX}/{{org_id}}"


@dataclass(frozen=True, slots=True)
class Permission:
    method: str
    path: str
    minimum: Role | None  # None: any signed-in user
    summary: str
    note: str = ""  # a rule beyond the minimum role
    self_allowed: bool = False  # any member may call it on themselves (``{user_id}`` = the caller)


SIGNED_IN = None

PERMISSIONS: MappingProxyType[str, Permission] = MappingProxyType({
    "create_organization": Permission("POST", PREFIX, SIGNED_IN, "Create an organization (the caller is its Owner)"),
    "list_organizations": Permission("GET", PREFIX, SIGNED_IN, "List the caller's organizations, with their role"),
    "get_organization": Permission("GET", ORG, Role.VIEWER, "Read an organization"),
    "update_organization": Permission("PATCH", ORG, Role.ADMIN, "Rename an organization"),
    "delete_organization": Permission(
        "DELETE", ORG, Role.OWNER, "Delete an organization",
        "its keys are revoked, its members and invitations removed; its audit log stays",
    ),
    "list_members": Permission("GET", f"{ORG}/members", Role.VIEWER, "List members and their roles"),
    "update_member": Permission(
        "PATCH", f"{ORG}/members/{{user_id}}", Role.ADMIN, "Change a member's role",
        "only an Owner grants or takes away Owner; an Admin cannot change an Owner; the last Owner cannot be "
        "demoted",
    ),
    "remove_member": Permission(
        "DELETE", f"{ORG}/members/{{user_id}}", Role.ADMIN, "Remove a member",
        "any member may remove themselves; only an Owner removes an Owner; the last Owner cannot leave",
        self_allowed=True,
    ),
    "create_invitation": Permission(
        "POST", f"{ORG}/invitations", Role.ADMIN, "Invite someone by email",
        "only an Owner invites an Owner; inviting an address again replaces its pending invitation",
    ),
    "list_invitations": Permission("GET", f"{ORG}/invitations", Role.ADMIN, "List pending invitations"),
    "revoke_invitation": Permission("DELETE", f"{ORG}/invitations/{{invitation_id}}", Role.ADMIN,
                                    "Withdraw an invitation"),
    "accept_invitation": Permission("POST", "/api/v1/invitations/accept", SIGNED_IN,
                                    "Accept an invitation with the mailed token"),
    "create_organization_key": Permission("POST", f"{ORG}/api-keys", Role.DEVELOPER,
                                          "Create an organization API key"),
    "list_organization_keys": Permission("GET", f"{ORG}/api-keys", Role.VIEWER, "List the organization's keys"),
    "revoke_organization_key": Permission(
        "DELETE", f"{ORG}/api-keys/{{key_id}}", Role.DEVELOPER, "Revoke an organization key",
        "a Developer revokes the keys they created; an Admin or Owner any",
    ),
    "list_organization_audit_logs": Permission("GET", f"{ORG}/audit-logs", Role.ADMIN,
                                               "Read the organization's audit log"),
    "get_organization_usage": Permission("GET", f"{ORG}/usage", Role.VIEWER,
                                         "Usage and billing of the organization's keys in a month"),
})  # fmt: skip


def minimum_role(operation_id: str) -> Role | None:
    return PERMISSIONS[operation_id].minimum
