"""A client's signed-in session: where it is kept, and how it is refreshed without ever spending a refresh token
twice. Written once, without I/O, for both clients (like ``hokusai._transport``).

A refresh token is single-use: presenting a spent one ends the session, on the service's side, for good (it is
taken for a stolen copy). So:

- a store refreshes at most once at a time: a lock per store in this process, and for a session kept in a profile
  of ``~/.hokusai/config`` also a lock file next to it, so two ``hokusai`` commands or scripts on this machine take
  turns;
- under that lock the stored session is read again first: when another client or process has refreshed it
  meanwhile, its new pair is used instead of spending the old refresh token a second time;
- the new pair is stored before anything else can use it.

Processes on different machines that share one stored session (a copied config file) are not coordinated: the
second to refresh ends the session. Give each machine its own sign-in.

Locks are taken without blocking and waited for with the pipeline's ``Sleep`` step, so the same code runs under
the blocking and the asyncio driver.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx

from hokusai import _api as api
from hokusai._config import read_profiles, session_settings, stored_session, write_profile
from hokusai._errors import AuthenticationError, HokusaiError
from hokusai._models import Session
from hokusai._transport import CURRENT_SESSION, Call, Credentials, Outcome, RetryPolicy, Sleep, Step, exchange
from hokusai._vocabulary import TokenFailure

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; concurrent refreshes are then not coordinated
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
LOCK_POLL_S = 0.02
LOCK_WAIT_S = 30.0  # a refresh is one request; a lock held longer than this is a stuck process
SIGN_IN_AGAIN = "sign in again (`hokusai auth login --wallet KEYSTORE`, or hokusai.sign_in_with_keystore)"


class SessionStore:
    """Keeps a client's session in memory and tells ``on_change`` of every new one (``None``: it ended), so the
    caller can persist it. Pass ``session=`` and ``on_session=`` to a client to use one."""

    def __init__(self, session: Session | None = None, on_change: Callable[[Session | None], None] | None = None):
        self._session = session
        self._on_change = on_change
        self._lock = threading.Lock()

    @property
    def current(self) -> Session | None:
        return self._session

    def reload(self) -> Session | None:
        """The session as stored now (another process may have refreshed it). Called under the lock."""
        return self._session

    def save(self, session: Session | None) -> None:
        self._session = session
        if self._on_change is not None:
            self._on_change(session)

    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'signed in' if self._session else 'no session'})"


class ProfileSessionStore(SessionStore):
    """The session of a profile of ``~/.hokusai/config`` (``hokusai auth login --wallet``): every new pair is
    written back there (mode 0600), and refreshes take turns with other processes through ``<config>.lock``."""

    def __init__(
        self,
        config_file: Path,
        profile: str,
        service_url: str,
        session: Session | None,
        on_change: Callable[[Session | None], None] | None = None,
    ) -> None:
        super().__init__(session, on_change)
        self.config_file = config_file
        self.profile = profile
        self.service_url = service_url
        self._lock_file: int | None = None

    def reload(self) -> Session | None:
        self._session = stored_session(read_profiles(self.config_file).get(self.profile, {}), self.service_url)
        return self._session

    def save(self, session: Session | None) -> None:
        write_profile(self.profile, session_settings(session, self.service_url), self.config_file)
        super().save(session)

    def try_lock(self) -> bool:
        if not super().try_lock():
            return False
        if fcntl is None:
            return True
        try:
            self.config_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.config_file.with_name(self.config_file.name + ".lock"), os.O_RDWR | os.O_CREAT,
                                 0o600)  # fmt: skip
        except OSError:
            return True  # a read-only home: nothing to coordinate with
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            super().unlock()
            return False
        self._lock_file = descriptor
        return True

    def unlock(self) -> None:
        if self._lock_file is not None:
            descriptor, self._lock_file = self._lock_file, None
            with contextlib.suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
        super().unlock()


Build = Callable[[Call[Any], Credentials], httpx.Request]
Exchange = Generator[Step, Outcome, T]


def with_session(
    call: Call[T], store: SessionStore, credentials: Credentials, policy: RetryPolicy, build: Build, base_url: str
) -> Exchange[T]:
    """``exchange`` with the session's access token when the call goes with it: refreshed first when it has
    expired by this machine's clock, and once more (then the call is repeated once) when the service says
    ``token_expired``. Applies what the call does to the session (sign-in, refresh, logout)."""
    session = store.current
    if session is None or not credentials.uses_session(call.credential):
        result = yield from exchange(call, policy, lambda: build(call, credentials), base_url)
    else:
        if session.expired():
            session = yield from _refreshed(session, store, credentials, policy, build, base_url)
        try:
            result = yield from _as(call, session, credentials, policy, build, base_url)
        except AuthenticationError as error:
            if error.code != TokenFailure.EXPIRED:
                raise
            session = yield from _refreshed(session, store, credentials, policy, build, base_url)
            result = yield from _as(call, session, credentials, policy, build, base_url)
    _apply(call, result, store)
    return result


def _as(
    call: Call[T], session: Session, credentials: Credentials, policy: RetryPolicy, build: Build, base_url: str
) -> Exchange[T]:
    signed = replace(credentials, access_token=session.access_token)
    return (yield from exchange(call, policy, lambda: build(call, signed), base_url))


def _apply(call: Call[Any], result: Any, store: SessionStore) -> None:
    if call.adopts_session and isinstance(result, Session):
        store.save(result)
    elif (
        call.ends_session is not None
        and store.current is not None
        and (call.ends_session in (CURRENT_SESSION, store.current.session_id))
    ):
        store.save(None)


def _refreshed(
    stale: Session, store: SessionStore, credentials: Credentials, policy: RetryPolicy, build: Build, base_url: str
) -> Exchange[Session]:
    waited = 0.0
    while not store.try_lock():
        if waited >= LOCK_WAIT_S:
            raise HokusaiError(f"gave up waiting {LOCK_WAIT_S:g} s for another process to refresh the session")
        yield Sleep(LOCK_POLL_S)
        waited += LOCK_POLL_S
    try:
        latest = store.reload()
        if latest is None:
            raise AuthenticationError(f"the session is no longer stored (signed out elsewhere?): {SIGN_IN_AGAIN}")
        if latest.refresh_token != stale.refresh_token and not latest.expired():
            return latest  # refreshed meanwhile by another client or process: its pair, not a second refresh
        call = api.refresh_session(latest.refresh_token)
        try:
            session = yield from exchange(call, policy, lambda: build(call, Credentials()), base_url)
        except AuthenticationError as error:
            store.save(None)  # spent, expired or revoked: this session is over
            raise AuthenticationError(
                f"the session has ended ({error.message}): {SIGN_IN_AGAIN}", status=error.status, code=error.code,
                body=error.body, request_id=error.request_id,
            ) from None  # fmt: skip
        store.save(session)
        return session
    finally:
        store.unlock()
