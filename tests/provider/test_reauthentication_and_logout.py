"""prompt=login and max_age against an IdP that ignores ForceAuthn, a
suspension made by another process, and the logout cookie."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from scimbridge.config import Settings
from scimbridge.directory.models import OrgStatus
from scimbridge.provider import jws
from scimbridge.services import build_services
from scimbridge.sso.connections import saml_paths
from scimbridge.sso.saml.bindings import decode_message
from tests.conftest import ScimOrg
from tests.provider.helpers import (
    REDIRECT_URI,
    authorize,
    exchange,
    introspect,
    make_app,
    pkce,
    query_of,
    run,
    services_of,
    sign_in,
    tokens_for,
)
from tests.sso.saml.idp import ResponseSpec, signed_response, to_base64
from tests.sso.test_login_flows import BASE_URL, _acs

USER = "jane.doe@corp.example"


def _claims(token: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(jws.b64url_decode(token.split(".")[1]))
    return loaded


def _stale_response(connection: Any, request_id: str, authn_instant: datetime) -> str:
    """Sign a fresh Response that reports an authentication at ``authn_instant``."""
    paths = saml_paths(BASE_URL, connection.org_id, connection.id)
    now = datetime.now(UTC)
    spec = ResponseSpec(
        response_id=f"_r{uuid.uuid4().hex}",
        assertion_id=f"_a{uuid.uuid4().hex}",
        issue_instant=now - timedelta(seconds=2),
        destination=paths["acs_url"],
        in_response_to=request_id,
        recipient=paths["acs_url"],
        confirmation_in_response_to=request_id,
        confirmation_not_on_or_after=now + timedelta(minutes=5),
        not_before=now - timedelta(minutes=1),
        not_on_or_after=now + timedelta(minutes=5),
        audiences=(paths["entity_id"],),
        authn_instant=authn_instant,
        session_not_on_or_after=now + timedelta(hours=8),
        name_id=USER,
        attributes={"email": [USER]},
    )
    return to_base64(signed_response(spec)).decode()


def _login_with_authn_instant(
    org: ScimOrg, changes: dict[str, str], authn_instant: datetime
) -> tuple[Any, Any, str]:
    """Start an authorization that needs a new login, and complete it at the ACS.

    The IdP returns an assertion whose AuthnInstant is ``authn_instant``, as an
    IdP that ignores ForceAuthn and reuses its own SSO session does.
    """
    member = sign_in(org, USER)
    app = make_app(org)
    verifier, challenge = pkce()
    start = authorize(org, app, challenge, organization=org.slug, **changes)
    assert start.status_code == 303, start.text
    sso = org.client.get(start.headers["location"], follow_redirects=False)
    assert sso.status_code == 303, sso.text
    idp = query_of(sso.headers["location"])
    request = etree.fromstring(decode_message(idp["SAMLRequest"]))
    assert request.get("ForceAuthn") == "true"
    saml = _stale_response(member.connection, request.get("ID"), authn_instant)
    acs = _acs(org, member.connection, saml, idp["RelayState"])
    assert acs.status_code == 303, acs.text
    resume = org.client.get(acs.headers["location"], follow_redirects=False)
    return app, resume, verifier


def test_max_age_rejects_stale_authn_instant(org: ScimOrg) -> None:
    """max_age=5: an assertion authenticated 2 hours ago must not give a code."""
    stale = datetime.now(UTC) - timedelta(hours=2)
    app, resume, verifier = _login_with_authn_instant(org, {"max_age": "5"}, stale)
    location = resume.headers.get("location", "")
    if "code" in query_of(location):
        tokens = exchange(org, app, query_of(location)["code"], verifier).json()
        age = time.time() - _claims(tokens["id_token"])["auth_time"]
        assert age <= 5, f"ID token auth_time is {age:.0f} s old with max_age=5"
    assert location.startswith(REDIRECT_URI)
    assert query_of(location).get("error") == "login_required"


def test_prompt_login_rejects_stale_authn_instant(org: ScimOrg) -> None:
    """prompt=login: an assertion authenticated before the request gives no code."""
    stale = datetime.now(UTC) - timedelta(hours=2)
    _, resume, _ = _login_with_authn_instant(org, {"prompt": "login"}, stale)
    location = resume.headers.get("location", "")
    assert "code" not in query_of(location), location


def _suspend_like_the_cli(settings: Settings, slug: str) -> None:
    """Suspend ``slug`` on services of their own, as ``scimbridge org suspend`` does."""

    async def suspend() -> None:
        services = build_services(settings)
        try:
            await services.orgs.set_status(slug, OrgStatus.suspended)
        finally:
            await services.close()

    asyncio.run(suspend())


def test_cli_suspension_revokes_tokens(org: ScimOrg, settings: Settings) -> None:
    """CLI org suspend: the server's tokens become inactive and apps get a logout."""
    member = sign_in(org, USER)
    app = make_app(org, backchannel_logout_uri="https://app.example.com/bcl")
    tokens = tokens_for(org, app)

    _suspend_like_the_cli(settings, org.slug)

    # The server's background sweep applies a suspension made elsewhere.
    deadline = time.monotonic() + 20
    while introspect(org, app, tokens["access_token"]) != {"active": False}:
        assert time.monotonic() < deadline, "the suspension did not reach the tokens"
        time.sleep(0.2)
    services = services_of(org)
    member_id = uuid.UUID(member.user["id"])
    deliveries = run(
        org,
        lambda: services.provider.backchannel.member_deliveries(
            uuid.UUID(org.id), member_id
        ),
    )
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert introspect(org, app, tokens["refresh_token"]) == {"active": False}
    assert len(deliveries) == 1, deliveries


def test_logout_without_cookie_keeps_cookie(org: ScimOrg) -> None:
    """A logout POST that names no session must not delete the browser's cookie."""
    sign_in(org, USER)
    session_cookie = dict(org.client.cookies)
    org.client.cookies.clear()
    response = org.client.post("/oauth2/logout", data={"confirm": "yes"})
    org.client.cookies.update(session_cookie)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers, response.headers["set-cookie"]
