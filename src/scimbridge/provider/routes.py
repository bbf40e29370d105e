"""HTTP endpoints of the OpenID Provider: discovery, authorize, token and the rest."""

import base64
import json
import logging
import secrets
import time
from urllib.parse import parse_qsl, unquote_plus, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router

from scimbridge.provider.authorize import (
    MAX_STATE_LENGTH,
    AuthorizationRequest,
    check_redirect,
    error_redirect,
    parse_request,
    redirect_with,
    single_values,
)
from scimbridge.provider.claims import SCOPES
from scimbridge.provider.clients import AppClient
from scimbridge.provider.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidRequestError,
    LoginRequiredError,
    OAuth2Error,
    RedirectUnsafe,
    error_body,
)
from scimbridge.provider.service import OpenIdProvider, session_sid
from scimbridge.services import Services
from scimbridge.sessions.cookies import (
    CookieSettings,
    clear_session_cookie,
    session_id_from_cookie_header,
)
from scimbridge.sessions.store import Session
from scimbridge.sso import pages
from scimbridge.sso.login import BROWSER_KEY_LENGTH, browser_hash

logger = logging.getLogger(__name__)

discovery = APIRouter()
"""``/.well-known/openid-configuration``, at the root of the issuer."""
PREFIX = "/oauth2"

AUTHORIZE_NAMESPACE = "op-authorize"
AUTHORIZE_COOKIE = "scimbridge_authorize"
AUTHORIZE_TTL_SECONDS = 600
AUTH_SKEW = 120
"""Seconds of clock difference allowed between the IdP's and this server's clocks."""
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 32
MAX_FORM_FIELD = 8192
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PUBLIC_DOCUMENT = {
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
}
"""Headers of discovery and the JWKS: public, cacheable and readable from any origin."""


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _provider(request: Request) -> OpenIdProvider:
    return _services(request).provider


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def _unsafe_page(exc: RedirectUnsafe, **ids: object) -> Response:
    reference = secrets.token_hex(6)
    context = " ".join(f"{key}={value}" for key, value in ids.items())
    logger.warning(
        "authorization request rejected code=%s reference=%s %s detail=%s",
        exc.code,
        reference,
        context,
        exc.detail,
    )
    return pages.error_page(reference)


def _origin_of(request: Request) -> str:
    """Return the origin (scheme, host and port) that the request was sent to."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def _browser_session(request: Request) -> Session | None:
    services = _services(request)
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""),
        CookieSettings(secure=services.settings.cookie_secure),
    )
    return await services.logins.current(session_id)


async def _parameters(request: Request) -> list[tuple[str, str]]:
    """Return the request's parameters: the query of a GET, the form of a POST."""
    if request.method != "POST":
        return request.query_params.multi_items()
    return await _form_items(request)


# Discovery


@discovery.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> JSONResponse:
    """OpenID Connect Discovery 1.0: what this provider supports, and where."""
    issuer = _provider(request).issuer
    methods = ["client_secret_basic", "client_secret_post"]
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "end_session_endpoint": f"{issuer}/oauth2/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": sorted(SCOPES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "sid",
            "org_id",
            "org_slug",
            "roles",
            "connection_id",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
        ],
        "token_endpoint_auth_methods_supported": [*methods, "none"],
        "introspection_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": [*methods, "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
    }
    return JSONResponse(document, headers=PUBLIC_DOCUMENT)


async def jwks(request: Request) -> JSONResponse:
    """Serve the public signing keys: current, next and recently retired."""
    document = await _provider(request).keys.jwks()
    return JSONResponse(
        document,
        media_type="application/jwk-set+json",
        headers=PUBLIC_DOCUMENT,
    )


# Authorization


async def authorize(request: Request) -> Response:
    """Check the request, then issue a code for the session or start a login."""
    try:
        params = single_values(await _parameters(request))
    except OAuth2Error as exc:
        return _unsafe_page(RedirectUnsafe("authorize.invalid_request", str(exc)))
    provider = _provider(request)
    client_id = params.get("client_id", "")
    client = await provider.clients.get(client_id) if client_id else None
    try:
        redirect_uri = check_redirect(client, params)
    except RedirectUnsafe as exc:
        return _unsafe_page(exc, client_id=client_id[:64])
    assert client is not None
    state = params.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        state = None
    try:
        authorization = parse_request(client, redirect_uri, params)
    except OAuth2Error as exc:
        return _redirect(error_redirect(redirect_uri, exc, state, provider.issuer))

    session = await _browser_session(request)
    if await provider.session_fits(authorization, client, session):
        assert session is not None
        return _redirect(await provider.issue_code(authorization, session))
    if "none" in authorization.prompt:
        return _redirect(
            error_redirect(
                redirect_uri,
                LoginRequiredError("the user must sign in"),
                state,
                provider.issuer,
            )
        )
    return await _start_login(request, authorization)


async def _start_login(
    request: Request, authorization: AuthorizationRequest
) -> Response:
    services = _services(request)
    key = secrets.token_urlsafe(32)
    # One browser key serves every pending request of this browser, so a
    # second tab or app does not orphan the first one's login.
    browser_key = request.cookies.get(AUTHORIZE_COOKIE, "")
    if len(browser_key) != BROWSER_KEY_LENGTH:
        browser_key = secrets.token_urlsafe(32)
    record = {
        "request": authorization.to_json(),
        "browser": browser_hash(browser_key),
        "started_at": time.time(),
        "fresh_login": "login" in authorization.prompt
        or authorization.max_age is not None,
    }
    await services.sessions.put_once(
        AUTHORIZE_NAMESPACE, key, json.dumps(record), AUTHORIZE_TTL_SECONDS
    )
    query: dict[str, str] = {"return_to": f"/oauth2/authorize/resume?request={key}"}
    hint = authorization.login_hint
    if authorization.organization:
        query["org"] = authorization.organization
    elif hint and "@" in hint:
        query["email"] = hint
    elif authorization.domain_hint:
        query["domain"] = authorization.domain_hint
    if "login" in authorization.prompt or authorization.max_age is not None:
        query["prompt"] = "login"
    if authorization.max_age is not None:
        query["max_age"] = str(authorization.max_age)
    if hint:
        query["login_hint"] = hint
    # A relative redirect keeps the browser on the host it came to, where its
    # cookies are, whatever the configured public URL.
    response = _redirect(f"/sso/login?{urlencode(query)}")
    response.set_cookie(
        AUTHORIZE_COOKIE,
        browser_key,
        max_age=AUTHORIZE_TTL_SECONDS,
        path="/oauth2/",
        secure=services.settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    logger.info(
        "authorization needs a login client_id=%s organization=%s",
        authorization.client_id,
        authorization.organization,
    )
    return response


async def resume_authorization(request: Request) -> Response:
    """Finish an authorization request once the login it started has a session."""
    services = _services(request)
    provider = services.provider
    key = request.query_params.get("request", "")
    raw = (
        await services.sessions.take(AUTHORIZE_NAMESPACE, key)
        if 0 < len(key) <= 64
        else None
    )
    if raw is None:
        return _unsafe_page(
            RedirectUnsafe(
                "authorize.unknown_request", "no pending authorization request"
            )
        )
    record = json.loads(raw)
    if not secrets.compare_digest(
        record["browser"], browser_hash(request.cookies.get(AUTHORIZE_COOKIE))
    ):
        return _unsafe_page(
            RedirectUnsafe(
                "authorize.browser_mismatch",
                "the authorization request was started in another browser",
            )
        )
    authorization = AuthorizationRequest.from_json(record["request"])
    client = await provider.clients.get(authorization.client_id)
    if client is None or not client.enabled:
        return _unsafe_page(
            RedirectUnsafe(
                "authorize.unknown_client", "the client was removed or disabled"
            ),
            client_id=authorization.client_id,
        )

    def fail(error: OAuth2Error) -> Response:
        return _redirect(
            error_redirect(
                authorization.redirect_uri, error, authorization.state, provider.issuer
            )
        )

    session = await _browser_session(request)
    if session is None:
        return fail(LoginRequiredError("the sign-in did not complete"))
    if not client.accepts_redirect_uri(authorization.redirect_uri):
        return _unsafe_page(
            RedirectUnsafe(
                "authorize.unregistered_redirect_uri",
                "the redirect URI was unregistered during the login",
            ),
            client_id=client.id,
        )
    # prompt=login and max_age ask for a login after the request: a session
    # from before it does not answer them (OpenID Connect Core 3.1.2.1).
    if record.get("fresh_login"):
        started = float(record["started_at"])
        if session.created_at.timestamp() < started:
            return fail(LoginRequiredError("the user did not sign in again"))
        # An IdP may ignore ForceAuthn and report its earlier authentication.
        authenticated = session.auth_time.timestamp()
        if "login" in authorization.prompt and authenticated < started - AUTH_SKEW:
            return fail(
                LoginRequiredError("the IdP did not authenticate the user again")
            )
        max_age = authorization.max_age
        if max_age is not None and time.time() - authenticated > max_age + AUTH_SKEW:
            return fail(LoginRequiredError("the authentication is older than max_age"))
    if not client.allows_org(session.org_id):
        return fail(AccessDeniedError("the app is not enabled for this organization"))
    if not await provider.org_is_active(session.org_id):
        return fail(AccessDeniedError("the organization is suspended"))
    if authorization.organization and not await provider.is_org(
        authorization.organization, session.org_id
    ):
        return fail(AccessDeniedError("the user signed in to another organization"))
    # The browser cookie stays: other pending requests of this browser use it.
    return _redirect(await provider.issue_code(authorization, session))


# Client authentication


async def _body(request: Request) -> bytes:
    """Read the body, refusing more than ``MAX_BODY_BYTES`` before buffering it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise InvalidRequestError("the request body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise InvalidRequestError("the request body is too large")
    return bytes(body)


async def _form_items(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
    try:
        text = (await _body(request)).decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError(
            "the form is not valid UTF-8 or has too many fields"
        ) from exc


async def _form(request: Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in await _form_items(request):
        if len(value) > MAX_FORM_FIELD:
            raise InvalidRequestError(f"parameter {key[:40]} is too long")
        if key in values:
            raise InvalidRequestError(f"parameter {key[:40]} is repeated")
        values[key] = value
    return values


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError included
        raise InvalidClientError("malformed Basic credentials") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClientError("malformed Basic credentials")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic.
    return unquote_plus(client_id), unquote_plus(secret)


async def _authenticate(
    request: Request, form: dict[str, str], *, allow_public: bool
) -> AppClient:
    """Authenticate the client. Every later check uses this client only."""
    clients = _provider(request).clients
    header = request.headers.get("authorization", "")
    body_id = form.get("client_id")
    if header[:6].lower() == "basic ":
        client_id, secret = _basic_credentials(header)
        if "client_secret" in form:
            raise InvalidRequestError("use one client authentication method")
        if body_id is not None and body_id != client_id:
            raise InvalidClientError("client_id differs from the authenticated client")
    elif "client_secret" in form:
        client_id, secret = body_id or "", form["client_secret"]
    else:
        client = await clients.get(body_id) if body_id else None
        if (
            client is None
            or not client.enabled
            or not client.public
            or not allow_public
        ):
            raise InvalidClientError("client authentication failed")
        return client
    client = await clients.get(client_id) if client_id else None
    if client is None or not client.enabled or not client.check_secret(secret):
        raise InvalidClientError("client authentication failed")
    return client


def _oauth_error(exc: OAuth2Error, request: Request) -> JSONResponse:
    status = 401 if exc.error == "invalid_client" else 400
    headers = dict(NO_STORE)
    if (
        status == 401
        and request.headers.get("authorization", "")[:6].lower() == "basic "
    ):
        headers["WWW-Authenticate"] = 'Basic realm="scimbridge"'
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


# Token, introspection, revocation


async def token(request: Request) -> Response:
    """Redeem a code or a refresh token (RFC 6749 sections 4.1.3 and 6)."""
    try:
        form = await _form(request)
        client = await _authenticate(request, form, allow_public=True)
        body = await _provider(request).token(client, form)
    except OAuth2Error as exc:
        return _oauth_error(exc, request)
    return JSONResponse(body, headers=NO_STORE)


async def _client_and_token(
    request: Request, *, allow_public: bool
) -> tuple[AppClient, str]:
    form = await _form(request)
    client = await _authenticate(request, form, allow_public=allow_public)
    presented = form.get("token")
    if not presented:
        raise InvalidRequestError("token is required")
    return client, presented


async def introspect(request: Request) -> Response:
    """RFC 7662: tell an authenticated client whether its token is active."""
    try:
        client, presented = await _client_and_token(request, allow_public=False)
    except OAuth2Error as exc:
        return _oauth_error(exc, request)
    body = await _provider(request).introspect(client, presented)
    return JSONResponse(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """RFC 7009: revoke a refresh token (with its grant) or an access token."""
    try:
        client, presented = await _client_and_token(request, allow_public=True)
    except OAuth2Error as exc:
        return _oauth_error(exc, request)
    await _provider(request).revoke(client, presented)
    return Response(status_code=200, headers=NO_STORE)


# UserInfo


def _bearer_error(error: str, description: str, status: int = 401) -> JSONResponse:
    challenge = f'Bearer realm="scimbridge", error="{error}"'
    headers = {"WWW-Authenticate": challenge, **NO_STORE}
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers=headers,
    )


async def userinfo(request: Request) -> Response:
    """OIDC Core 5.3: the member's claims for a valid access token."""
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header[:7].lower() == "bearer " else None
    if presented is None and request.method == "POST":
        try:
            presented = (await _form(request)).get("access_token")
        except OAuth2Error:
            presented = None
    if not presented:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "no access token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="scimbridge"', **NO_STORE},
        )
    claims = await _provider(request).userinfo(presented)
    if claims is None:
        return _bearer_error("invalid_token", "the access token is not active")
    return JSONResponse(claims, headers=NO_STORE)


# RP-initiated logout


async def end_session(request: Request) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0: end the session, then go back.

    The session ends at once only when ``id_token_hint`` names it (its
    ``sid`` and ``sub``); otherwise the user confirms on a page whose form
    posts back here, which a cross-site page cannot do with the session
    cookie (SameSite=Lax).
    """
    try:
        params = dict(await _parameters(request))
    except OAuth2Error as exc:
        return _unsafe_page(RedirectUnsafe("logout.invalid_request", str(exc)))
    services = _services(request)
    provider = services.provider

    hint = params.get("id_token_hint")
    claims = await provider.id_token_hint(hint) if hint else None
    if hint and claims is None:
        return _unsafe_page(
            RedirectUnsafe(
                "logout.invalid_id_token_hint", "id_token_hint did not verify"
            )
        )
    client_id = params.get("client_id") or (claims or {}).get("aud")
    if claims is not None and params.get("client_id") not in (None, claims.get("aud")):
        return _unsafe_page(
            RedirectUnsafe(
                "logout.client_mismatch", "client_id differs from the hint's aud"
            )
        )
    target = params.get("post_logout_redirect_uri")
    if target:
        client = await provider.clients.get(client_id) if client_id else None
        if (
            client is None
            or not client.enabled
            or not client.accepts_post_logout_uri(target)
        ):
            return _unsafe_page(
                RedirectUnsafe(
                    "logout.unregistered_redirect_uri",
                    "post_logout_redirect_uri is not registered for an enabled client",
                )
            )

    settings = CookieSettings(secure=services.settings.cookie_secure)
    origin = request.headers.get("origin")
    if request.method == "POST" and origin and origin != _origin_of(request):
        # A form on another origin, even a sibling subdomain of the same site
        # that SameSite=Lax lets through, may not sign the user out.
        return _unsafe_page(
            RedirectUnsafe("logout.cross_origin", f"POST from origin {origin[:200]}")
        )
    session = await _browser_session(request)
    if session is not None:
        names_session = claims is not None and (
            claims.get("sid") == session_sid(session.id)
            and claims.get("sub") == str(session.member_id)
        )
        confirmed = request.method == "POST" and params.get("confirm") == "yes"
        if not (names_session or confirmed):
            hidden = {key: value for key, value in params.items() if key != "confirm"}
            return pages.logout_confirm_page(
                f"{provider.issuer}{PREFIX}/logout", hidden | {"confirm": "yes"}
            )
        await services.logins.logout(session.id)
    response: Response
    if target:
        state = params.get("state")
        query = {"state": state} if state and len(state) <= MAX_STATE_LENGTH else {}
        response = _redirect(redirect_with(target, query) if query else target)
    else:
        response = pages.signed_out_page()
    if session is not None:
        # Only a request that carried the session may clear its cookie.
        response.headers.append("Set-Cookie", clear_session_cookie(settings))
    return response


endpoints = Router(
    # A trailing-slash redirect would build its Location from the Host header.
    redirect_slashes=False,
    routes=[
        # Plain Starlette routes: the endpoints take the request and nothing
        # else, so FastAPI's parameter handling would only add cost. Apps call
        # introspection on every request, so it is matched first.
        Route("/introspect", introspect, methods=["POST"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/jwks", jwks, methods=["GET"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/authorize/resume", resume_authorization, methods=["GET"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/logout", end_session, methods=["GET", "POST"]),
    ],
)
"""The endpoints under ``/oauth2``, which the application mounts at that prefix."""
