"""Browser endpoints of sign-in: discovery, ACS, callback, session and logout."""

import logging
import secrets
import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from scimbridge.directory.access import Connection, ConnectionKind
from scimbridge.directory.clock import utc_now
from scimbridge.directory.errors import NotFound
from scimbridge.directory.models import OrgStatus
from scimbridge.services import Services
from scimbridge.sessions.cookies import (
    CookieSettings,
    clear_session_cookie,
    session_cookie,
    session_id_from_cookie_header,
)
from scimbridge.sso import pages
from scimbridge.sso.connections import saml_connection, sp_metadata
from scimbridge.sso.login import LoginFailed, LoginResult, UpstreamOptions
from scimbridge.sso.logout import logout_request_url, logout_response_url
from scimbridge.sso.oidc.errors import OidcError
from scimbridge.sso.oidc.flow import parse_callback_query
from scimbridge.sso.saml.errors import SamlError
from scimbridge.sso.saml.logout_request import read_logout_request

logger = logging.getLogger(__name__)

router = APIRouter()
home = APIRouter()
"""The site root, where a login without ``return_to`` lands."""

LOGIN_COOKIE = "scimbridge_login"
MAX_SAML_RESPONSE = 512 * 1024


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _base_url(request: Request) -> str:
    return _services(request).settings.public_url(str(request.base_url))


def _cookie_settings(request: Request) -> CookieSettings:
    return CookieSettings(secure=_services(request).settings.cookie_secure)


def _fail(exc: LoginFailed, **ids: object) -> Response:
    """Log the stable code and details; show the browser only a reference."""
    reference = secrets.token_hex(6)
    context = " ".join(f"{key}={value}" for key, value in ids.items())
    logger.warning(
        "login failed code=%s reference=%s %s detail=%s",
        exc.code,
        reference,
        context,
        exc.detail,
    )
    return pages.error_page(reference)


def _unknown_connection(kind: str, org_id: str, connection_id: str) -> Response:
    return _fail(
        LoginFailed("login.unknown_connection", f"no enabled {kind} connection here"),
        org_id=org_id,
        connection_id=connection_id,
    )


async def _connection(
    request: Request, org_id: str, connection_id: str, kind: ConnectionKind
) -> Connection | None:
    try:
        org_uuid, connection_uuid = uuid.UUID(org_id), uuid.UUID(connection_id)
    except ValueError:
        return None
    services = _services(request)
    try:
        org = await services.orgs.get(str(org_uuid))
        connection = await services.signin.get_connection(org_uuid, connection_uuid)
    except NotFound:
        return None
    if org.status is not OrgStatus.active or connection.kind is not kind:
        return None
    return connection


def _start_url(
    request: Request,
    connection: Connection,
    return_to: str | None,
    passed_on: dict[str, str],
) -> str:
    query = {"org": str(connection.org_id), "connection": str(connection.id)}
    if return_to:
        query["return_to"] = return_to
    query |= passed_on
    return f"{_base_url(request)}/sso/login?{urlencode(query)}"


def _upstream_options(
    prompt: str | None, max_age: str | None, login_hint: str | None
) -> tuple[UpstreamOptions, dict[str, str]]:
    """Read the options an app's authorization request passes to the IdP."""
    age = int(max_age) if max_age and max_age.isdigit() and len(max_age) < 10 else None
    options = UpstreamOptions(
        force=prompt == "login",
        max_age=age,
        login_hint=login_hint if login_hint and len(login_hint) <= 256 else None,
    )
    passed_on = {}
    if options.force:
        passed_on["prompt"] = "login"
    if options.max_age is not None:
        passed_on["max_age"] = str(options.max_age)
    if options.login_hint:
        passed_on["login_hint"] = options.login_hint
    return options, passed_on


@router.get("/login")
async def start_login(
    request: Request,
    org: str | None = None,
    email: str | None = None,
    domain: str | None = None,
    connection: str | None = None,
    return_to: str | None = None,
    prompt: str | None = None,
    max_age: str | None = None,
    login_hint: str | None = None,
) -> Response:
    """Start a login for an organization, found by slug, id, email or domain.

    With none of them, the page requests a work email. An unknown
    organization or email gets the same page as an organization without an
    enabled connection, so the response reveals neither.
    """
    services = _services(request)
    options, passed_on = _upstream_options(prompt, max_age, login_hint)
    if not (org or email or domain):
        hidden = dict(passed_on)
        if return_to:
            hidden["return_to"] = return_to
        return pages.discovery_page(f"{_base_url(request)}/sso/login", hidden)
    org_record = None
    try:
        if org:
            org_record = await services.orgs.get(org)
        elif email or domain:
            address = email or f"user@{domain}"
            org_id = await services.signin.org_for_email(address)
            if org_id is not None:
                org_record = await services.orgs.get(str(org_id))
    except NotFound:
        org_record = None
    if org_record is None or org_record.status is not OrgStatus.active:
        return pages.no_connection_page()

    enabled = [
        c for c in await services.signin.list_connections(org_record.id) if c.enabled
    ]
    if connection:
        enabled = [c for c in enabled if str(c.id) == connection]
    if not enabled:
        return pages.no_connection_page()
    if len(enabled) > 1:
        choices = [
            (c.name, _start_url(request, c, return_to, passed_on)) for c in enabled
        ]
        return pages.chooser_page(choices)

    chosen = await services.signin.get_connection(org_record.id, enabled[0].id)
    try:
        redirect = await services.logins.start(
            chosen,
            _base_url(request),
            return_to,
            options,
            browser_key=request.cookies.get(LOGIN_COOKIE),
        )
    except LoginFailed as exc:
        return _fail(exc, org_id=org_record.id, connection_id=chosen.id)
    response = RedirectResponse(redirect.location, status_code=303)
    _set_login_cookie(request, response, redirect.browser_key)
    return response


def _set_login_cookie(request: Request, response: Response, value: str) -> None:
    secure = _services(request).settings.cookie_secure
    # The IdP posts the SAML Response from its own site, so the binding
    # cookie must travel on a cross-site POST: SameSite=None, which
    # browsers accept only with Secure. Plain-http development uses Lax.
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=600,
        path="/sso/",
        secure=secure,
        httponly=True,
        samesite="none" if secure else "lax",
    )


def _finish(request: Request, result: LoginResult) -> Response:
    settings = _cookie_settings(request)
    response = RedirectResponse(result.return_to, status_code=303)
    response.headers.append("Set-Cookie", session_cookie(result.session, settings))
    # The login cookie stays until it expires: a login started in another
    # tab of this browser is bound to the same value.
    return response


@router.get("/saml/{org_id}/{connection_id}/metadata")
async def saml_metadata(request: Request, org_id: str, connection_id: str) -> Response:
    """Serve the SP metadata of a SAML connection, for the IdP's admin."""
    connection = await _connection(request, org_id, connection_id, ConnectionKind.saml)
    if connection is None:
        return Response(status_code=404)
    document = sp_metadata(saml_connection(connection, _base_url(request)))
    return Response(document, media_type="application/samlmetadata+xml")


@router.post("/saml/{org_id}/{connection_id}/acs")
async def saml_acs(
    request: Request,
    org_id: str,
    connection_id: str,
    saml_response: Annotated[
        str, Form(alias="SAMLResponse", max_length=MAX_SAML_RESPONSE)
    ],
    relay_state: Annotated[str | None, Form(alias="RelayState", max_length=256)] = None,
) -> Response:
    """Receive the IdP's Response (HTTP-POST binding) and open a session."""
    connection = await _connection(request, org_id, connection_id, ConnectionKind.saml)
    if connection is None:
        return _unknown_connection("SAML", org_id, connection_id)
    try:
        result = await _services(request).logins.finish_saml(
            connection,
            _base_url(request),
            saml_response,
            relay_state,
            request.cookies.get(LOGIN_COOKIE),
        )
    except LoginFailed as exc:
        return _fail(exc, org_id=org_id, connection_id=connection_id)
    return _finish(request, result)


@router.get("/oidc/{org_id}/{connection_id}/callback")
async def oidc_callback(request: Request, org_id: str, connection_id: str) -> Response:
    """Receive the authorization response, redeem the code and open a session."""
    connection = await _connection(request, org_id, connection_id, ConnectionKind.oidc)
    if connection is None:
        return _unknown_connection("OIDC", org_id, connection_id)
    try:
        # Parsed here, not taken from request.query_params, which keeps the
        # last copy of a repeated parameter instead of rejecting it.
        params = parse_callback_query(request.url.query)
    except OidcError as exc:
        return _fail(
            LoginFailed(str(exc.code), exc.detail),
            org_id=org_id,
            connection_id=connection_id,
        )
    try:
        result = await _services(request).logins.finish_oidc(
            connection, _base_url(request), params, request.cookies.get(LOGIN_COOKIE)
        )
    except LoginFailed as exc:
        return _fail(exc, org_id=org_id, connection_id=connection_id)
    return _finish(request, result)


@home.get("/", include_in_schema=False)
async def home_page(request: Request) -> Response:
    """Show whether this browser is signed in."""
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""), _cookie_settings(request)
    )
    session = await _services(request).logins.current(session_id)
    return pages.home_page(signed_in=session is not None)


@router.get("/session")
async def current_session(request: Request) -> Response:
    """Describe the browser's session, or respond 401 when it has none."""
    settings = _cookie_settings(request)
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""), settings
    )
    session = await _services(request).logins.current(session_id)
    if session is None:
        return JSONResponse({"error": "no_session"}, status_code=401)
    return JSONResponse(
        {
            "org_id": str(session.org_id),
            "member_id": str(session.member_id),
            "connection_id": str(session.connection_id),
            "roles": list(session.roles),
            "expires_at": session.expires_at.isoformat(),
            "auth_time": session.auth_time.isoformat(),
        }
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session here, then at the IdP when it has a logout endpoint."""
    services = _services(request)
    settings = _cookie_settings(request)
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""), settings
    )
    session = await services.logins.logout(session_id)

    location = None
    if session is not None:
        try:
            connection = await services.signin.get_connection(
                session.org_id, session.connection_id
            )
        except NotFound:
            connection = None
        if connection is not None and connection.kind is ConnectionKind.saml:
            saml = saml_connection(connection, _base_url(request))
            location = logout_request_url(saml, session)
        elif connection is not None:
            location = await services.logins.end_session_url(
                connection, _base_url(request)
            )
    response: Response = (
        RedirectResponse(location, status_code=303)
        if location
        else pages.signed_out_page()
    )
    response.headers.append("Set-Cookie", clear_session_cookie(settings))
    return response


@router.get("/saml/{org_id}/{connection_id}/slo")
async def saml_single_logout(
    request: Request, org_id: str, connection_id: str
) -> Response:
    """End the session on the IdP's LogoutRequest, and send back a LogoutResponse.

    Without a SAMLRequest, the browser is back from the IdP after a logout that
    started here, and the session is already gone.
    """
    if "SAMLRequest" not in request.query_params:
        return pages.signed_out_page()
    connection = await _connection(request, org_id, connection_id, ConnectionKind.saml)
    if connection is None:
        return _unknown_connection("SAML", org_id, connection_id)
    saml = saml_connection(connection, _base_url(request))
    try:
        logout = read_logout_request(
            request.url.query,
            idp=saml.idp,
            slo_url=saml.slo_url,
            now=utc_now(),
            clock_skew=saml.sp.clock_skew,
        )
    except SamlError as exc:
        return _fail(
            LoginFailed(str(exc.code), exc.detail),
            org_id=org_id,
            connection_id=connection_id,
        )
    settings = _cookie_settings(request)
    session_id = session_id_from_cookie_header(
        request.headers.get("cookie", ""), settings
    )
    try:
        ended = await _services(request).logins.end_idp_session(
            connection, logout, session_id
        )
    except LoginFailed as exc:
        return _fail(exc, org_id=org_id, connection_id=connection_id)
    logger.info(
        "IdP logout request org_id=%s connection_id=%s request_id=%s session_ended=%s",
        org_id,
        connection_id,
        logout.id[:200],
        ended,
    )
    location = logout_response_url(saml, logout)
    response: Response = (
        RedirectResponse(location, status_code=303)
        if location
        else pages.signed_out_page()
    )
    if ended:
        response.headers.append("Set-Cookie", clear_session_cookie(settings))
    return response


@router.get("/logged-out")
async def logged_out() -> Response:
    """Land the browser after the OIDC provider's logout."""
    return pages.signed_out_page()
