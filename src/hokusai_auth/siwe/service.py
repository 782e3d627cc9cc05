"""Wallet sign-in (EIP-4361): a challenge to sign, and the verification of what came back.

``verify`` checks, in this order, and refuses with the contract's 401 code at the first failure: the text is a
strict EIP-4361 message of at most 4 KiB (``invalid_message``); its domain and URI are this service's
PUBLIC_URL (``domain_mismatch``); its chain is allowed (``chain_not_allowed``); it is within its Not Before and
Expiration Time (``message_expired``); the signature is 65 bytes of ``personal_sign`` by the address in the
message (``invalid_signature``); the nonce was issued to that address for that chain, is unexpired and unused, and
this verify consumes it (``invalid_nonce``: a replayed message and signature land here). Only then does anything
change: the user is found or created, and a session starts, in the nonce's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from hokusai._vocabulary import ErrorCode, TokenFailure
from hokusai_auth.audit import recorder
from hokusai_auth.clock import Clock
from hokusai_auth.db.engine import Database
from hokusai_auth.errors import ServiceError, invalid_field
from hokusai_auth.security.address_limit import AddressLimit
from hokusai_auth.sessions.service import SessionService, TokenPair
from hokusai_auth.siwe import nonces
from hokusai_auth.siwe.message import MAX_MESSAGE_BYTES, InvalidMessage, SiweMessage, parse, render
from hokusai_auth.siwe.schemas import Challenge
from hokusai_auth.siwe.signature import InvalidSignature, verify_signer
from hokusai_auth.users.service import UserService
from hokusai_auth.web.context import RequestContext

CHALLENGE_TTL = timedelta(minutes=5)
SIGN_IN_REFUSALS = (
    ErrorCode.INVALID_MESSAGE,
    ErrorCode.DOMAIN_MISMATCH,
    ErrorCode.CHAIN_NOT_ALLOWED,
    ErrorCode.MESSAGE_EXPIRED,
    ErrorCode.INVALID_SIGNATURE,
    ErrorCode.INVALID_NONCE,
)  # in the order verify checks them
STATEMENT = "Sign in to Hokusai with your Ethereum account."


def refused(code: ErrorCode | TokenFailure, detail: str) -> ServiceError:
    return ServiceError(401, code, detail)


class SignIn:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        public_url: str,
        chain_ids: tuple[int, ...],
        users: UserService,
        sessions: SessionService,
        per_address: AddressLimit,
    ) -> None:
        self._db = database
        self._clock = clock
        self._uri = public_url
        origin = urlsplit(public_url)
        self._scheme = origin.scheme
        self._domain = origin.netloc
        self._chain_ids = chain_ids
        self._users = users
        self._sessions = sessions
        self._per_address = per_address

    async def challenge(self, wallet_address: str, chain_id: int | None, client_ip: str | None) -> Challenge:
        """``wallet_address`` already checksummed (the request schema does it). Each challenge is a row: an
        address asking for too many is 429 (``SIGN_IN_PER_HOUR``)."""
        await self._per_address.spend(client_ip)
        chain = chain_id if chain_id is not None else self._chain_ids[0]
        if chain not in self._chain_ids:
            allowed = ", ".join(str(chain) for chain in self._chain_ids)
            raise invalid_field("chain_id", f"chain not allowed here; allowed chain ids: {allowed}")
        now = self._clock.now().replace(microsecond=0)
        expires_at = now + CHALLENGE_TTL
        message = SiweMessage(
            domain=self._domain,
            address=wallet_address,
            statement=STATEMENT,
            uri=self._uri,
            chain_id=chain,
            nonce=nonces.new_nonce(),
            issued_at=now,
            expiration_time=expires_at,
        )
        async with self._db.writer.begin() as session:
            await nonces.forget_old(session, now)
            nonces.issue(session, message.nonce, wallet_address, chain, now, expires_at)
        return Challenge(message=render(message), nonce=message.nonce, expires_at=expires_at)

    def _check_message(self, text: str, now: datetime) -> SiweMessage:
        if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
            raise refused(ErrorCode.INVALID_MESSAGE, f"The message is longer than {MAX_MESSAGE_BYTES} bytes")
        try:
            message = parse(text)
        except InvalidMessage as error:
            raise refused(ErrorCode.INVALID_MESSAGE, f"Not an EIP-4361 message: {error.reason}") from None
        ours = message.domain == self._domain and (message.scheme in (None, self._scheme))
        if not ours or not (message.uri == self._uri or message.uri.startswith(self._uri + "/")):
            raise refused(ErrorCode.DOMAIN_MISMATCH, f"The message is not for this service ({self._uri})")
        if message.chain_id not in self._chain_ids:
            raise refused(ErrorCode.CHAIN_NOT_ALLOWED, "The message names a chain this service does not allow")
        if message.expiration_time is not None and now >= message.expiration_time:
            raise refused(ErrorCode.MESSAGE_EXPIRED, "The message has expired: ask for a new challenge")
        if message.not_before is not None and now < message.not_before:
            raise refused(ErrorCode.MESSAGE_EXPIRED, "The message is not valid yet (Not Before)")
        return message

    async def verify(self, text: str, signature: str, ctx: RequestContext) -> tuple[TokenPair, bool]:
        """The new session's tokens, and whether the user was created by this sign-in."""
        await self._per_address.spend(ctx.client_ip)
        now = self._clock.now()
        message = self._check_message(text, now)
        try:
            verify_signer(text, signature, message.address)
        except InvalidSignature as error:
            raise refused(ErrorCode.INVALID_SIGNATURE, f"Invalid signature: {error.reason}") from None
        async with self._db.writer.begin() as session:
            if not await nonces.consume(session, message.nonce, message.address, message.chain_id, now):
                raise refused(ErrorCode.INVALID_NONCE, "Unknown, used or expired nonce: ask for a new challenge")
            user, is_new = await self._users.for_wallet(session, message.address, now)
            acting = ctx.with_actor(f"user:{user.id}")
            if not user.is_active:
                raise refused(TokenFailure.USER_DISABLED, "This user has been disabled by an operator")
            if is_new:
                recorder.record(session, acting, action="user.create", at=now, target_type="user",
                                target_id=str(user.id), details={"wallet_address": user.wallet_address})  # fmt: skip
            user.last_login_at = now
            pair = await self._sessions.start(session, user, acting, now)
        return pair, is_new
