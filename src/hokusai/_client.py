"""``AuthClient`` (blocking) and ``AsyncAuthClient`` (asyncio) for the Hokusai auth service.

Both are the endpoint functions of ``hokusai._api`` bound to a connection: ``client.create_key(...)`` builds the
call with ``api.create_key(...)`` and runs it through the shared pipeline in ``hokusai._transport``. Nothing about
an endpoint is written twice.

    from hokusai._client import AuthClient

    with AuthClient() as client:              # URL and admin token from setup(), the environment or a profile
        created = client.create_key("ci", "platform", scopes=["read"])
        print(created.api_key)                # shown once
        assert client.validate_key(created.api_key, service_id="platform").is_valid
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from functools import wraps
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from hokusai import _api as api
from hokusai._config import Config, resolve
from hokusai._models import APIKeyInfo, AuditEvent, Page
from hokusai._transport import (
    USER_AGENT,
    Call,
    Credentials,
    RetryPolicy,
    build_request,
    drive_async,
    drive_sync,
    exchange,
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
    ) -> None:
        self.config = config or resolve(
            profile, auth_service_url=base_url, admin_token=admin_token, api_key=api_key, timeout=timeout_s
        )
        self.base_url = self.config.auth_service_url
        self.api_key = self.config.api_key
        self.credentials = Credentials(admin_token=self.config.admin_token, service_token=service_token)
        self.retry = retry or RetryPolicy()

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
        steps = exchange(call, self.retry, lambda: build_request(self._http, call, self.credentials), self.base_url)
        return drive_sync(steps, self._http)

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

    def iter_keys(self, **filters: Any) -> Iterator[APIKeyInfo]:
        """Every key matching ``filters`` (those of ``list_keys``), following the pages."""
        return _follow(lambda cursor: self.list_keys(**filters, cursor=cursor))

    def iter_audit_logs(self, **filters: Any) -> Iterator[AuditEvent]:
        """Every audit event matching ``filters`` (those of ``list_audit_logs``), following the pages."""
        return _follow(lambda cursor: self.list_audit_logs(**filters, cursor=cursor))

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
        steps = exchange(call, self.retry, lambda: build_request(self._http, call, self.credentials), self.base_url)
        return await drive_async(steps, self._http)

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

    def iter_keys(self, **filters: Any) -> AsyncIterator[APIKeyInfo]:
        return _follow_async(lambda cursor: self.list_keys(**filters, cursor=cursor))

    def iter_audit_logs(self, **filters: Any) -> AsyncIterator[AuditEvent]:
        return _follow_async(lambda cursor: self.list_audit_logs(**filters, cursor=cursor))

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
