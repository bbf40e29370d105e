"""Browser sign-in through an organization's connection, from start to session.

Every one-time value (AuthnRequest id, OIDC state, nonce and PKCE verifier)
is stored once in the session store. It is bound to the organization, the
connection and the browser (by the hash of a random login cookie), and it is
taken atomically when the IdP sends the browser back.
"""

import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx

from scimbridge.config import Settings
from scimbridge.directory.access import Connection, ConnectionKind
from scimbridge.directory.clock import utc_now
from scimbridge.directory.signin import (
    LoginRejected,
    ResolvedLogin,
    SignIn,
    UpstreamLogin,
)
from scimbridge.sessions.store import (
    MAX_KEY_LENGTH,
    Session,
    SessionStore,
    new_session_id,
)
from scimbridge.sso.connections import oidc_connection, saml_connection
from scimbridge.sso.oidc.errors import OidcError
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.flow import OidcRelyingParty
from scimbridge.sso.oidc.id_token import OidcLogin
from scimbridge.sso.oidc.jwks import JwksCache
from scimbridge.sso.oidc.pending import PendingLogin
from scimbridge.sso.oidc.settings import OidcSettings
from scimbridge.sso.saml.authn_request import build_authn_request, redirect_url
from scimbridge.sso.saml.config import MAX_CLOCK_SKEW
from scimbridge.sso.saml.errors import ErrorCode as SamlErrorCode
from scimbridge.sso.saml.errors import SamlError
from scimbridge.sso.saml.logout_request import IdpLogoutRequest
from scimbridge.sso.saml.response import (
    MAX_ASSERTION_LIFETIME,
    SamlLogin,
    validate_response,
)

logger = logging.getLogger(__name__)

LOGIN_TTL_SECONDS = 600
BROWSER_KEY_LENGTH = 43
"""Length of ``secrets.token_urlsafe(32)``, the value of the login cookie."""
"""Time a user has to come back from the IdP."""
SAML_REQUEST_NAMESPACE = "saml-request"
OIDC_LOGIN_NAMESPACE = "oidc-login"
ASSERTION_NAMESPACE = "saml-assertion"
LOGOUT_REQUEST_NAMESPACE = "saml-logout-request"
CLAIM_ROLES_KEY = "claim_roles"
"""Session upstream key of the roles that the login's attributes or claims granted."""
MAX_ROLE_REFRESH_ATTEMPTS = 5
"""Times a session's roles are rewritten while group changes keep changing them."""
MAX_ASSERTION_MEMORY_SECONDS = (
    int((MAX_ASSERTION_LIFETIME + MAX_CLOCK_SKEW).total_seconds()) + 1
)
"""Maximum time an assertion ID is remembered: the maximum validity plus the skew.

A shorter cap would forget the ID of an assertion that still validates.
"""

EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
GIVEN_NAME_ATTRIBUTES = (
    "givenname",
    "firstname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
)
FAMILY_NAME_ATTRIBUTES = (
    "sn",
    "surname",
    "lastname",
    "familyname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
)
GROUP_ATTRIBUTES = (
    "groups",
    "memberof",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
)


class LoginFailed(Exception):
    """A sign-in that cannot finish; ``code`` is logged, the browser gets a page."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class LoginRedirect:
    """The redirect that starts a login, and the cookie value that binds it."""

    location: str
    browser_key: str


@dataclass(frozen=True, slots=True)
class UpstreamOptions:
    """Options an app requested for the sign-in, passed on to the org's IdP.

    ``force`` requests a new authentication at the IdP (SAML ``ForceAuthn``,
    OIDC ``prompt=login``), for an app's ``prompt=login`` or ``max_age``.
    """

    force: bool = False
    max_age: int | None = None
    login_hint: str | None = None


SessionListener = Callable[[Session], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A finished login: the new session and where the browser goes next."""

    session: Session
    return_to: str


def browser_hash(browser_key: str | None) -> str:
    return hashlib.sha256((browser_key or "").encode()).hexdigest()


def safe_return_to(value: str | None) -> str:
    """Keep a post-login target only if it is a path on this site."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(character) < 0x20 for character in value):
        return "/"
    return value


class _CapturingReplayGuard:
    """Collect the assertion id during validation; the store records it after."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, datetime]] = []

    def remember(self, key: str, expires_at: datetime) -> bool:
        self.seen.append((key, expires_at))
        return True


class LoginService:
    """Start and finish browser logins, and keep their sessions."""

    def __init__(
        self,
        settings: Settings,
        signin: SignIn,
        sessions: SessionStore,
        http_client: httpx.AsyncClient,
    ) -> None:
        self._settings = settings
        self._signin = signin
        self._sessions = sessions
        oidc_settings = OidcSettings(allow_loopback_http=settings.allow_loopback_idp)
        self._http = ProviderHttp(client=http_client, settings=oidc_settings)
        self._jwks = JwksCache(self._http)
        self._parties: dict[UUID, tuple[datetime, OidcRelyingParty]] = {}
        self._session_listeners: list[SessionListener] = []

    def on_session_end(self, listener: SessionListener) -> None:
        """Call ``listener`` with each session a logout ends."""
        self._session_listeners.append(listener)

    @property
    def provider_http(self) -> ProviderHttp:
        return self._http

    # Starting

    async def start(
        self,
        connection: Connection,
        base_url: str,
        return_to: str | None,
        options: UpstreamOptions | None = None,
        browser_key: str | None = None,
    ) -> LoginRedirect:
        """Start a login; ``browser_key`` is the browser's current login cookie.

        Reusing that cookie binds every login started in one browser to it,
        so a login in a second tab does not orphan the first one.
        """
        _require_enabled(connection)
        if browser_key is None or len(browser_key) != BROWSER_KEY_LENGTH:
            browser_key = secrets.token_urlsafe(32)
        record = {
            "org_id": str(connection.org_id),
            "connection_id": str(connection.id),
            "return_to": safe_return_to(return_to),
            "browser": browser_hash(browser_key),
        }
        options = options or UpstreamOptions()
        if connection.kind is ConnectionKind.saml:
            location = await self._start_saml(connection, base_url, record, options)
        else:
            location = await self._start_oidc(connection, base_url, record, options)
        logger.info(
            "login started org_id=%s connection_id=%s kind=%s",
            connection.org_id,
            connection.id,
            connection.kind.value,
        )
        return LoginRedirect(location=location, browser_key=browser_key)

    async def _start_saml(
        self,
        connection: Connection,
        base_url: str,
        record: dict[str, str],
        options: UpstreamOptions,
    ) -> str:
        saml = saml_connection(connection, base_url)
        request = build_authn_request(
            idp=saml.idp, sp=saml.sp, now=utc_now(), force_authn=options.force
        )
        relay_key = secrets.token_urlsafe(32)
        stored = {**record, "request_id": request.id}
        await self._sessions.put_once(
            SAML_REQUEST_NAMESPACE, relay_key, json.dumps(stored), LOGIN_TTL_SECONDS
        )
        return redirect_url(
            request, relay_state=relay_key, signing_key_pem=saml.signing_key_pem
        )

    async def _start_oidc(
        self,
        connection: Connection,
        base_url: str,
        record: dict[str, str],
        options: UpstreamOptions,
    ) -> str:
        party = await self._relying_party(connection, base_url)
        try:
            authorization = party.start_login(
                prompt="login" if options.force else None,
                max_age=options.max_age,
                login_hint=options.login_hint,
            )
        except ValueError as exc:
            raise LoginFailed("login.invalid_options", str(exc)) from exc
        stored = {**record, "pending": authorization.pending.to_json()}
        await self._sessions.put_once(
            OIDC_LOGIN_NAMESPACE,
            authorization.pending.state,
            json.dumps(stored),
            LOGIN_TTL_SECONDS,
        )
        return authorization.url

    async def end_session_url(
        self, connection: Connection, base_url: str
    ) -> str | None:
        """Return the OIDC provider's logout URL for this connection, if it has one.

        The browser comes back to ``/sso/logged-out``, which the IdP admin
        registers as the post-logout redirect URI.
        """
        try:
            party = await self._relying_party(connection, base_url)
        except LoginFailed:
            return None
        endpoint = party.metadata.end_session_endpoint
        if endpoint is None:
            return None
        query = urlencode(
            {
                "client_id": party.connection.client_id,
                "post_logout_redirect_uri": f"{base_url}/sso/logged-out",
            }
        )
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{query}"

    async def _relying_party(
        self, connection: Connection, base_url: str
    ) -> OidcRelyingParty:
        """Return the connection's relying party, rediscovered after an hour."""
        cached = self._parties.get(connection.id)
        now = utc_now()
        if cached is not None and now - cached[0] < timedelta(hours=1):
            if cached[1].connection == oidc_connection(connection, base_url):
                return cached[1]
        try:
            party = await OidcRelyingParty.discover(
                oidc_connection(connection, base_url), self._http, self._jwks
            )
        except OidcError as exc:
            raise LoginFailed(exc.code, exc.detail) from exc
        self._parties[connection.id] = (now, party)
        return party

    # Finishing

    async def finish_saml(
        self,
        connection: Connection,
        base_url: str,
        saml_response: str,
        relay_state: str | None,
        browser_key: str | None,
    ) -> LoginResult:
        # A login started before the connection was disabled, or one the IdP
        # starts, must not finish through it.
        _require_enabled(connection)
        saml = saml_connection(connection, base_url)
        expected_request_id = None
        return_to = "/"
        if relay_state:
            stored = await self._take(SAML_REQUEST_NAMESPACE, relay_state)
            if stored is not None:
                self._check_binding(stored, connection, browser_key)
                expected_request_id = stored["request_id"]
                return_to = stored["return_to"]
        if expected_request_id is None and not saml.allow_idp_initiated:
            raise LoginFailed(
                str(SamlErrorCode.UNSOLICITED),
                "no login was started in this browser for this response, and the "
                "connection does not accept IdP-initiated logins",
            )

        guard = _CapturingReplayGuard()
        try:
            login = validate_response(
                saml_response,
                idp=saml.idp,
                sp=saml.sp,
                now=utc_now(),
                expected_request_id=expected_request_id,
                allow_idp_initiated=saml.allow_idp_initiated,
                replay=guard,
            )
        except SamlError as exc:
            raise LoginFailed(str(exc.code), exc.detail) from exc
        await self._remember_assertions(connection, guard)

        upstream = _saml_upstream(connection, login)
        lifetime_cap = login.session_not_on_or_after
        extra = {"name_id": login.name_id[:1024]}
        if login.session_index:
            extra["session_index"] = login.session_index[:1024]
        return await self._open_session(
            upstream, return_to, lifetime_cap, login.authn_instant, ("saml",), extra
        )

    async def finish_oidc(
        self,
        connection: Connection,
        base_url: str,
        params: dict[str, str],
        browser_key: str | None,
    ) -> LoginResult:
        _require_enabled(connection)
        state = params.get("state")
        stored = await self._take(OIDC_LOGIN_NAMESPACE, state) if state else None
        pending = None
        return_to = "/"
        if stored is not None:
            self._check_binding(stored, connection, browser_key)
            pending = PendingLogin.from_json(stored["pending"])
            return_to = stored["return_to"]
        party = await self._relying_party(connection, base_url)
        try:
            login = await party.finish_login(params, pending)
        except OidcError as exc:
            raise LoginFailed(str(exc.code), exc.detail) from exc

        upstream = _oidc_upstream(connection, login)
        auth_time = login.auth_time or utc_now()
        amr = login.amr or ("oidc",)
        extra: dict[str, str] = {}
        return await self._open_session(
            upstream, return_to, None, auth_time, amr, extra
        )

    async def _take(self, namespace: str, key: str) -> dict[str, Any] | None:
        if len(key) > 256:
            return None
        data = await self._sessions.take(namespace, key)
        if data is None:
            return None
        loaded: dict[str, Any] = json.loads(data)
        return loaded

    def _check_binding(
        self, stored: dict[str, Any], connection: Connection, browser_key: str | None
    ) -> None:
        if stored["org_id"] != str(connection.org_id) or stored["connection_id"] != str(
            connection.id
        ):
            raise LoginFailed(
                "login.wrong_connection",
                "the response arrived at another connection than the login started",
            )
        if not secrets.compare_digest(stored["browser"], browser_hash(browser_key)):
            raise LoginFailed(
                "login.browser_mismatch",
                "the response arrived in another browser than the one that started "
                "the login",
            )

    async def _remember_assertions(
        self, connection: Connection, guard: _CapturingReplayGuard
    ) -> None:
        now = utc_now()
        for key, expires_at in guard.seen:
            ttl = max(int((expires_at - now).total_seconds()) + 1, 1)
            ttl = min(ttl, MAX_ASSERTION_MEMORY_SECONDS)
            first = await self._sessions.remember(
                ASSERTION_NAMESPACE, replay_key(connection.id, key), ttl
            )
            if not first:
                raise LoginFailed(
                    str(SamlErrorCode.REPLAYED),
                    "this assertion was already used to sign in",
                )

    async def _open_session(
        self,
        upstream: UpstreamLogin,
        return_to: str,
        lifetime_cap: datetime | None,
        auth_time: datetime,
        amr: tuple[str, ...],
        extra: dict[str, str],
    ) -> LoginResult:
        try:
            resolved = await self._signin.resolve_member(upstream)
        except LoginRejected as exc:
            raise LoginFailed(exc.code, exc.detail) from exc

        connection = upstream.connection
        policy = await self._signin.policy(connection.org_id)
        now = utc_now()
        expires_at = now + timedelta(seconds=policy.session_lifetime_seconds)
        if lifetime_cap is not None:
            expires_at = min(expires_at, lifetime_cap)
        if expires_at <= now:
            raise LoginFailed(
                "login.session_expired", "the IdP session ends before it could start"
            )

        # Roles that the login's claims granted cannot be computed again
        # later, so the session keeps them for the refresh after a group change.
        if resolved.claim_roles:
            extra = {**extra, CLAIM_ROLES_KEY: json.dumps(list(resolved.claim_roles))}
        session = Session(
            id=new_session_id(),
            org_id=connection.org_id,
            member_id=resolved.member.id,
            connection_id=connection.id,
            created_at=now,
            expires_at=expires_at,
            roles=resolved.roles,
            auth_time=auth_time,
            amr=amr,
            upstream=extra,
        )
        await self._sessions.create(session)
        await self._confirm_still_active(session)
        await self._confirm_roles_current(session, resolved)

        logger.info(
            "session created org_id=%s member_id=%s connection_id=%s",
            session.org_id,
            session.member_id,
            connection.id,
        )
        return LoginResult(session=session, return_to=return_to)

    async def _confirm_still_active(self, session: Session) -> None:
        """Close the race with a SCIM deactivation that ran during the login."""
        member = await self._signin.member(session.org_id, session.member_id)
        if member is None or not member.active:
            await self._sessions.delete(session.id)
            raise LoginFailed(
                "login.member_inactive", "the member was deactivated during sign-in"
            )

    async def _confirm_roles_current(
        self, session: Session, resolved: ResolvedLogin
    ) -> None:
        """Close the race with a group change that committed during the login.

        Such a change refreshed the member's sessions before this one existed,
        so the roles are read again now that it does.
        """
        directory_roles = tuple(sorted(set(resolved.roles) - set(resolved.claim_roles)))
        current = await self._signin.roles_of(session.org_id, session.member_id)
        if current != directory_roles:
            await self._sessions.set_roles(
                session.id, _with_claim_roles(current, session)
            )

    # Sessions

    async def current(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        return await self._sessions.get(session_id)

    async def logout(self, session_id: str | None) -> Session | None:
        """End a session; return it so the caller can log out upstream too."""
        session = await self.current(session_id)
        if session is not None:
            await self._sessions.delete(session.id)
            logger.info(
                "session ended org_id=%s member_id=%s",
                session.org_id,
                session.member_id,
            )
            for listener in self._session_listeners:
                await listener(session)
        return session

    async def end_idp_session(
        self,
        connection: Connection,
        request: IdpLogoutRequest,
        session_id: str | None,
    ) -> bool:
        """End the browser's session if the IdP's LogoutRequest names it.

        The session must come from this connection, for the NameID the request
        names, and for one of its SessionIndex values when it lists any.
        Returns whether a session ended.

        :raises LoginFailed: ``saml.replayed`` when the request was used before,
            so a captured logout URL cannot end the user's next session.
        """
        ttl = max(int((request.expires_at - utc_now()).total_seconds()) + 1, 1)
        first = await self._sessions.remember(
            LOGOUT_REQUEST_NAMESPACE, replay_key(connection.id, request.id), ttl
        )
        if not first:
            raise LoginFailed(
                str(SamlErrorCode.REPLAYED), "this LogoutRequest was already used"
            )

        session = await self.current(session_id)
        if session is None or (session.org_id, session.connection_id) != (
            connection.org_id,
            connection.id,
        ):
            return False
        # The session keeps the first 1024 characters of each value.
        if session.upstream.get("name_id") != request.name_id[:1024]:
            return False
        indexes = {index[:1024] for index in request.session_indexes}
        if indexes and session.upstream.get("session_index") not in indexes:
            return False
        await self.logout(session.id)
        return True

    async def refresh_roles(self, org_id: UUID, member_ids: tuple[UUID, ...]) -> None:
        """Recompute the roles of the members' open sessions after a group change.

        NOTE: a full replacement of a large group checks every affected
        member's sessions one by one.
        """
        for member_id in member_ids:
            await self._refresh_member_roles(org_id, member_id)

    async def _refresh_member_roles(self, org_id: UUID, member_id: UUID) -> None:
        """Write the member's roles to its sessions, and check they are still current.

        Concurrent group changes refresh the same sessions, and one that read
        the roles before a newer change may write after it. Reading the roles
        again after each write catches that, because the newer change
        committed before its own read. If they keep changing, the member's
        sessions end rather than keep roles that may be revoked.
        """
        for _ in range(MAX_ROLE_REFRESH_ATTEMPTS):
            sessions = await self._sessions.list_member(org_id, member_id)
            if not sessions:
                return
            roles = await self._signin.roles_of(org_id, member_id)
            for session in sessions:
                session_roles = _with_claim_roles(roles, session)
                if session.roles != session_roles:
                    await self._sessions.set_roles(session.id, session_roles)
            if await self._signin.roles_of(org_id, member_id) == roles:
                return
        count = await self._sessions.revoke_member(org_id, member_id)
        logger.warning(
            "sessions revoked because roles kept changing org_id=%s member_id=%s "
            "count=%d",
            org_id,
            member_id,
            count,
        )


def _with_claim_roles(roles: tuple[str, ...], session: Session) -> tuple[str, ...]:
    """Add to ``roles`` those that the session's login claims granted."""
    stored = session.upstream.get(CLAIM_ROLES_KEY)
    if not stored:
        return roles
    try:
        claim_roles = json.loads(stored)
    except ValueError:
        logger.warning(
            "ignored malformed claim roles org_id=%s member_id=%s",
            session.org_id,
            session.member_id,
        )
        return roles
    if not isinstance(claim_roles, list):
        return roles
    names = {name for name in claim_roles if isinstance(name, str)}
    return tuple(sorted(set(roles) | names))


def _require_enabled(connection: Connection) -> None:
    if not connection.enabled:
        raise LoginFailed("login.connection_disabled", "the connection is disabled")


def replay_key(connection_id: UUID, key: str) -> str:
    """Return the session store key that records one message of a connection.

    A key longer than the store allows is replaced by its SHA-256 digest, so two
    messages never share a key, as they would if it were cut short.
    """
    full = f"{connection_id}:{key}"
    if len(full) <= MAX_KEY_LENGTH:
        return full
    return f"{connection_id}:sha256:{hashlib.sha256(full.encode()).hexdigest()}"


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    lowered = {key.lower(): values for key, values in attributes.items()}
    for name in names:
        values = lowered.get(name.lower())
        if values:
            return values[0]
    return None


def _saml_upstream(connection: Connection, login: SamlLogin) -> UpstreamLogin:
    attributes = login.attributes
    email = _first(attributes, EMAIL_ATTRIBUTES)
    if email is None and "@" in login.name_id:
        email = login.name_id
    lowered = {key.lower(): values for key, values in attributes.items()}
    groups: list[str] = []
    for name in GROUP_ATTRIBUTES:
        groups.extend(lowered.get(name.lower(), []))
    return UpstreamLogin(
        connection=connection,
        issuer=login.issuer,
        subject=login.name_id,
        email=email,
        email_verified=email is not None,
        user_name=login.name_id,
        given_name=_first(attributes, GIVEN_NAME_ATTRIBUTES),
        family_name=_first(attributes, FAMILY_NAME_ATTRIBUTES),
        groups=tuple(groups),
        attributes={key: tuple(values) for key, values in attributes.items()},
    )


def _oidc_upstream(connection: Connection, login: OidcLogin) -> UpstreamLogin:
    claims = login.claims
    attributes: dict[str, tuple[str, ...]] = {}
    for key, value in claims.items():
        if isinstance(value, str):
            attributes[key] = (value,)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            attributes[key] = tuple(value)
    if login.groups:
        attributes[connection.settings.get("groups_claim", "groups")] = tuple(
            login.groups
        )
    user_name = claims.get("preferred_username")
    return UpstreamLogin(
        connection=connection,
        issuer=login.issuer,
        subject=login.subject,
        email=login.email,
        email_verified=login.email_verified,
        user_name=user_name if isinstance(user_name, str) else login.email,
        given_name=claims.get("given_name"),
        family_name=claims.get("family_name"),
        groups=tuple(login.groups),
        attributes=attributes,
    )
