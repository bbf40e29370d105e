"""The OpenID Provider's use cases: codes, tokens, introspection, logout.

Routes parse HTTP and call these methods; every protocol decision is made
here. One-time values live in the session store: an authorization code is
taken atomically, so of two concurrent redemptions at most one receives
tokens, and the second revokes them (RFC 6749 section 4.1.2). When both run
at once, usually neither receives any.
"""

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from scimbridge.config import Settings
from scimbridge.directory.clock import utc_now
from scimbridge.directory.errors import NotFound
from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.directory.orgs import Organizations
from scimbridge.directory.signin import SignIn
from scimbridge.provider import jws
from scimbridge.provider.authorize import AuthorizationRequest, redirect_with
from scimbridge.provider.backchannel import BackChannelLogout
from scimbridge.provider.claims import MemberClaims, member_claims
from scimbridge.provider.clients import AppClient
from scimbridge.provider.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedGrantTypeError,
)
from scimbridge.provider.grants import (
    REFRESH_TOKEN_PREFIX,
    Grant,
    GrantStore,
    RotationOutcome,
    new_grant_id,
    new_refresh_token,
    token_hash,
)
from scimbridge.provider.keys import SigningKeys
from scimbridge.provider.registry import AppClients
from scimbridge.provider.tokens import TokenIssuer
from scimbridge.sessions.store import Session, SessionStore

logger = logging.getLogger(__name__)

SWEEP_OVERLAP = timedelta(seconds=10)
"""How far back each suspension sweep looks before the previous one, for clock steps."""
CODE_NAMESPACE = "op-code"
SPENT_CODE_NAMESPACE = "op-code-spent"
CLOSED_CODE_NAMESPACE = "op-code-closed"
CODE_LIFETIME_SECONDS = 60
SPENT_CODE_MEMORY_SECONDS = 600
CODE_VERIFIER = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


def session_sid(session_id: str) -> str:
    """Return the ``sid`` claim for a session: public, and not the cookie value."""
    digest = hashlib.sha256(b"sid:" + session_id.encode()).digest()
    return jws.b64url(digest[:18])


def is_code_verifier(value: str) -> bool:
    """RFC 7636 section 4.1: 43 to 128 unreserved characters."""
    return 43 <= len(value) <= 128 and set(value) <= CODE_VERIFIER


@dataclass(frozen=True, slots=True)
class Member:
    org: Organization
    claims: MemberClaims


class OpenIdProvider:
    def __init__(
        self,
        settings: Settings,
        orgs: Organizations,
        signin: SignIn,
        sessions: SessionStore,
        grants: GrantStore,
        keys: SigningKeys,
        clients: AppClients,
        tokens: TokenIssuer,
        backchannel: BackChannelLogout,
    ) -> None:
        self._settings = settings
        self._orgs = orgs
        self._signin = signin
        self._sessions = sessions
        self.grants = grants
        self.keys = keys
        self.clients = clients
        self.tokens = tokens
        self.backchannel = backchannel

    @property
    def issuer(self) -> str:
        """The issuer identifier: the same string in discovery, tokens and ``iss``."""
        return self._settings.provider_issuer

    # Authorization

    async def session_fits(
        self, request: AuthorizationRequest, client: AppClient, session: Session | None
    ) -> bool:
        """Return whether the browser's session satisfies ``request`` as it is."""
        if session is None or "login" in request.prompt:
            return False
        if not client.allows_org(session.org_id):
            return False
        if not await self.org_is_active(session.org_id):
            return False
        if request.organization and not await self.is_org(
            request.organization, session.org_id
        ):
            return False
        if request.max_age is not None:
            age = (utc_now() - session.auth_time).total_seconds()
            if age > request.max_age:
                return False
        return True

    async def org_is_active(self, org_id: UUID) -> bool:
        try:
            org = await self._orgs.get_by_id(org_id)
        except NotFound:
            return False
        return org.status is OrgStatus.active

    async def is_org(self, slug_or_id: str, org_id: UUID) -> bool:
        """Return whether ``slug_or_id`` names the organization ``org_id``."""
        try:
            org = await self._orgs.get(slug_or_id)
        except NotFound:
            return False
        return org.id == org_id

    async def issue_code(self, request: AuthorizationRequest, session: Session) -> str:
        """Store a one-time code for ``session`` and return the redirect carrying it."""
        code = secrets.token_urlsafe(32)
        record = {
            "request": request.to_json(),
            "session_id": session.id,
            "org_id": str(session.org_id),
            "member_id": str(session.member_id),
        }
        await self._sessions.put_once(
            CODE_NAMESPACE, token_hash(code), json.dumps(record), CODE_LIFETIME_SECONDS
        )
        params = {"code": code}
        if request.state is not None:
            params["state"] = request.state
        params["iss"] = self.issuer
        logger.info(
            "authorization code issued client_id=%s org_id=%s member_id=%s",
            request.client_id,
            session.org_id,
            session.member_id,
        )
        return redirect_with(request.redirect_uri, params)

    # Token endpoint

    async def token(self, client: AppClient, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return await self._redeem_code(client, form)
        if grant_type == "refresh_token":
            return await self._refresh(client, form)
        raise UnsupportedGrantTypeError(
            "grant_type must be authorization_code or refresh_token"
        )

    async def _redeem_code(
        self, client: AppClient, form: dict[str, str]
    ) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise InvalidRequestError("code is required")
        if len(code) > 256:
            raise InvalidGrantError("the code is invalid, expired or already used")
        code_hash = token_hash(code)
        raw = await self._sessions.take(CODE_NAMESPACE, code_hash)
        if raw is None:
            await self._close_code(code_hash)
            raise InvalidGrantError("the code is invalid, expired or already used")
        record = json.loads(raw)
        request = AuthorizationRequest.from_json(record["request"])
        # Every check uses the authenticated client, never a client_id field.
        if request.client_id != client.id:
            raise InvalidGrantError("the code was issued to another client")
        if form.get("redirect_uri") != request.redirect_uri:
            raise InvalidGrantError(
                "redirect_uri differs from the authorization request"
            )
        verifier = form.get("code_verifier")
        if verifier is None:
            raise InvalidGrantError("code_verifier is required")
        if not is_code_verifier(verifier) or not hmac.compare_digest(
            create_s256_code_challenge(verifier), request.code_challenge
        ):
            raise InvalidGrantError("code_verifier does not match the code_challenge")

        session = await self._sessions.get(record["session_id"])
        if session is None:
            raise InvalidGrantError("the sign-in session has ended")
        member = await self._member(session, client, request.scope)
        # The spent-code record names the grant before the grant exists, so a
        # second redemption that runs now can still revoke it.
        grant_id = new_grant_id()
        await self._sessions.put_once(
            SPENT_CODE_NAMESPACE, code_hash, grant_id, SPENT_CODE_MEMORY_SECONDS
        )
        now = utc_now()
        grant = Grant(
            id=grant_id,
            org_id=session.org_id,
            member_id=session.member_id,
            client_id=client.id,
            sid=session_sid(session.id),
            session_id=session.id,
            connection_id=session.connection_id,
            scope=request.scope,
            auth_time=session.auth_time,
            amr=session.amr,
            created_at=now,
            expires_at=session.expires_at,
        )
        refresh_token = new_refresh_token()
        await self.grants.create(grant, token_hash(refresh_token))
        # Whichever of this redemption and a concurrent second one closes the
        # code first, the grant ends up revoked if both happened.
        if not await self._sessions.remember(
            CLOSED_CODE_NAMESPACE, code_hash, SPENT_CODE_MEMORY_SECONDS
        ):
            await self.grants.revoke(grant.id)
            raise InvalidGrantError("the code was redeemed twice")
        # A revocation that ran between the checks above and create() missed
        # this grant; look again now that it exists.
        if await self._sessions.get(session.id) is None:
            await self.grants.revoke(grant.id)
            raise InvalidGrantError("the sign-in session has ended")
        logger.info(
            "tokens issued grant_type=authorization_code client_id=%s org_id=%s "
            "member_id=%s grant=%s",
            client.id,
            grant.org_id,
            grant.member_id,
            grant.id,
        )
        return await self._token_response(grant, member, refresh_token, request.nonce)

    async def _close_code(self, code_hash: str) -> None:
        """Revoke what an earlier redemption of this code received.

        The code is closed before the grant is looked up: a redemption still
        in progress then finds it closed after creating its grant and revokes
        the grant itself.
        """
        await self._sessions.remember(
            CLOSED_CODE_NAMESPACE, code_hash, SPENT_CODE_MEMORY_SECONDS
        )
        spent = await self._sessions.take(SPENT_CODE_NAMESPACE, code_hash)
        if spent is None:
            return
        grant = await self.grants.revoke(spent.decode())
        if grant is not None:
            logger.warning(
                "authorization code reused: grant revoked client_id=%s org_id=%s "
                "member_id=%s grant=%s",
                grant.client_id,
                grant.org_id,
                grant.member_id,
                grant.id,
            )
            await self.backchannel.enqueue([grant])

    async def _refresh(self, client: AppClient, form: dict[str, str]) -> dict[str, Any]:
        presented = form.get("refresh_token")
        if not presented:
            raise InvalidRequestError("refresh_token is required")
        if len(presented) > 256:
            raise InvalidGrantError("the refresh token is invalid, expired or revoked")
        requested = tuple(dict.fromkeys(form.get("scope", "").split()))
        if requested:
            # RFC 6749 section 6: a refresh may narrow the scope, never widen it.
            # Checked before the rotation, so a refused request keeps the token.
            found = await self.grants.find_refresh(token_hash(presented))
            granted = set() if found is None else set(found[0].scope)
            if not set(requested) <= granted or "openid" not in requested:
                raise InvalidScopeError("the scope exceeds what was granted")
        refresh_token = new_refresh_token()
        rotation = await self.grants.rotate(
            token_hash(presented), token_hash(refresh_token), client.id
        )
        if rotation.outcome is RotationOutcome.reused and rotation.grant is not None:
            grant = rotation.grant
            logger.warning(
                "refresh token reused: grant revoked client_id=%s org_id=%s "
                "member_id=%s grant=%s",
                grant.client_id,
                grant.org_id,
                grant.member_id,
                grant.id,
            )
            await self.backchannel.enqueue([grant])
        if rotation.outcome is not RotationOutcome.rotated or rotation.grant is None:
            raise InvalidGrantError("the refresh token is invalid, expired or revoked")
        grant = rotation.grant
        session = await self._sessions.get(grant.session_id)
        if session is None:
            await self.grants.revoke(grant.id)
            raise InvalidGrantError("the sign-in session has ended")
        member = await self._member(session, client, requested or grant.scope)
        if requested and set(requested) <= set(grant.scope):
            grant = replace(grant, scope=requested)
        return await self._token_response(grant, member, refresh_token, None)

    async def _member(
        self, session: Session, client: AppClient, scope: tuple[str, ...]
    ) -> Member:
        """Load the member's claims, or fail if the member or org may not sign in."""
        if not client.allows_org(session.org_id):
            raise InvalidGrantError("this client is not enabled for the organization")
        try:
            org = await self._orgs.get_by_id(session.org_id)
        except NotFound as exc:
            raise InvalidGrantError("the organization no longer exists") from exc
        if org.status is not OrgStatus.active:
            raise InvalidGrantError("the organization is suspended")
        record = await self._signin.member(session.org_id, session.member_id)
        if record is None or not record.active:
            raise InvalidGrantError("the member is deactivated or deleted")
        claims = member_claims(org, record, session.roles, session.connection_id)
        if claims.email is not None and "email" in scope:
            # Any organization may provision any address, so only a domain this
            # organization verified makes the email verified for apps.
            owner = await self._signin.org_for_email(claims.email)
            claims = replace(claims, email_verified=owner == org.id)
        return Member(org=org, claims=claims)

    async def _token_response(
        self, grant: Grant, member: Member, refresh_token: str, nonce: str | None
    ) -> dict[str, Any]:
        issuer = self.issuer
        access = await self.tokens.access_token(issuer, grant, member.claims)
        id_token = await self.tokens.id_token(
            issuer, grant, member.claims, access.value, nonce
        )
        expires_in = max(int((access.expires_at - utc_now()).total_seconds()), 1)
        return {
            "access_token": access.value,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
            "id_token": id_token,
            "scope": " ".join(grant.scope),
        }

    # Introspection, revocation, userinfo

    async def introspect(self, client: AppClient, token: str) -> dict[str, Any]:
        """Describe a token issued to ``client`` (RFC 7662). Others are inactive."""
        inactive: dict[str, Any] = {"active": False}
        if token.startswith(REFRESH_TOKEN_PREFIX):
            found = await self.grants.find_refresh(token_hash(token))
            if found is None or not found[1] or found[0].client_id != client.id:
                return inactive
            grant = found[0]
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": grant.client_id,
                "sub": str(grant.member_id),
                "scope": " ".join(grant.scope),
                "exp": int(grant.expires_at.timestamp()),
                "iss": self.issuer,
                "org_id": str(grant.org_id),
            }
        try:
            presented = await self.tokens.verify_access_token(self.issuer, token)
        except jws.InvalidToken:
            return inactive
        claims = presented.claims
        if claims.get("aud") != client.id:
            return inactive
        if not await self.grants.is_active(presented.grant_id, presented.token_id):
            return inactive
        return {"active": True, "token_type": "Bearer"} | {
            key: claims[key]
            for key in (
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "iss",
                "aud",
                "jti",
                "sid",
                "org_id",
                "org_slug",
                "roles",
            )
            if key in claims
        }

    async def revoke(self, client: AppClient, token: str) -> None:
        """Revoke a token of ``client`` (RFC 7009). Unknown tokens change nothing."""
        if token.startswith(REFRESH_TOKEN_PREFIX):
            found = await self.grants.find_refresh(token_hash(token))
            if found is not None and found[0].client_id == client.id:
                await self.grants.revoke(found[0].id)
                logger.info(
                    "grant revoked by its client client_id=%s grant=%s",
                    client.id,
                    found[0].id,
                )
            return
        try:
            presented = await self.tokens.verify_access_token(self.issuer, token)
        except jws.InvalidToken:
            return
        if presented.claims.get("aud") != client.id:
            return
        remaining = int(presented.claims["exp"] - utc_now().timestamp()) + 1
        await self.grants.revoke_access_token(presented.token_id, remaining)

    async def userinfo(self, token: str) -> dict[str, Any] | None:
        """Return the claims for a valid access token, or None (OIDC Core 5.3)."""
        try:
            presented = await self.tokens.verify_access_token(self.issuer, token)
        except jws.InvalidToken:
            return None
        if not await self.grants.is_active(presented.grant_id, presented.token_id):
            return None
        grant = await self.grants.get(presented.grant_id)
        if grant is None or presented.claims.get("aud") != grant.client_id:
            return None
        client = await self.clients.get(grant.client_id)
        session = await self._sessions.get(grant.session_id)
        if client is None or not client.enabled or session is None:
            return None
        try:
            member = await self._member(session, client, grant.scope)
        except InvalidGrantError:
            return None
        return member.claims.for_scope(grant.scope)

    # Logout

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> int:
        """Revoke every grant of a member, tell their apps, and return the count."""
        grants = await self.grants.revoke_member(org_id, member_id)
        if grants:
            await self.backchannel.enqueue(grants)
        return len(grants)

    async def revoke_org(self, org: Organization) -> int:
        """Revoke every grant of a suspended organization and tell the apps."""
        if org.status is OrgStatus.active:
            return 0
        grants = await self.grants.revoke_org(org.id)
        if grants:
            await self.backchannel.enqueue(grants)
            logger.info("app grants revoked org_id=%s count=%d", org.id, len(grants))
        return len(grants)

    async def sweep_suspensions(self, since: datetime) -> int:
        """Revoke the grants of organizations suspended since ``since``.

        A suspension made by another process, such as the CLI, reaches this
        process's grants this way when they are not shared through Redis.
        """
        revoked = 0
        for org in await self._orgs.list_inactive_since(since):
            revoked += await self.revoke_org(org)
        return revoked

    async def run_background(self) -> None:
        """Send back-channel logouts and apply suspensions until cancelled."""
        since = utc_now()
        while True:
            checked_at = utc_now()
            try:
                await self.sweep_suspensions(since - SWEEP_OVERLAP)
                since = checked_at
            except Exception:
                logger.exception("suspension sweep failed; retrying")
            await self.backchannel.run_once()

    async def session_ended(self, session: Session) -> int:
        """Revoke the grants of one browser session and tell their apps."""
        grants = await self.grants.revoke_session(session_sid(session.id))
        if grants:
            await self.backchannel.enqueue(grants)
        return len(grants)

    async def id_token_hint(self, token: str) -> dict[str, Any] | None:
        """Verify an ``id_token_hint`` issued here, accepting an expired one."""
        try:
            claims = await self.keys.verify(token)
        except jws.InvalidToken:
            return None
        if claims.get("iss") != self.issuer or "at_hash" not in claims:
            return None
        return claims
