"""Access tokens on the wire (hokusai/_jws.py): what a forger would try, and every claim the contract requires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as generate_rsa_key
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hokusai import _jws
from hokusai._jws import ExpiredToken, InvalidToken, UnknownKey

ISSUER = "https://auth.example.com"
NOW = 1_800_000_000
PRIVATE = Ed25519PrivateKey.generate()
PUBLIC = PRIVATE.public_key()
KID = _jws.thumbprint(PUBLIC)
KEYS = {KID: PUBLIC}


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5b0f4c8e-8d55-4a53-9d39-1f4f6f6f2a10",
        "aud": "hokusai",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 900,
        "jti": "Xq3l0m2y6WqkCzQ1d7xV0w",
        "sid": "0c8e3f0a-7d4b-4d2e-9b9e-2b8d2c6f7a11",
        "wallet_address": "0x52908400098527886E0F7030069857D2E4169EE7",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not ...}


def b64(data: bytes | dict[str, Any] | list[Any]) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any] | bytes, sign: Any) -> str:
    """A token with any header, signed by ``sign(signing_input) -> bytes``."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def ours(header: dict[str, Any], payload: dict[str, Any] | bytes | None = None) -> str:
    """A token with ``header``, correctly signed by the known key: only the header can be at fault."""
    return forge(header, claims() if payload is None else payload, PRIVATE.sign)


def refused(token: str, keys: Any = KEYS) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        _jws.verify(token, keys)
    assert type(caught.value) is InvalidToken or isinstance(caught.value, UnknownKey)
    assert len(token) < 8 or token not in str(caught.value)
    assert caught.value.code == "invalid_token"
    return caught.value


def check(payload: dict[str, Any], *, now: float = NOW + 1, audience: str = "hokusai") -> None:
    _jws.check_claims(payload, issuer=ISSUER, audience=audience, now=now)


# ------------------------------------------------------------------------------------------------ the happy path


def test_a_signed_token_verifies_and_its_claims_check() -> None:
    token = _jws.sign(claims(), KID, PRIVATE)
    assert _jws.verify(token, KEYS) == claims()
    check(_jws.verify(token, KEYS))
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
    assert token.split(".")[0] == b64({"alg": "EdDSA", "kid": KID, "typ": "JWT"})  # compact, in that order
    assert "=" not in token


def test_the_kid_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.2 and A.3: the example Ed25519 key and its thumbprint.
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert _jws.thumbprint(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    jwk = _jws.to_jwk("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", key)
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": jwk["kid"], "alg": "EdDSA", "use": "sig"}
    parsed = _jws.from_jwk(jwk)
    assert parsed is not None
    assert parsed[0] == jwk["kid"]
    assert _jws.public_bytes(parsed[1]) == _jws.public_bytes(key)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "a"},
        {"kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a", "use": "enc"},
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "a",
            "alg": "ES256",
        },
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "a"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        ["not", "an", "object"],
    ],
)
def test_jwks_entries_a_verifier_cannot_use_are_skipped(jwk: Any) -> None:
    assert _jws.from_jwk(jwk) is None


# ------------------------------------------------------------------------------------------------ algorithms


def test_alg_none_without_a_signature_is_refused() -> None:
    for header in ({"alg": "none", "kid": KID}, {"alg": "none"}, {"alg": "None", "kid": KID, "typ": "JWT"}):
        refused(f"{b64(header)}.{b64(claims())}.")
        refused(f"{b64(header)}.{b64(claims())}")


def test_alg_none_with_a_signature_is_refused() -> None:
    token = ours({"alg": "none", "kid": KID, "typ": "JWT"})  # even a valid Ed25519 signature does not help
    assert refused(token).reason == "alg is not EdDSA"


def hmac_signer(secret: bytes, digest: Any) -> Any:
    return lambda data: hmac.new(secret, data, digest).digest()


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_as_secret_is_refused(alg: str) -> None:
    """The classic confusion: a verifier that lets the header pick the algorithm checks an HMAC keyed with
    the public key, which anyone can compute. HS512's 64-byte tag has the length of an Ed25519 signature."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    raw = PUBLIC.public_bytes(Encoding.Raw, PublicFormat.Raw)
    pem = PUBLIC.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    for secret in (raw, pem, b64(raw).encode()):
        token = forge({"alg": alg, "kid": KID, "typ": "JWT"}, claims(), hmac_signer(secret, digest))
        refused(token)
        refused(token, {KID: PUBLIC})


def test_rs256_and_es256_are_refused() -> None:
    rsa = generate_rsa_key(public_exponent=65537, key_size=2048)
    ec = generate_private_key(SECP256R1())
    rs256 = forge(
        {"alg": "RS256", "kid": KID, "typ": "JWT"}, claims(), lambda data: rsa.sign(data, PKCS1v15(), SHA256())
    )
    es256 = forge({"alg": "ES256", "kid": KID, "typ": "JWT"}, claims(), lambda data: ec.sign(data, ECDSA(SHA256())))
    refused(rs256)
    refused(es256)
    # And with a signature of Ed25519's length, so the header is what refuses them.
    for alg in ("RS256", "ES256", "EdDSA ", "eddsa", "Ed25519"):
        assert refused(ours({"alg": alg, "kid": KID, "typ": "JWT"})).reason == "alg is not EdDSA"


def test_a_missing_or_non_string_alg_is_refused() -> None:
    refused(ours({"kid": KID, "typ": "JWT"}))
    refused(ours({"alg": ["EdDSA"], "kid": KID}))
    refused(ours({"alg": None, "kid": KID}))


# ------------------------------------------------------------------------------------------------ keys


def test_an_unknown_kid_is_refused_and_named_for_a_refetch() -> None:
    other = Ed25519PrivateKey.generate()
    token = _jws.sign(claims(), "some-other-kid", other)
    error = refused(token)
    assert isinstance(error, UnknownKey)
    assert error.kid == "some-other-kid"
    assert "some-other-kid" not in str(error)  # the kid is the attacker's text: never echoed
    refused(_jws.sign(claims(), KID, PRIVATE), {})


def test_a_token_signed_by_another_key_under_our_kid_is_refused() -> None:
    token = _jws.sign(claims(), KID, Ed25519PrivateKey.generate())
    assert refused(token).reason == "bad signature"


def test_a_missing_or_non_string_kid_is_refused() -> None:
    refused(ours({"alg": "EdDSA", "typ": "JWT"}))
    refused(ours({"alg": "EdDSA", "kid": 1}))
    refused(ours({"alg": "EdDSA", "kid": None}))


@pytest.mark.parametrize("parameter", ["crit", "jwk", "jku", "x5u", "x5c", "x5t", "b64", "cty", "zip"])
def test_header_parameters_beyond_alg_kid_typ_are_refused_not_followed(parameter: str) -> None:
    values: dict[str, Any] = {
        "crit": ["exp"],
        "jwk": _jws.to_jwk(KID, PUBLIC),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
        "x5t": "abc",
        "b64": False,
        "cty": "JWT",
        "zip": "DEF",
    }
    token = ours({"alg": "EdDSA", "kid": KID, "typ": "JWT", parameter: values[parameter]})
    assert refused(token).reason == "header has parameters other than alg, kid and typ"


def test_typ_other_than_jwt_is_refused_and_may_be_absent() -> None:
    refused(ours({"alg": "EdDSA", "kid": KID, "typ": "JWE"}))
    assert _jws.verify(ours({"alg": "EdDSA", "kid": KID}), KEYS) == claims()


# ------------------------------------------------------------------------------------------------ tampering


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = _jws.sign(claims(), KID, PRIVATE).split(".")
    for changed in (claims(sub="someone-else"), claims(exp=NOW + 10**6), claims(aud=["hokusai", "x"])):
        assert refused(f"{header}.{b64(changed)}.{signature}").reason == "bad signature"


def test_a_tampered_header_is_refused() -> None:
    _, payload, signature = _jws.sign(claims(), KID, PRIVATE).split(".")
    for header in ({"alg": "EdDSA", "kid": KID}, {"kid": KID, "alg": "EdDSA", "typ": "JWT"}):
        assert refused(f"{b64(header)}.{payload}.{signature}").reason == "bad signature"


def test_a_tampered_signature_is_refused() -> None:
    token = _jws.sign(claims(), KID, PRIVATE)
    head, _, signature = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    refused(f"{head}.{b64(bytes(raw))}")
    refused(f"{head}.{b64(bytes(64))}")
    refused(f"{head}.{signature[:-2]}")  # 63 bytes and a bit


# ------------------------------------------------------------------------------------------------ encoding


def test_segments_other_than_three_are_refused() -> None:
    token = _jws.sign(claims(), KID, PRIVATE)
    header, payload, signature = token.split(".")
    assert refused(f"{token}.{signature}").reason == "not three segments"
    assert refused(f"{header}.{payload}").reason == "not three segments"
    assert refused(f"{header}.{header}.{payload}.{payload}.{signature}").reason == "not three segments"  # JWE shape
    refused(f"{header}..{signature}")
    refused(f".{payload}.{signature}")
    refused("")
    refused("...")


def test_padding_and_characters_outside_base64url_are_refused() -> None:
    token = _jws.sign(claims(), KID, PRIVATE)
    header, payload, signature = token.split(".")
    padded = base64.urlsafe_b64encode(json.dumps(claims(), separators=(",", ":")).encode()).decode()
    candidates = [
        f"{header}.{payload}.{signature}==",
        f"{header}=.{payload}.{signature}",
        f"{header}.{payload}=.{signature}",
        f"{header}.{padded}.{signature}" if padded.endswith("=") else f"{header}.{payload}=.{signature}",
        f"{header}.{payload.replace('-', '+').replace('_', '/')}.{signature}" if set(payload) & {"-", "_"} else "x",
        f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}" if set(signature) & {"-", "_"} else "x",
        f" {token}",
        f"{token}\n",
        f"{header}.{payload[:10]} {payload[10:]}.{signature}",
        f"{header}.{payload[:10]}é{payload[10:]}.{signature}",
        f"{header}.{payload}\x00.{signature}",
        token.replace(".", "\uff0e"),
    ]
    for candidate in candidates:
        refused(candidate)


def test_non_canonical_base64url_is_refused() -> None:
    """The unused low bits of the last character must be zero, so no token has two spellings."""
    token = _jws.sign(claims(), KID, PRIVATE)
    head, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(signature[-1]) + 1]  # same bytes, a low bit set
    assert base64.urlsafe_b64decode(signature[:-1] + sibling + "==") == base64.urlsafe_b64decode(signature + "==")
    refused(f"{head}.{signature[:-1]}{sibling}")
    with pytest.raises(InvalidToken):
        _jws.b64decode("QR")  # "A" with a stray bit
    assert _jws.b64decode("QQ") == b"A"
    with pytest.raises(InvalidToken):
        _jws.b64decode("QUJ")  # "AB" with a stray bit
    assert _jws.b64decode("QUI") == b"AB"
    with pytest.raises(InvalidToken):
        _jws.b64decode("QUJDR")  # one character over a multiple of four: no bytes are that long


def test_a_huge_token_is_refused_before_any_work() -> None:
    big = claims(padding="x" * 10_000)
    token = _jws.sign(big, KID, PRIVATE)
    assert len(token) > _jws.MAX_TOKEN_LENGTH
    assert refused(token).reason == "not a token, or too long"
    refused("a" * 1_000_000)
    refused("." * 1_000_000)


def test_not_a_string_is_refused() -> None:
    token = _jws.sign(claims(), KID, PRIVATE)
    for value in (token.encode(), None, 42, [token]):
        with pytest.raises(InvalidToken):
            _jws.verify(value, KEYS)  # type: ignore[arg-type]


def test_headers_and_payloads_that_are_not_json_objects_are_refused() -> None:
    refused(f"{b64(b'not json')}.{b64(claims())}.{b64(bytes(64))}")
    refused(f"{b64(['EdDSA', KID])}.{b64(claims())}.{b64(bytes(64))}")
    refused(f"{b64(b'[' * 5000)}.{b64(claims())}.{b64(bytes(64))}")  # deep nesting: refused, not a crash
    not_utf8 = b64(bytes([0xFF, 0xFE]))
    refused(f"{not_utf8}.{b64(claims())}.{b64(bytes(64))}")
    header = {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
    assert refused(ours(header, b"[1, 2]")).reason == "payload is not a JSON object"
    assert refused(ours(header, b"not json")).reason == "payload is not JSON"
    assert refused(ours(header, b'{"exp": NaN}')).reason == "payload is not JSON"


# ------------------------------------------------------------------------------------------------ claims


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid"])
def test_each_required_claim_missing_is_refused(name: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        check(claims(**{name: ...}))
    assert type(caught.value) is InvalidToken
    assert name in caught.value.reason


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("iss", 1), ("sub", ""), ("sub", None), ("jti", 5), ("sid", ["x"]), ("aud", 1), ("aud", []),
        ("aud", ["hokusai", 1]), ("aud", {"hokusai": True}), ("exp", float(NOW + 900)), ("exp", str(NOW + 900)),
        ("exp", True), ("iat", None), ("nbf", 1.5), ("wallet_address", 5), ("wallet_address", ["0x"]),
    ],
)  # fmt: skip
def test_ill_typed_claims_are_refused(name: str, value: Any) -> None:
    with pytest.raises(InvalidToken) as caught:
        check(claims(**{name: value}))
    assert type(caught.value) is InvalidToken


def test_wrong_issuer_or_audience_is_refused() -> None:
    for changes in ({"iss": "https://auth.example.com/"}, {"iss": "https://evil.example"}, {"aud": "mlflow"},
                    {"aud": ["mlflow", "other"]}, {"aud": "Hokusai"}):  # fmt: skip
        with pytest.raises(InvalidToken) as caught:
            check(claims(**changes))
        assert type(caught.value) is InvalidToken
    check(claims(aud=["other", "hokusai"]))
    check(claims(wallet_address=None))
    check(claims(wallet_address=...))  # a user signed in by email has no wallet
    with pytest.raises(InvalidToken):
        check(claims(), audience="another-service")


def test_an_expired_token_is_expired_at_exp_exactly() -> None:
    check(claims(), now=NOW + 899.999)
    for now in (NOW + 900, NOW + 10**6):
        with pytest.raises(ExpiredToken) as caught:
            check(claims(), now=now)
        assert caught.value.code == "token_expired"
        assert isinstance(caught.value, InvalidToken)  # a refusal like the others for callers that do not care


def test_nbf_or_iat_in_the_future_is_invalid_beyond_the_leeway() -> None:
    leeway = _jws.DEFAULT_LEEWAY_S
    check(claims(nbf=NOW + 10, iat=NOW + 10), now=NOW)  # another machine's clock slightly ahead
    for changes in ({"nbf": NOW + int(leeway) + 1}, {"iat": NOW + int(leeway) + 1}, {"nbf": NOW + 3600}):
        with pytest.raises(InvalidToken) as caught:
            check(claims(**changes), now=NOW)
        assert type(caught.value) is InvalidToken
        assert caught.value.code == "invalid_token"
    with pytest.raises(InvalidToken):
        _jws.check_claims(claims(nbf=NOW + 1), issuer=ISSUER, now=NOW, leeway_s=0)


def test_a_signature_check_comes_before_any_claim_is_read() -> None:
    """An expired token with a bad signature is invalid, not expired: nothing unsigned is believed."""
    header, _, signature = _jws.sign(claims(), KID, PRIVATE).split(".")
    with pytest.raises(InvalidToken) as caught:
        _jws.verify(f"{header}.{b64(claims(exp=NOW - 1))}.{signature}", KEYS)
    assert type(caught.value) is InvalidToken


# ------------------------------------------------------------------------------------------------ remembered tokens


def test_verified_tokens_are_remembered_only_while_their_key_is_given() -> None:
    cache = _jws.VerifiedTokens(max_entries=2)
    token = _jws.sign(claims(), KID, PRIVATE)
    first = cache.verify(token, KEYS)
    first["sub"] = "changed by a caller"
    assert cache.verify(token, KEYS) == claims()  # a fresh copy each time
    assert len(cache) == 1
    with pytest.raises(UnknownKey):
        cache.verify(token, {})  # the key was dropped: so is the token
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(InvalidToken):
        cache.verify(token, {KID: other})  # same kid, another key: verified afresh, and refused


def test_refused_tokens_are_never_remembered_and_the_memory_is_bounded() -> None:
    cache = _jws.VerifiedTokens(max_entries=3)
    header, _, signature = _jws.sign(claims(), KID, PRIVATE).split(".")
    for index in range(10):
        with pytest.raises(InvalidToken):
            cache.verify(f"{header}.{b64(claims(jti=str(index)))}.{signature}", KEYS)
    assert len(cache) == 0
    tokens = [_jws.sign(claims(jti=str(index)), KID, PRIVATE) for index in range(10)]
    for token in tokens:
        cache.verify(token, KEYS)
    assert len(cache) == 3
    assert cache.verify(tokens[0], KEYS)["jti"] == "0"  # evicted, verified again


def test_verify_and_check_are_fast_for_a_remembered_token() -> None:
    """Not a benchmark (bench/tokens_offline.py is): a guard against the memory silently not working."""
    cache = _jws.VerifiedTokens()
    token = _jws.sign(claims(exp=int(time.time()) + 900, iat=int(time.time()), nbf=int(time.time())), KID, PRIVATE)
    cache.verify(token, KEYS)
    started = time.perf_counter()
    for _ in range(1000):
        _jws.check_claims(cache.verify(token, KEYS), issuer=ISSUER, now=time.time())
    assert (time.perf_counter() - started) / 1000 < 0.001


def test_the_verified_token_cache_keeps_the_tokens_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Least recently used leaves first: a token presented again and again is verified once, however many other
    tokens pass through."""
    private = Ed25519PrivateKey.generate()
    keys = {"k": private.public_key()}
    cache = _jws.VerifiedTokens(max_entries=3)
    hot = _jws.sign({"n": 0}, "k", private)
    verified: list[str] = []
    real = _jws._verify

    def counting(token: str, known: Any) -> Any:
        verified.append(token)
        return real(token, known)

    monkeypatch.setattr(_jws, "_verify", counting)
    cache.verify(hot, keys)
    for n in range(1, 10):
        cache.verify(_jws.sign({"n": n}, "k", private), keys)
        cache.verify(hot, keys)
    assert verified.count(hot) == 1
    assert len(cache) == 3
