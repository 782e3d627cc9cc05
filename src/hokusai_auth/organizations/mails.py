"""The invitation mail. What members typed (the organization's name) is escaped in HTML (mail.outbox.compose)
and never put in the subject line; the token appears only in the link."""

from __future__ import annotations

from datetime import datetime

from hokusai_auth.mail.message import link
from hokusai_auth.mail.outbox import OutgoingMail, compose
from hokusai_auth.organizations.roles import Role

ACCEPT_PATH = "/invitations/accept"
INVITATION_KIND = "organization.invitation"


def invitation(
    public_url: str, recipient: str, organization_name: str, role: Role, token: str, expires_at: datetime
) -> OutgoingMail:
    return compose(
        recipient,
        "You are invited to an organization on Hokusai",
        INVITATION_KIND,
        [
            f"You are invited to join {organization_name} on Hokusai as {role.label}. Sign in with your wallet and "
            "open this link to accept (it works once):",
            f"The invitation expires on {expires_at:%Y-%m-%d %H:%M} UTC. If you did not expect it, ignore this "
            "mail: nothing happens without the link.",
        ],
        url=link(public_url, ACCEPT_PATH, token=token),
    )
