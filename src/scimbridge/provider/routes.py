"""HTTP endpoints of the OpenID Provider: discovery, authorize, token and the rest."""

import base64
import binascii
import hashlib
import json
import logging
import secrets
from typing import Any
from urllib.parse import unquote_plus, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

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
from scimbridge.provider.service import OpenIdProvider
from scimbridge.services import Services
from scimbridge.sessions.cookies import (
    CookieSettings,
    clear_session_cookie,
    session_id_from_cookie_header,
)
from scimbridge.sessions.store import Session
from scimbridge.sso import pages

logger = logging.getLogger(__name__)

router = APIRouter()

AUTHORIZE_NAMESPACE = "op-authorize"
AUTHORIZE_COOKIE = "scimbridge_authorize"
AUTHORIZE_TTL_SECONDS = 600
MAX_FORM_FIELD = 8192
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


def _browser_hash(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()


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
    form = await request.form()
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


# Discovery


@router.get("/.well-known/openid-configuration")
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
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


@router.get("/oauth2/jwks")
async def jwks(request: Request) -> JSONResponse:
    """The public signing keys: current, next and recently retired."""
    document = await _provider(request).keys.jwks()
    return JSONResponse(
        document,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


# Authorization


@router.api_route("/oauth2/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    """Check the request, then answer from the browser's session or start a login."""
    items = await _parameters(request)
    params = single_values(items)
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
    browser_key = secrets.token_urlsafe(32)
    record = {
        "request": authorization.to_json(),
        "browser": _browser_hash(browser_key),
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
    base = services.settings.public_url(str(request.base_url))
    response = _redirect(f"{base}/sso/login?{urlencode(query)}")
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


@router.get("/oauth2/authorize/resume")
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
        record["browser"], _browser_hash(request.cookies.get(AUTHORIZE_COOKIE))
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
    if not client.allows_org(session.org_id):
        return fail(AccessDeniedError("the app is not enabled for this organization"))
    if authorization.organization and not await provider.is_org(
        authorization.organization, session.org_id
    ):
        return fail(AccessDeniedError("the user signed in to another organization"))
    response = _redirect(await provider.issue_code(authorization, session))
    response.delete_cookie(AUTHORIZE_COOKIE, path="/oauth2/")
    return response


# Client authentication


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
    form = await request.form()
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str) or len(value) > MAX_FORM_FIELD:
            raise InvalidRequestError(f"invalid parameter {key[:40]}")
        if key in values:
            raise InvalidRequestError(f"parameter {key[:40]} is repeated")
        values[key] = value
    return values


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError("malformed Basic credentials") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClientError("malformed Basic credentials")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic.
    return unquote_plus(client_id), unquote_plus(secret)


async def _authenticate(
    request: Request, form: dict[str, str], *, allow_public: bool
) -> AppClient:
    """Authenticate the client; every later check uses this client only."""
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


@router.post("/oauth2/token")
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


@router.post("/oauth2/introspect")
async def introspect(request: Request) -> Response:
    """RFC 7662: tell an authenticated client whether its token is active."""
    try:
        client, presented = await _client_and_token(request, allow_public=False)
    except OAuth2Error as exc:
        return _oauth_error(exc, request)
    body = await _provider(request).introspect(client, presented)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth2/revoke")
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


@router.api_route("/oauth2/userinfo", methods=["GET", "POST"])
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


@router.api_route("/oauth2/logout", methods=["GET", "POST"])
async def end_session(request: Request) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0: end the session, then go back."""
    items = await _parameters(request)
    params: dict[str, Any] = dict(items)
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
        client = (
            await provider.clients.get(client_id)
            if isinstance(client_id, str)
            else None
        )
        if client is None or not client.accepts_post_logout_uri(target):
            return _unsafe_page(
                RedirectUnsafe(
                    "logout.unregistered_redirect_uri",
                    "post_logout_redirect_uri is not registered for the client",
                )
            )

    settings = CookieSettings(secure=services.settings.cookie_secure)
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""), settings
    )
    await services.logins.logout(session_id)
    response: Response
    if target:
        state = params.get("state")
        query = (
            {"state": state} if isinstance(state, str) and len(state) <= 1024 else {}
        )
        response = _redirect(redirect_with(target, query) if query else target)
    else:
        response = pages.signed_out_page()
    response.headers.append("Set-Cookie", clear_session_cookie(settings))
    return response
