"""The JWKS cache: key import rules, refetch on unknown kid, rate limit and age."""

from typing import Any

import httpx
import pytest

from scimbridge.sso.oidc import ErrorCode, IdTokenValidator, JwksCache, OidcError
from scimbridge.sso.oidc.jose import (
    ALLOWED_ALGORITHMS,
    UnusableKey,
    import_verification_key,
)
from tests.sso.oidc.conftest import NONCE, SETTINGS, FakeClock, make_metadata
from tests.sso.oidc.provider import TestProvider, public_jwk, raw_sign, sign_jws

pytestmark = pytest.mark.anyio

METADATA = make_metadata()


async def expect_error(
    validator: IdTokenValidator, token: str, code: ErrorCode
) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await validator.validate(token, nonce=NONCE)
    assert caught.value.code == code
    return caught.value


def rotated_token(provider: TestProvider, kid: str = "rsa-2") -> str:
    """An ID token signed with the provider's next key, not yet in the served JWKS."""
    claims = provider.id_token_claims(NONCE)
    return sign_jws({"alg": "RS256", "kid": kid}, claims, provider.keys.rsa_next)


async def test_keys_cached_after_first_fetch(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Many validations with known kids fetch the JWKS once: no I/O on the hot path."""
    token = provider.make_id_token(NONCE)

    for _ in range(50):
        await validator.validate(token, nonce=NONCE)

    assert provider.jwks_route.call_count == 1


async def test_unknown_kid_triggers_one_refetch(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """After a key rotation, an unknown kid refetches the JWKS and verifies."""
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    clock.advance(SETTINGS.jwks_refetch_interval)
    provider.jwks.append(public_jwk(provider.keys.rsa_next, "rsa-2", "RS256"))

    claims = await validator.validate(rotated_token(provider), nonce=NONCE)

    assert claims["sub"] == provider.id_token_claims(NONCE)["sub"]
    assert provider.jwks_route.call_count == 2


async def test_unknown_kid_refetch_rate_limited(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A second unknown kid within the interval fails without another fetch."""
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    assert provider.jwks_route.call_count == 1
    error = await expect_error(
        validator, rotated_token(provider, "random-0"), ErrorCode.UNKNOWN_KID
    )
    assert provider.jwks_route.call_count == 1
    assert "at most every 60 s" in error.detail
    clock.advance(SETTINGS.jwks_refetch_interval)

    await expect_error(
        validator, rotated_token(provider, "random-1"), ErrorCode.UNKNOWN_KID
    )
    assert provider.jwks_route.call_count == 2
    error = await expect_error(
        validator, rotated_token(provider, "random-2"), ErrorCode.UNKNOWN_KID
    )
    assert provider.jwks_route.call_count == 2
    assert "at most every 60 s" in error.detail

    clock.advance(SETTINGS.jwks_refetch_interval + 1)
    await expect_error(
        validator, rotated_token(provider, "random-3"), ErrorCode.UNKNOWN_KID
    )
    assert provider.jwks_route.call_count == 3


async def test_rotation_within_interval_waits(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A real rotation inside the rate limit window verifies once the window ends."""
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    await expect_error(
        validator, rotated_token(provider, "rsa-x"), ErrorCode.UNKNOWN_KID
    )
    provider.jwks.append(public_jwk(provider.keys.rsa_next, "rsa-2", "RS256"))

    await expect_error(validator, rotated_token(provider), ErrorCode.UNKNOWN_KID)
    clock.advance(SETTINGS.jwks_refetch_interval)
    claims = await validator.validate(rotated_token(provider), nonce=NONCE)

    assert claims["iss"] == METADATA.issuer


async def test_keys_refreshed_after_max_age(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A key the provider removed stops verifying once the cache is max_age old."""
    token = provider.make_id_token(NONCE)
    await validator.validate(token, nonce=NONCE)
    provider.jwks = [key for key in provider.jwks if key["kid"] != "rsa-1"]

    clock.advance(SETTINGS.jwks_max_age - 1)
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    assert provider.jwks_route.call_count == 1

    clock.advance(2)
    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.UNKNOWN_KID)
    assert provider.jwks_route.call_count == 2


async def test_stale_keys_used_while_provider_down(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A failed refresh keeps old keys for one more max_age, then fails closed."""
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    provider.jwks_route.mock(side_effect=httpx.ConnectError("down"))

    clock.advance(SETTINGS.jwks_max_age + 10)
    await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)
    assert provider.jwks_route.call_count == 2

    clock.advance(SETTINGS.jwks_max_age)
    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)


async def test_first_fetch_failure(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Without any cached keys, a failed fetch fails the validation, rate limited."""
    provider.jwks_route.mock(return_value=httpx.Response(500, json={}))

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)
    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)
    assert provider.jwks_route.call_count == 1


async def test_rate_limit_is_per_issuer(
    provider: TestProvider, jwks: JwksCache, clock: FakeClock
) -> None:
    """An unknown kid at one issuer does not use up another issuer's refetch."""
    other_issuer = "http://127.0.0.1:9400/other"
    provider.router.get(f"{other_issuer}/jwks").mock(
        side_effect=lambda request: httpx.Response(200, json={"keys": provider.jwks})
    )
    first = make_metadata()
    second = make_metadata(issuer=other_issuer, jwks_uri=f"{other_issuer}/jwks")

    for metadata in (first, second):
        with pytest.raises(OidcError) as caught:
            await jwks.signing_key(metadata, "unknown", "RS256")
        assert caught.value.code == ErrorCode.UNKNOWN_KID
        assert "fetched just now" in caught.value.detail


async def test_enc_keys_ignored(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A key published with use=enc never verifies a signature."""
    for key in provider.jwks:
        if key["kid"] == "rsa-1":
            key["use"] = "enc"

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.UNKNOWN_KID)


async def test_key_with_disallowed_alg_ignored(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A key declared for HS256 is not imported, so its kid is unknown."""
    for key in provider.jwks:
        if key["kid"] == "rsa-1":
            key["alg"] = "HS256"

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.UNKNOWN_KID)


async def test_unparseable_keys_ignored(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Unknown key types and broken keys are skipped; the good key still verifies."""
    provider.jwks[:0] = [
        {"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq-1", "pub": "AAAA"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac-1"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        "not an object",
    ]

    claims = await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)

    assert claims["nonce"] == NONCE


async def test_jwks_without_usable_keys(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A JWKS whose keys are all unusable is an error, not an empty key set."""
    provider.jwks = [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac-1"}]

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)


async def test_jwks_oversized(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A JWKS larger than max_response_bytes is rejected."""
    provider.jwks_route.mock(
        return_value=httpx.Response(
            200, json={"keys": provider.jwks, "pad": "x" * SETTINGS.max_response_bytes}
        )
    )

    error = await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID
    )
    assert "more than" in error.detail


async def test_jwks_redirect_not_followed(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A redirect from jwks_uri is an error, and its target is never fetched."""
    target = provider.router.get("http://127.0.0.1:9400/other-keys").mock(
        side_effect=lambda request: httpx.Response(200, json={"keys": provider.jwks})
    )
    provider.jwks_route.mock(
        return_value=httpx.Response(
            301, headers={"Location": "http://127.0.0.1:9400/other-keys"}
        )
    )

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)
    assert target.call_count == 0


async def test_jwks_with_too_many_keys(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A JWKS with more than 100 entries is rejected before any key import."""
    provider.jwks = provider.jwks + [{"kty": "AKP"}] * 100

    await expect_error(validator, provider.make_id_token(NONCE), ErrorCode.JWKS_INVALID)


async def test_kid_absent_single_key(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token without kid verifies when exactly one key fits its alg."""
    provider.header_changes = {"kid": None}
    token = sign_jws(
        {"alg": "RS256"}, provider.id_token_claims(NONCE), provider.keys.rsa
    )

    claims = await validator.validate(token, nonce=NONCE)

    assert claims["nonce"] == NONCE


async def test_kid_absent_several_keys(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token without kid is rejected when several keys fit its alg."""
    provider.jwks.append(public_jwk(provider.keys.rsa_next, "rsa-2", "RS256"))
    token = sign_jws(
        {"alg": "RS256"}, provider.id_token_claims(NONCE), provider.keys.rsa
    )

    await expect_error(validator, token, ErrorCode.KID_AMBIGUOUS)


async def test_duplicate_kid_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Two RS256 keys with one kid do not let a token pick either of them."""
    provider.jwks.append(public_jwk(provider.keys.rsa_next, "rsa-1", "RS256"))

    await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.KID_AMBIGUOUS
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"use": "enc"}, "use"),
        ({"key_ops": ["encrypt"]}, "key_ops does not include 'verify'"),
        ({"key_ops": "verify"}, "key_ops does not include 'verify'"),
        ({"alg": "HS256"}, "not allowed"),
        ({"alg": "none"}, "not allowed"),
        ({"d": "AAAA"}, "private"),
        ({"kid": 7}, "kid is not a string"),
    ],
)
def test_import_rejects_key(
    provider: TestProvider, changes: dict[str, Any], reason: str
) -> None:
    """import_verification_key names why a key cannot be used."""
    jwk = public_jwk(provider.keys.rsa, "rsa-1", "RS256") | changes

    with pytest.raises(UnusableKey, match=reason):
        import_verification_key(jwk, ALLOWED_ALGORITHMS)


def test_import_rejects_short_rsa_key() -> None:
    """An RSA key under 2048 bits is not imported."""
    small_modulus = "w" * 171  # 1024 bits of base64url
    jwk = {"kty": "RSA", "n": small_modulus, "e": "AQAB", "kid": "small"}

    with pytest.raises(UnusableKey, match="2048"):
        import_verification_key(jwk, ALLOWED_ALGORITHMS)


def test_import_key_algorithms(provider: TestProvider) -> None:
    """A key without alg can verify every allowed algorithm of its type and curve."""
    rsa_key = public_jwk(provider.keys.rsa, "rsa-1", None)
    ec_key = public_jwk(provider.keys.ec, "ec-1", None)
    ed_key = public_jwk(provider.keys.ed, "ed-1", None)

    assert import_verification_key(rsa_key, ALLOWED_ALGORITHMS).algorithms == {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
    }
    assert import_verification_key(ec_key, ALLOWED_ALGORITHMS).algorithms == {"ES256"}
    assert import_verification_key(ed_key, ALLOWED_ALGORITHMS).algorithms == {"EdDSA"}


def test_key_verifies_only_its_algorithms(provider: TestProvider) -> None:
    """A key declared for RS256 does not verify a PS256 signature, even a valid one."""
    key = import_verification_key(
        public_jwk(provider.keys.rsa, "rsa-1", "RS256"), ALLOWED_ALGORITHMS
    )
    data = b"header.payload"

    assert key.verify("RS256", data, raw_sign("RS256", provider.keys.rsa, data))
    assert not key.verify("PS256", data, raw_sign("PS256", provider.keys.rsa, data))
