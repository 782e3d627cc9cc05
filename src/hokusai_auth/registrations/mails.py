"""The mails of registration: plain text and simple HTML, links built from PUBLIC_URL.

What a company typed (its name, a contact's name, an operator's reason) is escaped in HTML and never put in a
subject line (a header). Tokens appear only in the links; the outbox holds the only other copy of a mail.
"""

from __future__ import annotations

from datetime import datetime

from hokusai._vocabulary import RegistrationStatus
from hokusai_auth.mail.message import link
from hokusai_auth.mail.outbox import OutgoingMail, compose

VERIFY_PATH = "/registration/verify"
CLAIM_PATH = "/claim"


class Kind:
    """The outbox's ``kind`` of each mail (what listings show; never the content)."""

    VERIFY = "registration.verify"
    REPEATED = "registration.repeated"
    APPROVED = "registration.approved"
    REJECTED = "registration.rejected"


def verification(
    public_url: str, recipient: str, contact_name: str, organization_name: str, token: str
) -> OutgoingMail:
    return compose(
        recipient,
        "Verify your email address for Hokusai",
        Kind.VERIFY,
        [
            f"Hello {contact_name}, {organization_name} registered with Hokusai, naming this address as its "
            "contact. Open this link to verify it (it works once, for 24 hours):",
            "An operator reviews the registration once the address is verified; you will hear from us by mail.",
            "If you did not register, ignore this mail: nothing happens without the link.",
        ],
        url=link(public_url, VERIFY_PATH, token=token),
    )


def repeated(public_url: str, recipient: str, status: str, token: str | None) -> OutgoingMail:
    """To the owner of an address someone registered again while its registration is pending or approved. With
    ``token`` (the registration is still unverified), a new verification link."""
    attempt = "Someone tried to register with Hokusai again using this address."
    if status == RegistrationStatus.PENDING_EMAIL_VERIFICATION and token is not None:
        return compose(
            recipient,
            "Your Hokusai registration: verify your email address",
            Kind.REPEATED,
            [
                f"{attempt} No second registration was made. Your registration still waits for this address to be "
                "verified; if it was you, open this link (it works once, for 24 hours):",
                "If it was not you, ignore this mail.",
            ],
            url=link(public_url, VERIFY_PATH, token=token),
        )
    where = (
        "Your registration is waiting for an operator's approval; you will hear from us by mail."
        if status == RegistrationStatus.PENDING_APPROVAL
        else "Your registration was already approved. If the claim link we sent is lost or has expired, "
        "ask the Hokusai operators for help."
    )
    return compose(
        recipient,
        "Your Hokusai registration",
        Kind.REPEATED,
        [f"{attempt} No second registration was made.", where, "If it was not you, you need not do anything."],
    )


def approved(
    public_url: str, recipient: str, contact_name: str, organization_name: str, token: str, expires_at: datetime
) -> OutgoingMail:
    return compose(
        recipient,
        "Your Hokusai registration was approved",
        Kind.APPROVED,
        [
            f"Hello {contact_name}, the registration of {organization_name} was approved. Open this link, signed "
            "in to Hokusai, to claim the organization: you become its Owner and receive its first production "
            "API key.",
            f"The link works once, until {expires_at:%Y-%m-%d %H:%M} UTC. Whoever holds it can claim the "
            "organization: do not forward it.",
        ],
        url=link(public_url, CLAIM_PATH, token=token),
    )


def rejected(recipient: str, contact_name: str, organization_name: str, reason: str | None) -> OutgoingMail:
    because = f"The reason given:\n{reason}" if reason else "No reason was given."
    return compose(
        recipient,
        "Your Hokusai registration",
        Kind.REJECTED,
        [
            f"Hello {contact_name}, the registration of {organization_name} was not approved.",
            because,
            "You may register again, for instance with more detail about what you mean to do with Hokusai.",
        ],
    )
