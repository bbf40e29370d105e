"""ID token validation: each forged or defective token is rejected with its code."""

import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from scimbridge.sso.oidc import ErrorCode, IdTokenValidator, OidcError
from tests.sso.oidc.conftest import NONCE, FakeClock, make_metadata
from tests.sso.oidc.provider import (
    CLIENT_ID,
    ISSUER,
    TestProvider,
    b64url,
    b64url_decode,
    left_half_hash,
    public_jwk,
    raw_sign,
    sign_jws,
)

pytestmark = pytest.mark.anyio

ACCESS_TOKEN = "at-0123456789abcdefghijklmnopqrstuvwxyz"


async def expect_error(
    validator: IdTokenValidator,
    token: str,
    code: ErrorCode,
    *,
    nonce: str = NONCE,
    **options: Any,
) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await validator.validate(token, nonce=nonce, **options)
    assert caught.value.code == code
    return caught.value


def token_with_claims(provider: TestProvider, **changes: Any) -> str:
    provider.claim_changes.update(changes)
    return provider.make_id_token(NONCE)


async def test_valid_token(provider: TestProvider, validator: IdTokenValidator) -> None:
    """A correctly signed token with the expected claims returns its claims."""
    claims = await validator.validate(provider.make_id_token(NONCE), nonce=NONCE)

    assert claims["iss"] == ISSUER
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == NONCE


# Algorithms and headers.


async def test_alg_none_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An unsecured token (alg none, empty signature) is rejected."""
    token = sign_jws({"alg": "none"}, provider.id_token_claims(NONCE), None)

    await expect_error(validator, token, ErrorCode.ID_TOKEN_MALFORMED)


async def test_alg_none_with_signature_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """alg none with some third segment is rejected by the allowlist."""
    token = sign_jws({"alg": "none"}, provider.id_token_claims(NONCE), None) + "AAAA"

    await expect_error(validator, token, ErrorCode.ALG_NOT_ALLOWED)


@pytest.mark.parametrize("encoding", ["pem", "der", "jwk-n"])
async def test_hs256_with_public_key_rejected(
    provider: TestProvider, validator: IdTokenValidator, encoding: str
) -> None:
    """HS256 keyed with the provider's public key (algorithm confusion) is rejected."""
    public = provider.keys.rsa.public_key()
    secrets = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-n": public_jwk(provider.keys.rsa, None, None)["n"].encode(),
    }
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    token = sign_jws(header, provider.id_token_claims(NONCE), secrets[encoding])

    await expect_error(validator, token, ErrorCode.ALG_NOT_ALLOWED)


async def test_alg_not_allowed_by_connection(
    provider: TestProvider, jwks: Any, clock: FakeClock
) -> None:
    """An ES256 token fails on a connection that accepts only RS256."""
    validator = IdTokenValidator(
        metadata=make_metadata(id_token_algorithms=frozenset({"RS256"})),
        client_id=CLIENT_ID,
        jwks=jwks,
        clock=clock,
    )
    provider.signing = "ec"

    await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.ALG_NOT_ALLOWED
    )


async def test_alg_outside_allowlist(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An RS512 token fails when the provider metadata did not offer RS512."""
    header = {"alg": "RS512", "kid": "rsa-1"}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.rsa)

    await expect_error(validator, token, ErrorCode.ALG_NOT_ALLOWED)


async def test_alg_must_match_key_alg(
    provider: TestProvider, jwks: Any, clock: FakeClock
) -> None:
    """A PS256 token fails against a key the JWKS declares for RS256."""
    validator = IdTokenValidator(
        metadata=make_metadata(id_token_algorithms=frozenset({"RS256", "PS256"})),
        client_id=CLIENT_ID,
        jwks=jwks,
        clock=clock,
    )
    header = {"alg": "PS256", "kid": "rsa-1"}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.rsa)

    await expect_error(validator, token, ErrorCode.ALG_NOT_ALLOWED)


async def test_alg_must_match_key_type(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An ES256 token naming the RSA key's kid is rejected."""
    header = {"alg": "ES256", "kid": "rsa-1"}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.ec)

    await expect_error(validator, token, ErrorCode.ALG_NOT_ALLOWED)


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["urn:example:unknown"], []])
async def test_crit_header_rejected(
    provider: TestProvider, validator: IdTokenValidator, crit: list[str]
) -> None:
    """A token with a crit header is rejected: no JWS extension is understood."""
    provider.header_changes = {"crit": crit, "urn:example:unknown": True}

    await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.CRIT_UNSUPPORTED
    )


async def test_embedded_jwk_not_trusted(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An attacker's token carrying its own key in a jwk header is rejected."""
    attacker_jwk = public_jwk(provider.keys.attacker, "attacker-1", "RS256")
    header = {"alg": "RS256", "kid": "attacker-1", "jwk": attacker_jwk}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.attacker)

    await expect_error(validator, token, ErrorCode.UNKNOWN_KID)


async def test_embedded_jwk_with_provider_kid(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An attacker's jwk header under the provider's kid fails the signature check."""
    attacker_jwk = public_jwk(provider.keys.attacker, "rsa-1", "RS256")
    header = {"alg": "RS256", "kid": "rsa-1", "jwk": attacker_jwk}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.attacker)

    await expect_error(validator, token, ErrorCode.SIGNATURE_INVALID)


@pytest.mark.parametrize("name", ["jku", "x5u"])
async def test_key_url_headers_never_fetched(
    provider: TestProvider, validator: IdTokenValidator, name: str
) -> None:
    """jku and x5u headers are not followed; only the pinned jwks_uri is fetched."""
    attacker_keys = provider.router.get("http://127.0.0.1:9400/attacker-keys")
    header = {
        "alg": "RS256",
        "kid": "attacker-1",
        name: "http://127.0.0.1:9400/attacker-keys",
    }
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.attacker)

    await expect_error(validator, token, ErrorCode.UNKNOWN_KID)
    assert attacker_keys.call_count == 0


async def test_tampered_payload_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Changing the payload after signing breaks the signature."""
    header, _, signature = provider.make_id_token(NONCE).split(".")
    claims = provider.id_token_claims(NONCE) | {"sub": "admin"}
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"

    await expect_error(validator, forged, ErrorCode.SIGNATURE_INVALID)


@pytest.mark.parametrize("signing", ["rsa", "ec", "ed"])
async def test_tampered_signature_rejected(
    provider: TestProvider, validator: IdTokenValidator, signing: str
) -> None:
    """A flipped signature byte fails for RS256, ES256 and EdDSA."""
    provider.signing = signing
    header, payload, signature = provider.make_id_token(NONCE).split(".")
    raw = bytearray(b64url_decode(signature))
    raw[5] ^= 0x01
    forged = f"{header}.{payload}.{b64url(bytes(raw))}"

    await expect_error(validator, forged, ErrorCode.SIGNATURE_INVALID)


async def test_signed_by_other_key_with_provider_kid(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token signed by an attacker's key but naming the provider's kid fails."""
    header = {"alg": "RS256", "kid": "rsa-1"}
    token = sign_jws(header, provider.id_token_claims(NONCE), provider.keys.attacker)

    await expect_error(validator, token, ErrorCode.SIGNATURE_INVALID)


@pytest.mark.parametrize("typ", ["at+jwt", "logout+jwt", 5])
async def test_other_token_types_rejected(
    provider: TestProvider, validator: IdTokenValidator, typ: Any
) -> None:
    """Access tokens and logout tokens (by typ) are not accepted as ID tokens."""
    provider.header_changes = {"typ": typ}

    await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.ID_TOKEN_MALFORMED
    )


async def test_kid_must_be_string(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A numeric kid is rejected rather than looked up."""
    provider.header_changes = {"kid": 1}

    await expect_error(
        validator, provider.make_id_token(NONCE), ErrorCode.ID_TOKEN_MALFORMED
    )


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c.d.e",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln=",
        "eyJhbGciOiJSUzI1NiJ9.e3+0.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2l/",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2lñ",
        "eyJhbGciOiJSUzI1NiJ9.e30.c",
        "W10.e30.c2ln",
        "bm90IGpzb24.e30.c2ln",
        "e30.e30.c2ln",
    ],
)
async def test_malformed_tokens_rejected(
    validator: IdTokenValidator, token: str
) -> None:
    """Strings that are not compact JWS with a JSON header are rejected."""
    await expect_error(validator, token, ErrorCode.ID_TOKEN_MALFORMED)


async def test_oversized_token_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token longer than 32 KiB is rejected before decoding."""
    token = token_with_claims(provider, padding="x" * 40_000)

    error = await expect_error(validator, token, ErrorCode.ID_TOKEN_MALFORMED)
    assert "longer than" in error.detail


@pytest.mark.parametrize(
    "payload", [b"[1]", b'{"sub": "x"} trailing', b'{"sub": "x"}{}', b"\xff"]
)
async def test_invalid_payload_rejected(
    provider: TestProvider, validator: IdTokenValidator, payload: bytes
) -> None:
    """A signed payload that is not exactly one JSON object is rejected."""
    header = {"alg": "RS256", "kid": "rsa-1"}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(payload)
    signature = b64url(raw_sign("RS256", provider.keys.rsa, signing_input.encode()))

    await expect_error(
        validator, f"{signing_input}.{signature}", ErrorCode.ID_TOKEN_MALFORMED
    )


# Issuer and audience.


@pytest.mark.parametrize(
    "issuer", ["https://attacker.example", ISSUER + "/", ISSUER.upper(), None]
)
async def test_wrong_issuer_rejected(
    provider: TestProvider, validator: IdTokenValidator, issuer: str | None
) -> None:
    """iss must equal the configured issuer exactly."""
    token = token_with_claims(provider, iss=issuer if issuer else provider.REMOVE)

    await expect_error(validator, token, ErrorCode.ISS_MISMATCH)


async def test_wrong_audience_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token for another client is rejected."""
    token = token_with_claims(provider, aud="other-client")

    await expect_error(validator, token, ErrorCode.AUDIENCE_MISMATCH)


async def test_missing_audience_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token without aud is rejected."""
    token = token_with_claims(provider, aud=provider.REMOVE)

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING)


@pytest.mark.parametrize("audience", [[], [1], {"client": CLIENT_ID}, 7])
async def test_invalid_audience_rejected(
    provider: TestProvider, validator: IdTokenValidator, audience: Any
) -> None:
    """An aud that is not a string or a non-empty list of strings is rejected."""
    token = token_with_claims(provider, aud=audience)

    await expect_error(validator, token, ErrorCode.CLAIM_INVALID)


async def test_multiple_audiences_without_azp(
    provider: TestProvider, jwks: Any, clock: FakeClock
) -> None:
    """Several trusted audiences and no azp are rejected."""
    validator = IdTokenValidator(
        metadata=make_metadata(),
        client_id=CLIENT_ID,
        jwks=jwks,
        trusted_audiences=frozenset({"api://acme"}),
        clock=clock,
    )
    token = token_with_claims(provider, aud=[CLIENT_ID, "api://acme"])

    await expect_error(validator, token, ErrorCode.AZP_MISMATCH)


async def test_multiple_audiences_with_azp(
    provider: TestProvider, jwks: Any, clock: FakeClock
) -> None:
    """Several trusted audiences with azp equal to our client_id are accepted."""
    validator = IdTokenValidator(
        metadata=make_metadata(),
        client_id=CLIENT_ID,
        jwks=jwks,
        trusted_audiences=frozenset({"api://acme"}),
        clock=clock,
    )
    token = token_with_claims(provider, aud=[CLIENT_ID, "api://acme"], azp=CLIENT_ID)

    claims = await validator.validate(token, nonce=NONCE)

    assert claims["azp"] == CLIENT_ID


async def test_only_trusted_audience_rejected(
    provider: TestProvider, jwks: Any, clock: FakeClock
) -> None:
    """A token for a trusted audience that does not include our client_id fails."""
    validator = IdTokenValidator(
        metadata=make_metadata(),
        client_id=CLIENT_ID,
        jwks=jwks,
        trusted_audiences=frozenset({"api://acme"}),
        clock=clock,
    )
    token = token_with_claims(provider, aud=["api://acme"])

    await expect_error(validator, token, ErrorCode.AUDIENCE_MISMATCH)


async def test_untrusted_extra_audience_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An extra audience the connection does not trust is rejected, even with azp."""
    token = token_with_claims(provider, aud=[CLIENT_ID, "other-app"], azp=CLIENT_ID)

    await expect_error(validator, token, ErrorCode.AUDIENCE_MISMATCH)


async def test_wrong_azp_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An azp naming another client is rejected even with a single audience."""
    token = token_with_claims(provider, azp="other-client")

    await expect_error(validator, token, ErrorCode.AZP_MISMATCH)


# Times.


async def test_expired_token_rejected(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A token whose exp passed more than the clock skew ago is rejected."""
    token = token_with_claims(provider, exp=int(clock.timestamp()) - 121)

    await expect_error(validator, token, ErrorCode.EXPIRED)


async def test_expired_within_skew_accepted(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A token that expired within the clock skew is still accepted."""
    token = token_with_claims(provider, exp=int(clock.timestamp()) - 100)

    await validator.validate(token, nonce=NONCE)


async def test_token_expires_while_cached(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A token accepted now is rejected once the clock passes exp plus skew."""
    token = provider.make_id_token(NONCE)
    await validator.validate(token, nonce=NONCE)

    clock.advance(300 + 120)

    await expect_error(validator, token, ErrorCode.EXPIRED)


@pytest.mark.parametrize("name", ["exp", "iat"])
async def test_missing_time_claim_rejected(
    provider: TestProvider, validator: IdTokenValidator, name: str
) -> None:
    """exp and iat are required."""
    token = token_with_claims(provider, **{name: provider.REMOVE})

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING)


@pytest.mark.parametrize("value", ["1700000000", True, [1700000000]])
async def test_invalid_exp_rejected(
    provider: TestProvider, validator: IdTokenValidator, value: Any
) -> None:
    """exp must be a JSON number; strings, booleans and arrays are not."""
    token = token_with_claims(provider, exp=value)

    await expect_error(validator, token, ErrorCode.CLAIM_INVALID)


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
async def test_non_json_number_rejected(
    provider: TestProvider, validator: IdTokenValidator, value: float
) -> None:
    """Infinity and NaN are not JSON (RFC 8259), so the payload is malformed."""
    token = token_with_claims(provider, exp=value)

    await expect_error(validator, token, ErrorCode.ID_TOKEN_MALFORMED)


async def test_iat_in_future_rejected(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A token issued further in the future than the clock skew is rejected."""
    token = token_with_claims(provider, iat=int(clock.timestamp()) + 600)

    await expect_error(validator, token, ErrorCode.IAT_IN_FUTURE)


async def test_nbf_in_future_rejected(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A token whose nbf is beyond the clock skew is rejected."""
    token = token_with_claims(provider, nbf=int(clock.timestamp()) + 600)

    await expect_error(validator, token, ErrorCode.NOT_YET_VALID)


async def test_clock_skew_setting(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A smaller clock skew rejects a token that the default accepts."""
    token = token_with_claims(provider, iat=int(clock.timestamp()) + 60)
    await validator.validate(token, nonce=NONCE)

    strict = replace(validator, clock_skew=30)

    await expect_error(strict, token, ErrorCode.IAT_IN_FUTURE)


# Nonce.


async def test_wrong_nonce_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token issued for another login's nonce is rejected."""
    token = provider.make_id_token("another-nonce-0123456789abcdefghijklmnopqrs")

    await expect_error(validator, token, ErrorCode.NONCE_MISMATCH)


async def test_missing_nonce_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token without nonce is rejected."""
    token = provider.make_id_token(None)

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING)


async def test_nonce_supported_claim_ignored(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A nonce_supported false claim does not turn the nonce check off."""
    token = token_with_claims(provider, nonce=provider.REMOVE, nonce_supported=False)

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING)


async def test_empty_expected_nonce_fails_closed(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A login that lost its nonce fails, even for a token with an empty nonce."""
    token = token_with_claims(provider, nonce="")

    await expect_error(validator, token, ErrorCode.NONCE_MISMATCH, nonce="")


@pytest.mark.parametrize("nonce", [123, ["x"], "ñonce"])
async def test_non_string_nonce_rejected(
    provider: TestProvider, validator: IdTokenValidator, nonce: Any
) -> None:
    """A nonce of another type or with other characters is a mismatch."""
    token = token_with_claims(provider, nonce=nonce)

    await expect_error(validator, token, ErrorCode.NONCE_MISMATCH)


# auth_time and max_age.


async def test_max_age_requires_auth_time(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """With max_age requested, a token without auth_time is rejected."""
    token = token_with_claims(provider, auth_time=provider.REMOVE)

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING, max_age=300)


async def test_max_age_exceeded(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """An auth_time older than max_age plus skew is rejected."""
    token = token_with_claims(provider, auth_time=int(clock.timestamp()) - 1000)

    await expect_error(validator, token, ErrorCode.MAX_AGE_EXCEEDED, max_age=300)


async def test_max_age_satisfied(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """A recent auth_time passes a max_age check."""
    token = token_with_claims(provider, auth_time=int(clock.timestamp()) - 200)

    await validator.validate(token, nonce=NONCE, max_age=300)


async def test_auth_time_optional_without_max_age(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Without max_age, a token without auth_time is accepted."""
    token = token_with_claims(provider, auth_time=provider.REMOVE)

    await validator.validate(token, nonce=NONCE)


async def test_auth_time_in_future_rejected(
    provider: TestProvider, validator: IdTokenValidator, clock: FakeClock
) -> None:
    """An auth_time beyond the clock skew is rejected."""
    token = token_with_claims(provider, auth_time=int(clock.timestamp()) + 3600)

    await expect_error(validator, token, ErrorCode.CLAIM_INVALID)


# at_hash and sub.


@pytest.mark.parametrize("signing", ["rsa", "ec", "ed"])
async def test_at_hash_matches(
    provider: TestProvider, validator: IdTokenValidator, signing: str
) -> None:
    """A correct at_hash is accepted for RS256, ES256 and EdDSA (SHA-512)."""
    provider.signing = signing
    token = provider.make_id_token(NONCE, ACCESS_TOKEN)

    await validator.validate(token, nonce=NONCE, access_token=ACCESS_TOKEN)


async def test_at_hash_mismatch(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An at_hash of another access token is rejected."""
    token = provider.make_id_token(NONCE, "at-some-other-token")

    await expect_error(
        validator, token, ErrorCode.AT_HASH_MISMATCH, access_token=ACCESS_TOKEN
    )


async def test_at_hash_of_wrong_hash_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """An EdDSA at_hash computed with SHA-256 instead of SHA-512 is rejected."""
    provider.signing = "ed"
    token = token_with_claims(provider, at_hash=left_half_hash(ACCESS_TOKEN, "RS256"))

    await expect_error(
        validator, token, ErrorCode.AT_HASH_MISMATCH, access_token=ACCESS_TOKEN
    )


async def test_at_hash_optional(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """In the code flow at_hash is optional; its absence is accepted."""
    token = provider.make_id_token(NONCE)

    await validator.validate(token, nonce=NONCE, access_token=ACCESS_TOKEN)


async def test_missing_sub_rejected(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """A token without sub is rejected."""
    token = token_with_claims(provider, sub=provider.REMOVE)

    await expect_error(validator, token, ErrorCode.CLAIM_MISSING)


@pytest.mark.parametrize("subject", ["", "x" * 256, 42])
async def test_invalid_sub_rejected(
    provider: TestProvider, validator: IdTokenValidator, subject: Any
) -> None:
    """sub must be a string of 1 to 255 characters."""
    token = token_with_claims(provider, sub=subject)

    await expect_error(validator, token, ErrorCode.CLAIM_INVALID)


async def test_error_details_hold_no_token(
    provider: TestProvider, validator: IdTokenValidator
) -> None:
    """Error details never repeat the token or the nonce."""
    token = provider.make_id_token("another-nonce-0123456789abcdefghijklmnopqrs")

    error = await expect_error(validator, token, ErrorCode.NONCE_MISMATCH)

    assert token not in str(error)
    assert NONCE not in str(error)
    assert "another-nonce" not in str(error)
