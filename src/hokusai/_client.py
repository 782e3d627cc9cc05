"""``AuthClient`` (blocking) and ``AsyncAuthClient`` (asyncio) for the Hokusai auth service.

Both are the endpoint functions of ``hokusai._api`` bound to a connection: ``client.create_key(...)`` builds the
call with ``api.create_key(...)`` and runs it through the shared pipeline in ``hokusai._transport``. Nothing about
an endpoint is written twice.

    from hokusai._client import AuthClient

    with AuthClient() as client:              # URL and admin token from setup(), the environment or a profile
        created = client.create_key("ci", "platform", scopes=["read"])
        print(created.api_key)                # shown once
        assert client.validate_key(created.api_key, service_id="platform").is_valid

Signed in (``siwe_verify``, ``poll_device_sign_in``, ``hokusai.sign_in_with_keystore``, ``session=...``, or a
profile written by ``hokusai auth login --wallet`` or ``--web``), a client sends the session's access token to the
session and organization endpoints and, when it has no admin token, to the key endpoints (which then act on the
user's own keys). An expired access token is refreshed once and the call repeated; each new pair goes to
``on_session`` (or back to the profile it came from).
See ``hokusai._session`` for why a refresh token is never spent twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from functools import wraps
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from hokusai import _api as api
from hokusai._config import Config, resolve
from hokusai._models import APIKeyInfo, AuditEvent, Page, Registration, Session, UserInfo
from hokusai._session import ProfileSessionStore, SessionStore, with_session
from hokusai._transport import (
    USER_AGENT,
    Call,
    Credentials,
    RetryPolicy,
    build_request,
    drive_async,
    drive_sync,
    timeout,
)

P = ParamSpec("P")
T = TypeVar("T")


class _ClientBase:
    """Settings shared by both clients: where the service is, which credentials, timeouts and retries."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        admin_token: str | None = None,
        api_key: str | None = None,
        service_token: str | None = None,
        profile: str | None = None,
        timeout_s: float | None = None,
        retry: RetryPolicy | None = None,
        config: Config | None = None,
        session: Session | None = None,
        on_session: Callable[[Session | None], None] | None = None,
    ) -> None:
        self.config = config or resolve(
            profile, auth_service_url=base_url, admin_token=admin_token, api_key=api_key, timeout=timeout_s
        )
        self.base_url = self.config.auth_service_url
        self.api_key = self.config.api_key
        self.credentials = Credentials(admin_token=self.config.admin_token, service_token=service_token)
        self.retry = retry or RetryPolicy()
        self.sessions = self._session_store(session, on_session)

    def _session_store(
        self, session: Session | None, on_session: Callable[[Session | None], None] | None
    ) -> SessionStore:
        if session is not None or self.config.session is None:
            return SessionStore(session, on_session)
        # Signed in with `hokusai auth login --wallet`: each new pair goes back to the profile, or the stored
        # refresh token would be a spent one and its next use would end the session.
        config = self.config
        return ProfileSessionStore(config.config_file, config.profile, self.base_url, config.session, on_session)

    @property
    def session(self) -> Session | None:
        """The signed-in session this client uses (after a refresh, the new pair), or None."""
        return self.sessions.current

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": timeout(self.config.timeout),
            "headers": {"User-Agent": USER_AGENT},
            "follow_redirects": False,  # a redirect must never carry a credential somewhere else
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def _sync(build: Callable[P, Call[T]]) -> Callable[Concatenate[AuthClient, P], T]:
    @wraps(build)
    def method(self: AuthClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    return method


def _async(build: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncAuthClient, P], Coroutine[Any, Any, T]]:
    @wraps(build)
    async def method(self: AsyncAuthClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    return method


class AuthClient(_ClientBase):
    """Blocking client. Use it as a context manager, or call ``close()``."""

    def __init__(self, base_url: str | None = None, *, transport: httpx.BaseTransport | None = None, **kw: Any) -> None:
        super().__init__(base_url, **kw)
        self._http = httpx.Client(transport=transport, **self._client_options())

    def send(self, call: Call[T]) -> T:
        steps = with_session(call, self.sessions, self.credentials, self.retry, self._build, self.base_url)
        return drive_sync(steps, self._http)

    def _build(self, call: Call[Any], credentials: Credentials) -> httpx.Request:
        return build_request(self._http, call, credentials)

    create_key = _sync(api.create_key)
    list_keys = _sync(api.list_keys)
    get_key = _sync(api.get_key)
    update_key = _sync(api.update_key)
    revoke_key = _sync(api.revoke_key)
    rotate_key = _sync(api.rotate_key)
    record_usage = _sync(api.record_usage)
    usage_stats = _sync(api.usage_stats)
    billing = _sync(api.billing)
    usage_aggregate = _sync(api.usage_aggregate)
    list_audit_logs = _sync(api.list_audit_logs)
    health = _sync(api.health)
    ready = _sync(api.ready)

    validate_key = _sync(api.validate_key)

    siwe_challenge = _sync(api.siwe_challenge)
    siwe_verify = _sync(api.siwe_verify)
    start_device_sign_in = _sync(api.start_device_sign_in)
    poll_device_sign_in = _sync(api.poll_device_sign_in)
    refresh_session = _sync(api.refresh_session)
    logout = _sync(api.logout)
    me = _sync(api.me)
    list_sessions = _sync(api.list_sessions)
    end_session = _sync(api.end_session)
    validate_token = _sync(api.validate_token)

    list_users = _sync(api.list_users)
    get_user = _sync(api.get_user)
    set_user_active = _sync(api.set_user_active)

    register = _sync(api.register)
    verify_registration_email = _sync(api.verify_registration_email)
    registration_status = _sync(api.registration_status)
    list_registrations = _sync(api.list_registrations)
    get_registration = _sync(api.get_registration)
    approve_registration = _sync(api.approve_registration)
    reject_registration = _sync(api.reject_registration)
    claim_organization = _sync(api.claim_organization)

    create_organization = _sync(api.create_organization)
    list_organizations = _sync(api.list_organizations)
    get_organization = _sync(api.get_organization)
    rename_organization = _sync(api.rename_organization)
    delete_organization = _sync(api.delete_organization)
    list_members = _sync(api.list_members)
    set_member_role = _sync(api.set_member_role)
    remove_member = _sync(api.remove_member)
    invite_member = _sync(api.invite_member)
    list_invitations = _sync(api.list_invitations)
    revoke_invitation = _sync(api.revoke_invitation)
    accept_invitation = _sync(api.accept_invitation)
    create_organization_key = _sync(api.create_organization_key)
    list_organization_keys = _sync(api.list_organization_keys)
    revoke_organization_key = _sync(api.revoke_organization_key)
    list_organization_audit_logs = _sync(api.list_organization_audit_logs)
    get_organization_usage = _sync(api.get_organization_usage)

    def iter_keys(self, **filters: Any) -> Iterator[APIKeyInfo]:
        """Every key matching ``filters`` (those of ``list_keys``), following the pages."""
        return _follow(lambda cursor: self.list_keys(**filters, cursor=cursor))

    def iter_audit_logs(self, **filters: Any) -> Iterator[AuditEvent]:
        """Every audit event matching ``filters`` (those of ``list_audit_logs``), following the pages."""
        return _follow(lambda cursor: self.list_audit_logs(**filters, cursor=cursor))

    def iter_users(self, *, limit: int | None = None) -> Iterator[UserInfo]:
        """Every user, newest first, following the pages (admin)."""
        return _follow(lambda cursor: self.list_users(limit=limit, cursor=cursor))

    def iter_registrations(self, *, status: str | None = None, limit: int | None = None) -> Iterator[Registration]:
        """Every registration (of ``status``), newest first, following the pages (admin)."""
        return _follow(lambda cursor: self.list_registrations(status=status, limit=limit, cursor=cursor))

    def iter_organization_keys(self, organization_id: str, **filters: Any) -> Iterator[APIKeyInfo]:
        """Every key of the organization matching ``filters`` (those of ``list_organization_keys``), following the
        pages."""
        return _follow(lambda cursor: self.list_organization_keys(organization_id, **filters, cursor=cursor))

    def iter_organization_audit_logs(self, organization_id: str, **filters: Any) -> Iterator[AuditEvent]:
        """Every event of the organization's audit log matching ``filters`` (those of
        ``list_organization_audit_logs``), newest first, following the pages."""
        return _follow(lambda cursor: self.list_organization_audit_logs(organization_id, **filters, cursor=cursor))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncAuthClient(_ClientBase):
    """Asyncio client: the same methods as ``AuthClient``, awaited. ``async with`` it, or ``await aclose()``."""

    def __init__(
        self, base_url: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None, **kw: Any
    ) -> None:
        super().__init__(base_url, **kw)
        self._http = httpx.AsyncClient(transport=transport, **self._client_options())

    async def send(self, call: Call[T]) -> T:
        steps = with_session(call, self.sessions, self.credentials, self.retry, self._build, self.base_url)
        return await drive_async(steps, self._http)

    def _build(self, call: Call[Any], credentials: Credentials) -> httpx.Request:
        return build_request(self._http, call, credentials)

    create_key = _async(api.create_key)
    list_keys = _async(api.list_keys)
    get_key = _async(api.get_key)
    update_key = _async(api.update_key)
    revoke_key = _async(api.revoke_key)
    rotate_key = _async(api.rotate_key)
    record_usage = _async(api.record_usage)
    usage_stats = _async(api.usage_stats)
    billing = _async(api.billing)
    usage_aggregate = _async(api.usage_aggregate)
    list_audit_logs = _async(api.list_audit_logs)
    health = _async(api.health)
    ready = _async(api.ready)

    validate_key = _async(api.validate_key)

    siwe_challenge = _async(api.siwe_challenge)
    siwe_verify = _async(api.siwe_verify)
    start_device_sign_in = _async(api.start_device_sign_in)
    poll_device_sign_in = _async(api.poll_device_sign_in)
    refresh_session = _async(api.refresh_session)
    logout = _async(api.logout)
    me = _async(api.me)
    list_sessions = _async(api.list_sessions)
    end_session = _async(api.end_session)
    validate_token = _async(api.validate_token)

    list_users = _async(api.list_users)
    get_user = _async(api.get_user)
    set_user_active = _async(api.set_user_active)

    register = _async(api.register)
    verify_registration_email = _async(api.verify_registration_email)
    registration_status = _async(api.registration_status)
    list_registrations = _async(api.list_registrations)
    get_registration = _async(api.get_registration)
    approve_registration = _async(api.approve_registration)
    reject_registration = _async(api.reject_registration)
    claim_organization = _async(api.claim_organization)

    create_organization = _async(api.create_organization)
    list_organizations = _async(api.list_organizations)
    get_organization = _async(api.get_organization)
    rename_organization = _async(api.rename_organization)
    delete_organization = _async(api.delete_organization)
    list_members = _async(api.list_members)
    set_member_role = _async(api.set_member_role)
    remove_member = _async(api.remove_member)
    invite_member = _async(api.invite_member)
    list_invitations = _async(api.list_invitations)
    revoke_invitation = _async(api.revoke_invitation)
    accept_invitation = _async(api.accept_invitation)
    create_organization_key = _async(api.create_organization_key)
    list_organization_keys = _async(api.list_organization_keys)
    revoke_organization_key = _async(api.revoke_organization_key)
    list_organization_audit_logs = _async(api.list_organization_audit_logs)
    get_organization_usage = _async(api.get_organization_usage)

    def iter_keys(self, **filters: Any) -> AsyncIterator[APIKeyInfo]:
        return _follow_async(lambda cursor: self.list_keys(**filters, cursor=cursor))

    def iter_audit_logs(self, **filters: Any) -> AsyncIterator[AuditEvent]:
        return _follow_async(lambda cursor: self.list_audit_logs(**filters, cursor=cursor))

    def iter_users(self, *, limit: int | None = None) -> AsyncIterator[UserInfo]:
        return _follow_async(lambda cursor: self.list_users(limit=limit, cursor=cursor))

    def iter_registrations(self, *, status: str | None = None, limit: int | None = None) -> AsyncIterator[Registration]:
        return _follow_async(lambda cursor: self.list_registrations(status=status, limit=limit, cursor=cursor))

    def iter_organization_keys(self, organization_id: str, **filters: Any) -> AsyncIterator[APIKeyInfo]:
        return _follow_async(lambda cursor: self.list_organization_keys(organization_id, **filters, cursor=cursor))

    def iter_organization_audit_logs(self, organization_id: str, **filters: Any) -> AsyncIterator[AuditEvent]:
        return _follow_async(
            lambda cursor: self.list_organization_audit_logs(organization_id, **filters, cursor=cursor)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _follow(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def _follow_async(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
