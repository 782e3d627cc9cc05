"""Wallet sign-in and sessions through the SDK, against a real service whose access tokens live one second: sign
in, refresh on expiry (by the clock, and on the service's ``token_expired``), a refresh token spent once however
many calls or clients need a new one, logout, self-service keys, the admin's users, and the keystore extra."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hokusai import (
    AsyncAuthClient,
    AuthClient,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    Session,
    async_sign_in_with_keystore,
    sign_in_with_keystore,
)
from hokusai._config import read_profiles, resolve, session_settings, write_profile
from hokusai._session import ProfileSessionStore
from hokusai._wallet import check_message
from tests.conftest import ADMIN_TOKEN
from tests.sdk.conftest import ACCESS_TOKEN_TTL_S, LiveService, write_keystore
from tests.wallet import Wallet

EXPIRED = ACCESS_TOKEN_TTL_S + 0.2


def sign_in(client: AuthClient, wallet: Wallet) -> Session:
    challenge = client.siwe_challenge(wallet.address)
    return client.siwe_verify(challenge.message, wallet.sign(challenge.message))


class Recorder:
    """An ``on_session`` callback: what a caller would persist."""

    def __init__(self) -> None:
        self.seen: list[Session | None] = []

    def __call__(self, session: Session | None) -> None:
        self.seen.append(session)


def test_sign_in_then_the_session_endpoints(session_service: LiveService, sdk_env: Path) -> None:
    wallet = Wallet()
    with AuthClient(session_service.url) as client:
        challenge = client.siwe_challenge(wallet.address)
        assert wallet.address in challenge.message
        assert challenge.nonce in challenge.message
        session = client.siwe_verify(challenge.message, wallet.sign(challenge.message))
        assert client.session == session, "the client signs in as the new session"
        assert session.wallet_address == wallet.address
        assert session.is_new_user
        assert session.expires_in == ACCESS_TOKEN_TTL_S
        assert session.session_id is not None
        assert session.access_token not in repr(session)
        assert session.refresh_token not in repr(session)

        me = client.me()
        assert (me.id, me.wallet_address, me.is_active) == (session.user_id, wallet.address, True)
        (listed,) = client.list_sessions()
        assert listed.current
        assert listed.session_id == session.session_id

        verdict = client.validate_token(client.session.access_token if client.session else "")
        assert verdict.valid
        assert verdict.user_id == session.user_id
        assert verdict.session_id == session.session_id
        refused = client.validate_token("not.a.token")
        assert not refused
        assert (refused.status, refused.code) == (401, "invalid_token")


def test_an_expired_access_token_is_refreshed_and_the_new_pair_handed_over(
    session_service: LiveService, sdk_env: Path
) -> None:
    recorder = Recorder()
    with AuthClient(session_service.url, on_session=recorder) as client:
        first = sign_in(client, Wallet())
        time.sleep(EXPIRED)
        assert first.expired()
        assert client.me().id == first.user_id  # refreshed first: this machine's clock says it has expired
        second = client.session
        assert second is not None
        assert recorder.seen == [first, second]
        assert second.refresh_token != first.refresh_token
        assert second.session_id == first.session_id, "a refresh keeps the session"
        assert client.validate_token(first.access_token).code == "token_expired"


def test_a_token_the_service_calls_expired_is_refreshed_once_and_the_call_repeated(
    session_service: LiveService, sdk_env: Path
) -> None:
    with AuthClient(session_service.url) as client:
        signed_in = sign_in(client, Wallet())
    time.sleep(EXPIRED)
    # This machine's clock does not know it has expired (a session stored without its expiry, or clock skew).
    unknown_expiry = Session(signed_in.access_token, signed_in.refresh_token, signed_in.user_id)
    recorder = Recorder()
    with AuthClient(session_service.url, session=unknown_expiry, on_session=recorder) as client:
        created = client.create_key("refreshed", "platform")  # not repeatable, but a 401 did nothing
        assert created.key_info.user_id == signed_in.user_id
        assert len(recorder.seen) == 1
        assert client.session == recorder.seen[0]


async def test_concurrent_calls_spend_the_refresh_token_once(session_service: LiveService, sdk_env: Path) -> None:
    wallet = Wallet()
    async with AsyncAuthClient(session_service.url) as client:
        challenge = await client.siwe_challenge(wallet.address)
        await client.siwe_verify(challenge.message, wallet.sign(challenge.message))
    stored = client.session
    assert stored is not None
    await asyncio.sleep(EXPIRED)
    recorder = Recorder()
    async with AsyncAuthClient(session_service.url, session=stored, on_session=recorder) as client:
        answers = await asyncio.gather(*(client.me() for _ in range(8)))
        assert {me.id for me in answers} == {stored.user_id}
        assert len(recorder.seen) == 1, "one refresh for all eight: a second would have ended the session"
        assert (await client.me()).id == stored.user_id


def test_two_clients_of_one_profile_take_turns_instead_of_ending_the_session(
    session_service: LiveService, sdk_env: Path
) -> None:
    """What two `hokusai` commands, or a command and a script, sharing ~/.hokusai/config do."""
    with AuthClient(session_service.url) as client:
        signed_in = sign_in(client, Wallet())
    write_profile("default", {"auth_service_url": session_service.url,
                              **session_settings(signed_in, session_service.url)})  # fmt: skip
    first, second = AuthClient(config=resolve()), AuthClient(config=resolve())
    assert isinstance(first.sessions, ProfileSessionStore)
    time.sleep(EXPIRED)
    with first, second:
        assert first.me().id == signed_in.user_id  # refreshes, and writes the new pair to the profile
        stored = read_profiles(sdk_env)["default"]
        assert stored["refresh_token"] != signed_in.refresh_token
        # The second still holds the spent pair: it reads the profile again rather than spend it a second time.
        assert second.me().id == signed_in.user_id
        assert second.session is not None
        assert second.session.refresh_token == stored["refresh_token"]


def test_logout_ends_the_session_everywhere(session_service: LiveService, sdk_env: Path) -> None:
    recorder = Recorder()
    with AuthClient(session_service.url, on_session=recorder) as client:
        signed_in = sign_in(client, Wallet())
        assert client.logout() == "Logged out"
        assert client.session is None
        assert recorder.seen[-1] is None
        assert client.validate_token(signed_in.access_token).code == "session_revoked"
        with pytest.raises(ConfigurationError, match="needs a signed-in session"):
            client.me()
    with AuthClient(session_service.url, session=signed_in) as again:
        with pytest.raises(AuthenticationError) as refused:
            again.me()
        assert refused.value.code == "session_revoked"
        assert again.logout() == "The session had already ended"
    with AuthClient(session_service.url) as client, pytest.raises(AuthenticationError) as ended:
        client.refresh_session(signed_in.refresh_token)
    assert ended.value.code in {"invalid_refresh_token", "refresh_token_reused"}
    time.sleep(EXPIRED)
    with AuthClient(session_service.url, session=signed_in) as expired:
        with pytest.raises(AuthenticationError, match="the session has ended"):
            expired.me()  # the refresh is refused: the stored session is dropped
        assert expired.session is None


def test_a_user_manages_their_own_keys_and_ends_other_sessions(session_service: LiveService, sdk_env: Path) -> None:
    wallet = Wallet()
    someone_elses = session_service.create_key(name="not mine")
    with AuthClient(session_service.url) as other_device:
        sign_in(other_device, wallet)
    with AuthClient(session_service.url) as client:
        session = sign_in(client, wallet)
        created = client.create_key("mine", "platform", scopes=["read"])
        assert created.key_info.user_id == session.user_id
        assert [key.key_id for key in client.list_keys().items] == [created.key_id]
        assert client.rotate_key(created.key_id).key_info.user_id == session.user_id
        with pytest.raises(NotFoundError):
            client.get_key(someone_elses["key_id"])

        sessions = client.list_sessions()
        assert len(sessions) == 2
        (other,) = [entry for entry in sessions if not entry.current]
        assert client.end_session(other.session_id) == "Session ended"
        assert client.session == session, "ending another session keeps this one"
        assert [entry.current for entry in client.list_sessions()] == [True]
        assert client.end_session(session.session_id or "") == "Session ended"
        assert client.session is None, "ending this client's own session signs it out"


def test_the_admin_disables_and_enables_a_user(session_service: LiveService, sdk_env: Path) -> None:
    with AuthClient(session_service.url) as user:
        session = sign_in(user, Wallet())
        with AuthClient(session_service.url, admin_token=ADMIN_TOKEN) as admin:
            assert admin.get_user(session.user_id).wallet_address == session.wallet_address
            assert session.user_id in {found.id for found in admin.iter_users(limit=2)}
            assert admin.set_user_active(session.user_id, False).is_active is False
            with pytest.raises(AuthenticationError) as refused:
                user.me()
            assert refused.value.code in {"session_revoked", "user_disabled"}  # disabling ends their sessions
            assert admin.set_user_active(session.user_id, True).is_active
            with pytest.raises(NotFoundError):
                admin.get_user("00000000-0000-0000-0000-000000000000")
        with pytest.raises(ConfigurationError, match="needs an admin token"):
            user.list_users()


def test_the_admin_token_wins_for_the_key_endpoints(session_service: LiveService, sdk_env: Path) -> None:
    someone_elses = session_service.create_key(name="not mine")
    with AuthClient(session_service.url, admin_token=ADMIN_TOKEN) as client:
        sign_in(client, Wallet())
        assert client.get_key(someone_elses["key_id"]).name == "not mine"
        assert client.me().is_active  # the session endpoints still go with the session


# ------------------------------------------------------------------------------------------------ keystores


def test_sign_in_with_a_keystore(session_service: LiveService, sdk_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    address = write_keystore(path, "correct horse")
    with AuthClient(session_service.url) as client:
        session = sign_in_with_keystore(client, path, "correct horse")
        assert session.wallet_address == address
        assert client.me().wallet_address == address
        with pytest.raises(AuthenticationError, match="wrong password"):
            sign_in_with_keystore(client, path, "battery staple")
        with pytest.raises(ConfigurationError, match="cannot read the keystore"):
            sign_in_with_keystore(client, tmp_path / "missing.json", "x")
        (tmp_path / "notes.json").write_text('{"just": "json"}')
        with pytest.raises(ConfigurationError, match="not an Ethereum keystore"):
            sign_in_with_keystore(client, tmp_path / "notes.json", "x")


def test_a_keystore_never_signs_a_sign_in_for_another_site(
    live_service: LiveService, session_service: LiveService, sdk_env: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wallet.json"
    write_keystore(path, "pw")
    # live_service keeps the default PUBLIC_URL: its messages are for 127.0.0.1:8000, not the URL it is reached at,
    # as a service relaying another site's sign-in would be.
    with AuthClient(live_service.url) as client:
        with pytest.raises(
            ConfigurationError, match=r"refusing to sign: the service asked to sign in to '127\.0\.0\.1:8000'"
        ):
            sign_in_with_keystore(client, path, "pw")
        assert client.session is None
        # Told that this service's public address is that one, it signs.
        assert sign_in_with_keystore(client, path, "pw", expected_domain="127.0.0.1:8000").user_id
    with AuthClient(session_service.url) as client:
        challenge = client.siwe_challenge(write_keystore(tmp_path / "other.json", "pw"))
    domain = session_service.url.removeprefix("http://")
    check_message(challenge.message, challenge.message.split("\n")[1], domain, chain_id=1)
    with pytest.raises(ConfigurationError, match="the challenge is for 0x"):
        check_message(challenge.message, Wallet().address, domain)
    with pytest.raises(ConfigurationError, match="not for chain 5"):
        check_message(challenge.message, challenge.message.split("\n")[1], domain, chain_id=5)
    with pytest.raises(ConfigurationError, match="not an EIP-4361 sign-in message"):
        check_message("Sign this to claim your prize\n0x00", Wallet().address, domain)


async def test_sign_in_with_a_keystore_asynchronously(
    session_service: LiveService, sdk_env: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wallet.json"
    address = write_keystore(path, "pw")
    async with AsyncAuthClient(session_service.url) as client:
        session = await async_sign_in_with_keystore(client, path, "pw")
        assert (await client.me()).wallet_address == address == session.wallet_address


def test_without_the_wallet_extra_a_keystore_says_what_to_install(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.modules['eth_account'] = None\n"  # what Python sees when the package is not installed
        "import hokusai\n"
        "try:\n"
        f"    hokusai.load_keystore({str(tmp_path / 'wallet.json')!r}, 'pw')\n"
        "except hokusai.ConfigurationError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == (
        "signing in with a wallet needs eth-account: pip install 'hokusai-ml-platform[wallet]'"
    )


def test_the_base_install_never_loads_eth_account() -> None:
    probe = (
        "import sys, hokusai, hokusai._client, hokusai.cli, hokusai._session;"
        "hokusai.sign_in_with_keystore, hokusai.Session, hokusai.AuthClient;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('eth_account', 'eth_keys', 'coincurve')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"


def test_a_profile_session_is_sent_only_to_the_service_that_issued_it(sdk_env: Path) -> None:
    issued = Session("a.b.c", "hkr_x", "user-1")
    write_profile("default", {"auth_service_url": "https://auth.example.com",
                              **session_settings(issued, "https://auth.example.com")})  # fmt: skip
    assert resolve().session is not None
    assert resolve(auth_service_url="https://elsewhere.example.com").session is None
    assert "a.b.c" not in repr(resolve())
    assert "hkr_x" not in repr(resolve())
    unused = httpx.MockTransport(lambda request: httpx.Response(500))
    with AuthClient("https://elsewhere.example.com", transport=unused) as client:
        assert client.session is None
