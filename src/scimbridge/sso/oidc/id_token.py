"""ID token validation (OpenID Connect Core 1.0 section 3.1.3.7) and the login result.

Trust comes only from the connection: the configured issuer, the JWKS at the
discovery-pinned ``jwks_uri`` and the algorithm allowlist. Nothing in the
token selects trust: the ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are
never read, ``alg`` must be on the allowlist, and the ``kid`` only picks among
keys already fetched from the provider.
"""

import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.sso.oidc.discovery import ProviderMetadata
from scimbridge.sso.oidc.errors import ErrorCode, OidcError, quote_value
from scimbridge.sso.oidc.jose import (
    MalformedJws,
    half_hash,
    json_decode,
    parse_compact,
)
from scimbridge.sso.oidc.jwks import JwksCache

MAX_SUBJECT_LENGTH = 255
"""OpenID Connect Core 1.0 section 2: ``sub`` is at most 255 ASCII characters."""

_JWT_TYPES = frozenset({"jwt", "application/jwt"})

# Claims that describe the ID token itself; UserInfo values never replace them.
ID_TOKEN_CLAIMS = frozenset(
    {
        "iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "acr",
        "amr", "azp", "at_hash", "c_hash", "sid", "jti",
    }
)  # fmt: skip


def _fail(code: ErrorCode, detail: str) -> OidcError:
    return OidcError(code, detail)


@dataclass(frozen=True, slots=True)
class IdTokenValidator:
    """Validates the ID tokens of one connection."""

    metadata: ProviderMetadata
    client_id: str
    jwks: JwksCache
    trusted_audiences: frozenset[str] = frozenset()
    clock_skew: float = 120
    clock: Clock = utc_now

    async def validate(
        self,
        id_token: str,
        *,
        nonce: str,
        max_age: int | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """Verify the signature and claims of ``id_token`` and return its claims.

        :param nonce: the nonce stored with the pending login.
        :param max_age: the ``max_age`` sent in the authorization request, if any.
        :param access_token: the access token issued with the ID token. It is
            checked against ``at_hash`` when the ID token has one.
        :raises OidcError: with the code of the first rule the token breaks.
        """
        if not nonce:
            # Fail closed: a lost nonce must not turn the nonce check off.
            raise _fail(ErrorCode.NONCE_MISMATCH, "no nonce is stored for this login")

        try:
            jws = parse_compact(id_token)
        except MalformedJws as error:
            raise _fail(
                ErrorCode.ID_TOKEN_MALFORMED, f"the ID token is invalid: {error}"
            ) from None
        alg, kid = self._check_header(jws.header)

        now = self.clock().timestamp()
        key = self.jwks.cached_key(self.metadata, kid, alg, now=now)
        if key is None:
            key = await self.jwks.signing_key(self.metadata, kid, alg)
            now = self.clock().timestamp()
        if not key.verify(alg, jws.signing_input, jws.signature):
            raise _fail(
                ErrorCode.SIGNATURE_INVALID,
                f"the ID token signature does not verify with key "
                f"{quote_value(key.kid)} of issuer {self.metadata.issuer}",
            )

        claims = _parse_claims(jws.payload)
        self._check_issuer(claims)
        self._check_audience(claims)
        _check_times(claims, now, self.clock_skew)
        _check_nonce(claims, nonce)
        _check_auth_time(claims, max_age, now, self.clock_skew)
        _check_subject(claims)
        if access_token is not None:
            _check_at_hash(claims, access_token, alg, key.crv)
        return claims

    def _check_header(self, header: Mapping[str, Any]) -> tuple[str, str | None]:
        alg: str = header["alg"]
        allowed = self.metadata.id_token_algorithms
        if alg not in allowed:
            raise _fail(
                ErrorCode.ALG_NOT_ALLOWED,
                f"the ID token is signed with {quote_value(alg, 20)}; the connection "
                f"accepts {sorted(allowed)}",
            )
        # RFC 7515 section 4.1.11: a recipient must reject a JWS whose "crit"
        # names an extension it does not understand, and we understand none.
        if "crit" in header:
            raise _fail(
                ErrorCode.CRIT_UNSUPPORTED,
                f"the ID token header marks {quote_value(header['crit'])} as critical; "
                "no JWS extension is supported",
            )
        typ = header.get("typ")
        if typ is not None and (
            not isinstance(typ, str) or typ.lower() not in _JWT_TYPES
        ):
            raise _fail(
                ErrorCode.ID_TOKEN_MALFORMED,
                f"the ID token header has typ {quote_value(typ, 40)}, not JWT",
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _fail(
                ErrorCode.ID_TOKEN_MALFORMED, "the ID token header kid is not a string"
            )
        return alg, kid

    def _check_issuer(self, claims: Mapping[str, Any]) -> None:
        issuer = claims.get("iss")
        if issuer != self.metadata.issuer:
            raise _fail(
                ErrorCode.ISS_MISMATCH,
                f"the ID token iss {quote_value(issuer)} is not the connection's "
                f"issuer {self.metadata.issuer!r}",
            )

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        audience = claims.get("aud")
        if audience == self.client_id and "azp" not in claims:
            return
        if isinstance(audience, str):
            audiences = {audience}
        elif (
            isinstance(audience, list)
            and audience
            and all(isinstance(item, str) for item in audience)
        ):
            audiences = set(audience)
        elif audience is None:
            raise _fail(ErrorCode.CLAIM_MISSING, "the ID token has no aud claim")
        else:
            raise _fail(
                ErrorCode.CLAIM_INVALID,
                "the ID token aud is not a string or a list of strings",
            )

        if self.client_id not in audiences:
            raise _fail(
                ErrorCode.AUDIENCE_MISMATCH,
                f"the ID token aud {quote_value(audience)} does not include the "
                f"client_id {self.client_id!r}",
            )
        untrusted = audiences - {self.client_id} - self.trusted_audiences
        if untrusted:
            raise _fail(
                ErrorCode.AUDIENCE_MISMATCH,
                f"the ID token aud also lists {quote_value(sorted(untrusted))}, which "
                "the connection does not trust",
            )

        azp = claims.get("azp")
        if azp is None and len(audiences) > 1:
            raise _fail(
                ErrorCode.AZP_MISMATCH,
                "the ID token lists several audiences but has no azp claim",
            )
        if azp is not None and azp != self.client_id:
            raise _fail(
                ErrorCode.AZP_MISMATCH,
                f"the ID token azp {quote_value(azp)} is not the client_id "
                f"{self.client_id!r}",
            )


def _parse_claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json_decode(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _fail(
            ErrorCode.ID_TOKEN_MALFORMED, "the ID token payload is not JSON"
        ) from None
    if not isinstance(claims, dict):
        raise _fail(
            ErrorCode.ID_TOKEN_MALFORMED, "the ID token payload is not a JSON object"
        )
    return claims


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # JSON numbers only. json.loads also yields booleans (whose type is bool,
    # not int), NaN and Infinity.
    value_type = type(value)
    if value_type is int:
        return float(value)
    if value_type is float and math.isfinite(value):
        return float(value)
    raise _fail(ErrorCode.CLAIM_INVALID, f"the ID token {name} is not a number")


def _required_date(claims: Mapping[str, Any], name: str) -> float:
    value = _numeric_date(claims, name)
    if value is None:
        raise _fail(ErrorCode.CLAIM_MISSING, f"the ID token has no {name} claim")
    return value


def _check_times(claims: Mapping[str, Any], now: float, skew: float) -> None:
    expires_at = claims.get("exp")
    issued_at = claims.get("iat")
    # Most tokens have integer exp and iat and no nbf, so one comparison checks both.
    if (
        type(expires_at) is int
        and type(issued_at) is int
        and "nbf" not in claims
        and issued_at - skew <= now < expires_at + skew
    ):
        return
    expires_at = _required_date(claims, "exp")
    if now >= expires_at + skew:
        raise _fail(
            ErrorCode.EXPIRED,
            f"the ID token expired {now - expires_at:.0f} s ago (allowed clock skew "
            f"{skew:g} s); check the clocks of scimbridge and the provider",
        )
    issued_at = _required_date(claims, "iat")
    if issued_at > now + skew:
        raise _fail(
            ErrorCode.IAT_IN_FUTURE,
            f"the ID token iat is {issued_at - now:.0f} s in the future (allowed "
            f"clock skew {skew:g} s); check the clocks of scimbridge and the provider",
        )
    not_before = _numeric_date(claims, "nbf")
    if not_before is not None and not_before > now + skew:
        raise _fail(
            ErrorCode.NOT_YET_VALID,
            f"the ID token is not valid for another {not_before - now:.0f} s (nbf)",
        )


def _check_nonce(claims: Mapping[str, Any], expected: str) -> None:
    nonce = claims.get("nonce")
    if nonce is None:
        raise _fail(ErrorCode.CLAIM_MISSING, "the ID token has no nonce claim")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        nonce.encode(), expected.encode()
    ):
        raise _fail(
            ErrorCode.NONCE_MISMATCH,
            "the ID token nonce is not the one sent for this login; the token "
            "was issued for another login or replayed",
        )


def _check_auth_time(
    claims: Mapping[str, Any], max_age: int | None, now: float, skew: float
) -> None:
    auth_time = _numeric_date(claims, "auth_time")
    if auth_time is not None and not 0 <= auth_time <= now + skew:
        raise _fail(
            ErrorCode.CLAIM_INVALID,
            "the ID token auth_time is negative or in the future",
        )
    if max_age is None:
        return
    # OpenID Connect Core 1.0 section 3.1.2.1: with max_age, auth_time is required.
    if auth_time is None:
        raise _fail(
            ErrorCode.CLAIM_MISSING,
            "the login requested max_age, and the ID token has no auth_time claim",
        )
    if now - skew > auth_time + max_age:
        raise _fail(
            ErrorCode.MAX_AGE_EXCEEDED,
            f"the user authenticated {now - auth_time:.0f} s ago, longer than the "
            f"requested max_age of {max_age} s",
        )


def _check_subject(claims: Mapping[str, Any]) -> None:
    subject = claims.get("sub")
    if subject is None:
        raise _fail(ErrorCode.CLAIM_MISSING, "the ID token has no sub claim")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        raise _fail(
            ErrorCode.CLAIM_INVALID,
            f"the ID token sub is not a string of 1 to {MAX_SUBJECT_LENGTH} characters",
        )


def _check_at_hash(
    claims: Mapping[str, Any], access_token: str, alg: str, crv: str | None
) -> None:
    at_hash = claims.get("at_hash")
    if at_hash is None:
        return
    expected = half_hash(access_token, alg, crv)
    if not isinstance(at_hash, str) or not hmac.compare_digest(
        at_hash.encode(), expected.encode()
    ):
        raise _fail(
            ErrorCode.AT_HASH_MISMATCH,
            "the ID token at_hash does not match the access token issued with it",
        )


@dataclass(frozen=True, slots=True)
class OidcLogin:
    """A validated login: the user the provider asserts, and how they signed in.

    The identity is (``issuer``, ``subject``). ``email`` is an attribute, not
    an identifier. Use it for account linking only when ``email_verified`` is
    True and its domain is verified for the organization.
    """

    issuer: str
    subject: str
    claims: dict[str, Any]
    """ID token claims, plus UserInfo claims that do not describe the token."""
    email: str | None
    email_verified: bool
    groups: list[str]
    auth_time: datetime | None
    amr: tuple[str, ...]


def build_login(
    issuer: str,
    id_token_claims: Mapping[str, Any],
    userinfo: Mapping[str, Any] | None,
    groups_claim: str,
) -> OidcLogin:
    """Combine validated ID token claims and optional UserInfo claims into a login."""
    claims = dict(id_token_claims)
    if userinfo is not None:
        claims.update(
            (name, value)
            for name, value in userinfo.items()
            if name not in ID_TOKEN_CLAIMS
        )

    email = claims.get("email")
    groups = claims.get(groups_claim)
    amr = claims.get("amr")
    auth_time = claims.get("auth_time")
    return OidcLogin(
        issuer=issuer,
        subject=claims["sub"],
        claims=claims,
        email=email if isinstance(email, str) else None,
        # OpenID Connect Core 1.0 section 5.1: email_verified is a JSON boolean.
        email_verified=claims.get("email_verified") is True,
        groups=[group for group in groups if isinstance(group, str)]
        if isinstance(groups, list)
        else [],
        auth_time=datetime.fromtimestamp(auth_time, UTC)
        if isinstance(auth_time, int | float) and not isinstance(auth_time, bool)
        else None,
        amr=tuple(item for item in amr if isinstance(item, str))
        if isinstance(amr, list)
        else (),
    )
