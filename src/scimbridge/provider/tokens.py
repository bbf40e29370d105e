"""ID tokens, access tokens and logout tokens, and the checks on tokens presented back.

Access tokens are JWTs in the RFC 9068 profile (``typ`` ``at+jwt``) with the
app's client id as audience. Their ``jti`` starts with the grant id, so a
token presented to introspection or userinfo is checked against its grant
in one lookup, and a revoked grant makes it inactive at once.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oidc.core.util import create_half_hash  # type: ignore[import-untyped]

from scimbridge.directory.clock import utc_now
from scimbridge.provider import jws
from scimbridge.provider.claims import MemberClaims
from scimbridge.provider.grants import Grant
from scimbridge.provider.keys import SigningKeys

ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
ID_TOKEN_LIFETIME = timedelta(hours=1)
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PresentedToken:
    """An access token that verified, with the ``grant_id`` taken from its ``jti``."""

    claims: dict[str, Any]
    grant_id: str
    token_id: str


def grant_of(token_id: str) -> str | None:
    grant_id, dot, _ = token_id.partition(".")
    return grant_id if dot and grant_id else None


class TokenIssuer:
    def __init__(self, keys: SigningKeys) -> None:
        self._keys = keys

    async def access_token(
        self, issuer: str, grant: Grant, claims: MemberClaims
    ) -> AccessToken:
        now = utc_now()
        expires_at = min(now + ACCESS_TOKEN_LIFETIME, grant.expires_at)
        token_id = f"{grant.id}.{secrets.token_urlsafe(12)}"
        payload = {
            "iss": issuer,
            "sub": claims.sub,
            "aud": grant.client_id,
            "client_id": grant.client_id,
            "exp": int(expires_at.timestamp()),
            "iat": int(now.timestamp()),
            "jti": token_id,
            "scope": " ".join(grant.scope),
            "sid": grant.sid,
            "auth_time": int(grant.auth_time.timestamp()),
            "org_id": claims.org_id,
            "org_slug": claims.org_slug,
            "roles": list(claims.roles),
        }
        value = await self._keys.sign(payload, ACCESS_TOKEN_TYPE)
        return AccessToken(value=value, token_id=token_id, expires_at=expires_at)

    async def id_token(
        self,
        issuer: str,
        grant: Grant,
        claims: MemberClaims,
        access_token: str,
        nonce: str | None,
    ) -> str:
        now = utc_now()
        payload = claims.for_scope(grant.scope) | {
            "iss": issuer,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "exp": int((now + ID_TOKEN_LIFETIME).timestamp()),
            "iat": int(now.timestamp()),
            "auth_time": int(grant.auth_time.timestamp()),
            "amr": list(grant.amr),
            "sid": grant.sid,
            "at_hash": create_half_hash(access_token, jws.ALGORITHM).decode("ascii"),
        }
        if nonce:
            payload["nonce"] = nonce
        return await self._keys.sign(payload)

    async def logout_token(
        self, issuer: str, client_id: str, subject: str, sid: str | None
    ) -> str:
        """Build a back-channel logout token (OIDC Back-Channel Logout 1.0, 2.4)."""
        now = utc_now()
        payload: dict[str, Any] = {
            "iss": issuer,
            "aud": client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + LOGOUT_TOKEN_LIFETIME).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "sub": subject,
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        if sid:
            payload["sid"] = sid
        return await self._keys.sign(payload, LOGOUT_TOKEN_TYPE)

    async def verify_access_token(self, issuer: str, token: str) -> PresentedToken:
        """Check signature, type, issuer and lifetime, or raise ``jws.InvalidToken``.

        The audience is the caller's to check: introspection compares it with
        the authenticated client.
        """
        header = jws.read_header(token)
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise jws.InvalidToken("not an access token")
        claims = await self._keys.verify(token, header)
        if claims.get("iss") != issuer:
            raise jws.InvalidToken("issued by another issuer")
        exp = claims.get("exp")
        if type(exp) is not int or exp <= utc_now().timestamp():
            raise jws.InvalidToken("expired")
        token_id = claims.get("jti")
        grant_id = grant_of(token_id) if isinstance(token_id, str) else None
        if grant_id is None or not isinstance(token_id, str):
            raise jws.InvalidToken("no grant reference")
        return PresentedToken(claims=claims, grant_id=grant_id, token_id=token_id)
