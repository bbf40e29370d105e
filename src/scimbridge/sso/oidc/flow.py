"""The authorization code flow with PKCE for one connection, from redirect to login.

::

    rp = OidcRelyingParty(connection, metadata, http, jwks)
    request = rp.start_login()            # redirect the browser to request.url
    await save_pending_login(store, request.pending, ttl_seconds)
    ...                                   # the provider redirects back
    params = parse_callback_query(query_string)
    pending = await take_pending_login(store, params.get("state"))
    login = await rp.finish_login(params, pending)

``take_pending_login`` removes the record, so a replayed callback gets None
and ``finish_login`` rejects it with ``oidc.state_mismatch``.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl

import httpx

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.sso.oidc.discovery import ProviderMetadata, discover
from scimbridge.sso.oidc.errors import ErrorCode, OidcError, quote_value
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.id_token import IdTokenValidator, OidcLogin, build_login
from scimbridge.sso.oidc.jose import b64url_encode
from scimbridge.sso.oidc.jwks import JwksCache
from scimbridge.sso.oidc.pending import PendingLogin, new_secret
from scimbridge.sso.oidc.settings import OidcConnection
from scimbridge.sso.oidc.token_endpoint import exchange_code
from scimbridge.sso.oidc.userinfo import fetch_userinfo

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
MAX_LOGIN_HINT_LENGTH = 512
MAX_CALLBACK_QUERY_LENGTH = 16 * 1024
FRONT_CHANNEL_TOKENS = ("id_token", "access_token", "token")


class AuthorizationRequest(NamedTuple):
    """The URL to redirect the browser to, and the pending login to store meanwhile."""

    url: str
    pending: PendingLogin


def pkce_challenge(code_verifier: str) -> str:
    """Return the S256 code challenge of ``code_verifier`` (RFC 7636 section 4.2)."""
    return b64url_encode(hashlib.sha256(code_verifier.encode("ascii")).digest())


def build_authorization_request(
    connection: OidcConnection,
    metadata: ProviderMetadata,
    *,
    clock: Clock = utc_now,
    prompt: str | None = None,
    max_age: int | None = None,
    login_hint: str | None = None,
) -> AuthorizationRequest:
    """Build the authorization request URL with a new state, nonce and PKCE verifier.

    ``prompt``, ``max_age`` and ``login_hint`` are passed to the provider as
    given (OpenID Connect Core 1.0 section 3.1.2.1) after a check of their form.
    """
    _check_passthrough(prompt, max_age, login_hint)
    pending = PendingLogin(
        state=new_secret(),
        nonce=new_secret(),
        code_verifier=new_secret() + new_secret(),
        connection_id=connection.connection_id,
        redirect_uri=connection.redirect_uri,
        created_at=clock(),
        max_age=max_age,
    )
    params = {
        "response_type": "code",
        "client_id": connection.client_id,
        "redirect_uri": connection.redirect_uri,
        "scope": " ".join(connection.scopes),
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": pkce_challenge(pending.code_verifier),
        "code_challenge_method": "S256",
    }
    if prompt is not None:
        params["prompt"] = prompt
    if max_age is not None:
        params["max_age"] = str(max_age)
    if login_hint is not None:
        params["login_hint"] = login_hint
    url = httpx.URL(metadata.authorization_endpoint).copy_merge_params(params)
    return AuthorizationRequest(str(url), pending)


def _check_passthrough(
    prompt: str | None, max_age: int | None, login_hint: str | None
) -> None:
    if prompt is not None:
        values = prompt.split(" ")
        if not set(values) <= PROMPT_VALUES or ("none" in values and len(values) > 1):
            raise ValueError(
                f"prompt {prompt[:80]!r} must be 'none' alone or space-separated "
                "values of login, consent and select_account"
            )
    if max_age is not None and (type(max_age) is not int or max_age < 0):
        raise ValueError("max_age must be a whole number of seconds, at least 0")
    if login_hint is not None and (
        not login_hint
        or len(login_hint) > MAX_LOGIN_HINT_LENGTH
        or not login_hint.isprintable()
    ):
        raise ValueError(
            f"login_hint must be 1 to {MAX_LOGIN_HINT_LENGTH} printable characters"
        )


def parse_callback_query(query: str) -> dict[str, str]:
    """Parse a callback query string, rejecting repeated parameters.

    RFC 6749 section 3.1 forbids repeating a parameter, and accepting one
    copy of a repeated ``state`` or ``iss`` would let the two copies be read
    differently by different layers.
    """
    if len(query) > MAX_CALLBACK_QUERY_LENGTH:
        raise OidcError(ErrorCode.CALLBACK_INVALID, "the callback query is too long")
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in params:
            raise OidcError(
                ErrorCode.CALLBACK_INVALID,
                f"the callback repeats the parameter {quote_value(name, 40)}",
            )
        params[name] = value
    return params


def check_callback(
    params: Mapping[str, str],
    pending: PendingLogin,
    connection: OidcConnection,
    metadata: ProviderMetadata,
    *,
    now: float,
    ttl: float,
) -> str:
    """Check the authorization response against the pending login; return the code.

    The state and the RFC 9207 ``iss`` are checked before an ``error`` is
    read, so an error response from another provider or for another login is
    reported as a mismatch and never acted on.
    """
    if (
        pending.connection_id != connection.connection_id
        or pending.redirect_uri != connection.redirect_uri
    ):
        raise OidcError(
            ErrorCode.CONNECTION_MISMATCH,
            f"the pending login belongs to connection {pending.connection_id!r}, "
            f"not {connection.connection_id!r}",
        )
    if now - pending.created_at.timestamp() > ttl:
        raise OidcError(
            ErrorCode.LOGIN_EXPIRED,
            f"the user returned more than {ttl:g} s after the login started",
        )

    state = params.get("state")
    if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise OidcError(
            ErrorCode.STATE_MISMATCH,
            "the callback state is missing or not the one sent for this login",
        )
    _check_iss_parameter(params, metadata)

    if "error" in params:
        detail = f"the provider returned error {quote_value(params['error'], 60)}"
        if "error_description" in params:
            detail += f": {quote_value(params['error_description'], 200)}"
        raise OidcError(ErrorCode.PROVIDER_ERROR, detail)
    for name in FRONT_CHANNEL_TOKENS:
        if name in params:
            raise OidcError(
                ErrorCode.CALLBACK_INVALID,
                f"the callback contains {name}; only the authorization code flow "
                "is supported, so tokens must come from the token endpoint",
            )
    code = params.get("code")
    if not code:
        raise OidcError(ErrorCode.CALLBACK_INVALID, "the callback has no code")
    return code


def _check_iss_parameter(params: Mapping[str, str], metadata: ProviderMetadata) -> None:
    # RFC 9207 section 2.4: an iss that is present must equal the issuer, and
    # a provider that advertises the parameter must always send it. This stops
    # mix-up attacks, where a code from one provider arrives for another.
    issuer = params.get("iss")
    if issuer is None:
        if metadata.iss_parameter_supported:
            raise OidcError(
                ErrorCode.ISS_MISSING,
                f"the callback has no iss parameter, and issuer {metadata.issuer} "
                "advertises authorization_response_iss_parameter_supported",
            )
        return
    if issuer != metadata.issuer:
        raise OidcError(
            ErrorCode.ISS_MISMATCH,
            f"the callback iss {quote_value(issuer)} is not the connection's "
            f"issuer {metadata.issuer!r}",
        )


class OidcRelyingParty:
    """The relying party of one connection, with its pinned provider metadata."""

    def __init__(
        self,
        connection: OidcConnection,
        metadata: ProviderMetadata,
        http: ProviderHttp,
        jwks: JwksCache,
        *,
        clock: Clock = utc_now,
    ) -> None:
        if metadata.issuer != connection.issuer:
            raise ValueError("provider metadata is for another issuer")
        self.connection = connection
        self.metadata = metadata
        self._http = http
        self._clock = clock
        self.id_tokens = IdTokenValidator(
            metadata=metadata,
            client_id=connection.client_id,
            jwks=jwks,
            trusted_audiences=connection.trusted_audiences,
            clock_skew=http.settings.clock_skew,
            clock=clock,
        )

    @classmethod
    async def discover(
        cls,
        connection: OidcConnection,
        http: ProviderHttp,
        jwks: JwksCache,
        *,
        clock: Clock = utc_now,
    ) -> "OidcRelyingParty":
        """Run discovery for ``connection`` and return its relying party."""
        metadata = await discover(http, connection)
        return cls(connection, metadata, http, jwks, clock=clock)

    def start_login(
        self,
        *,
        prompt: str | None = None,
        max_age: int | None = None,
        login_hint: str | None = None,
    ) -> AuthorizationRequest:
        """Return the authorization URL and the pending login to store once."""
        return build_authorization_request(
            self.connection,
            self.metadata,
            clock=self._clock,
            prompt=prompt,
            max_age=max_age,
            login_hint=login_hint,
        )

    async def finish_login(
        self, params: Mapping[str, str], pending: PendingLogin | None
    ) -> OidcLogin:
        """Check the callback, redeem the code and validate the ID token.

        ``pending`` is the record taken (and so removed) from the store for
        the callback's state, or None when there was none.
        """
        if pending is None:
            raise OidcError(
                ErrorCode.STATE_MISMATCH,
                "no pending login matches the callback state: it expired, was "
                "already used, or was started in another browser",
            )
        now = self._clock()
        code = check_callback(
            params,
            pending,
            self.connection,
            self.metadata,
            now=now.timestamp(),
            ttl=self._http.settings.pending_login_ttl,
        )
        tokens = await exchange_code(
            self._http,
            self.connection,
            self.metadata,
            code=code,
            pending=pending,
            now=now,
        )
        claims = await self.id_tokens.validate(
            tokens.id_token,
            nonce=pending.nonce,
            max_age=pending.max_age,
            access_token=tokens.access_token,
        )

        userinfo = None
        if self.connection.fetch_userinfo:
            userinfo = await fetch_userinfo(
                self._http,
                self.metadata,
                access_token=tokens.access_token,
                subject=claims["sub"],
            )
        return build_login(
            self.metadata.issuer, claims, userinfo, self.connection.groups_claim
        )
