"""What the dashboard's pages use: the service's own use cases (the same ones the API calls), the dashboard's
identity and CSRF tokens. Built by the runtime, found by the pages as a component."""

from __future__ import annotations

from dataclasses import dataclass

from hokusai_auth.audit.service import AuditService
from hokusai_auth.dashboard.csrf import CsrfTokens
from hokusai_auth.dashboard.identity import DashboardIdentity
from hokusai_auth.device.service import DeviceAuthorizations
from hokusai_auth.keys.service import KeyService
from hokusai_auth.mail.sender import MailSender
from hokusai_auth.organizations.invitations import Invitations
from hokusai_auth.organizations.keys import OrganizationKeys
from hokusai_auth.organizations.service import Organizations
from hokusai_auth.organizations.usage import OrganizationUsageReport
from hokusai_auth.ratelimit.base import Limiter
from hokusai_auth.registrations.service import Registrations
from hokusai_auth.security.failures import FailedCredentials
from hokusai_auth.siwe.service import SignIn
from hokusai_auth.usage.service import UsageService
from hokusai_auth.user_admin.service import UserAdministration
from hokusai_auth.users.service import UserService


@dataclass(frozen=True, kw_only=True)
class DashboardServices:
    identity: DashboardIdentity
    csrf: CsrfTokens
    failures: FailedCredentials
    sign_in: SignIn
    keys: KeyService
    usage: UsageService
    limiter: Limiter  # a key's rate-limit position (a hit that costs nothing)
    organizations: Organizations
    invitations: Invitations
    organization_keys: OrganizationKeys
    organization_usage: OrganizationUsageReport
    registrations: Registrations
    users: UserService
    user_administration: UserAdministration
    audit: AuditService
    mail: MailSender
    devices: DeviceAuthorizations
