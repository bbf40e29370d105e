"""Attacks on the OpenID Provider that its first version let through.

Each test asserts what a correct provider does: re-authentication, two
pending logins in one browser, concurrent code redemption, verified email,
suspension, malformed input, back-channel retries and logout.
"""

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from scimbridge.directory.models import OrgStatus
from scimbridge.provider import jws
from scimbridge.provider.backchannel import MAX_ATTEMPTS, MAX_RETRY, retry_delay
from tests.conftest import ScimOrg
from tests.provider.helpers import (
    REDIRECT_URI,
    authorize,
    code_for,
    finish_saml,
    introspect,
    make_app,
    pkce,
    query_of,
    run,
    services_of,
    sign_in,
    tokens_for,
)


def _claims(token: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(jws.b64url_decode(token.split(".")[1]))
    return loaded


# prompt=login and max_age (OIDC Core 3.1.2.1)


def _resume_without_login(org: ScimOrg, **changes: str) -> Any:
    """Start an authorization that needs a new login, then skip the login."""
    app = make_app(org)
    _, challenge = pkce()
    start = authorize(org, app, challenge, **changes)
    assert start.status_code == 303
    return_to = query_of(start.headers["location"])["return_to"]
    return org.client.get(return_to, follow_redirects=False)


def test_prompt_login_rejects_old_session(org: ScimOrg) -> None:
    """prompt=login: the browser may not skip the login and resume at once."""
    sign_in(org)
    response = _resume_without_login(org, prompt="login")
    assert "code" not in query_of(response.headers.get("location", ""))


def test_max_age_rejects_old_session(org: ScimOrg) -> None:
    """max_age=0: the old session's auth_time is too old for a code."""
    sign_in(org)
    response = _resume_without_login(org, max_age="0")
    assert "code" not in query_of(response.headers.get("location", ""))


# Two authorization requests in one browser


def test_two_pending_authorizations_both_resume(
    org: ScimOrg,
) -> None:
    """Two tabs (or two apps) start a login; the first must still resume."""
    member = sign_in(org)
    org.client.cookies.clear()
    first, second = make_app(org), make_app(org)
    _, challenge = pkce()
    start_first = authorize(org, first, challenge, organization=org.slug)
    authorize(org, second, challenge, organization=org.slug)
    idp = org.client.get(start_first.headers["location"], follow_redirects=False)
    acs = finish_saml(
        org, member.connection, idp.headers["location"], "jane.doe@corp.example"
    )
    resume = org.client.get(acs.headers["location"], follow_redirects=False)
    assert resume.status_code == 303, resume.text


# Codes redeemed at the same time (RFC 6749 section 4.1.2)


def test_concurrent_redemption_revokes_winner(org: ScimOrg) -> None:
    """Of two parallel redemptions one fails, and its failure revokes the other."""
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    services = services_of(org)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }

    async def race() -> list[Any]:
        client = await services.provider.clients.get(app.id)
        assert client is not None
        return await asyncio.gather(
            services.provider.token(client, dict(form)),
            services.provider.token(client, dict(form)),
            return_exceptions=True,
        )

    results = run(org, race)
    issued = [result for result in results if isinstance(result, dict)]
    # At most one redemption may return tokens, and those tokens are revoked;
    # the second may also be caught before its tokens leave, then both fail.
    assert len(issued) <= 1, results
    assert len(results) - len(issued) >= 1
    for tokens in issued:
        assert introspect(org, app, tokens["refresh_token"]) == {"active": False}
        assert introspect(org, app, tokens["access_token"]) == {"active": False}


# Claims


def test_foreign_domain_email_not_verified(org: ScimOrg, other_org: ScimOrg) -> None:
    """Org B provisions an address of org A's domain; it must not be 'verified'."""
    services = services_of(org)
    run(
        org,
        lambda: services.signin.add_domain(
            uuid.UUID(org.id), "corp.example", verified=True
        ),
    )
    sign_in(other_org, "ceo@corp.example")
    app = make_app(other_org)
    claims = _claims(tokens_for(other_org, app)["id_token"])
    assert claims["org_id"] == other_org.id
    assert claims.get("email_verified") is not True, claims


# Organization suspension


def test_suspended_org_tokens_inactive(org: ScimOrg) -> None:
    """Introspection returns inactive once the org can no longer use its tokens."""
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    services = services_of(org)
    run(org, lambda: services.orgs.set_status(org.slug, OrgStatus.suspended))
    try:
        assert introspect(org, app, tokens["refresh_token"])["active"] is False
        assert introspect(org, app, tokens["access_token"])["active"] is False
    finally:
        run(org, lambda: services.orgs.set_status(org.slug, OrgStatus.active))


def test_sweep_lists_recent_suspensions(org: ScimOrg, other_org: ScimOrg) -> None:
    """The suspension sweep reads only organizations suspended since it last ran."""
    services = services_of(org)
    before = datetime.now(UTC) - timedelta(seconds=1)
    run(org, lambda: services.orgs.set_status(org.slug, OrgStatus.suspended))
    try:
        inactive = run(org, lambda: services.orgs.list_inactive_since(before))
        later = run(
            org,
            lambda: services.orgs.list_inactive_since(
                datetime.now(UTC) + timedelta(seconds=1)
            ),
        )
    finally:
        run(org, lambda: services.orgs.set_status(org.slug, OrgStatus.active))
    slugs = {record.slug for record in inactive}
    assert org.slug in slugs
    assert other_org.slug not in slugs
    assert org.slug not in {record.slug for record in later}


# Malformed input never gives a 500


def _non_ascii_payload(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.\u00e9\u00e9.{signature}"


def test_non_ascii_token_payload_rejected(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    bad_access = _non_ascii_payload(tokens["access_token"])
    response = org.client.post("/oauth2/userinfo", data={"access_token": bad_access})
    assert response.status_code == 401
    response = org.client.post(
        "/oauth2/introspect", data={"token": bad_access}, auth=app.auth
    )
    assert response.status_code == 200
    bad_id = _non_ascii_payload(tokens["id_token"])
    response = org.client.get("/oauth2/logout", params={"id_token_hint": bad_id})
    assert response.status_code == 400


def test_non_ascii_basic_credentials_rejected(org: ScimOrg) -> None:
    response = org.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "art_x"},
        headers={"Authorization": b"Basic \xe9\xe9"},  # type: ignore[dict-item]
    )
    assert response.status_code == 401


# Back-channel logout retries


def test_backchannel_retries_outlast_outage() -> None:
    """An app that is down for the maximum retry delay still gets the logout."""
    delays = [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)]
    window = sum(delays, start=MAX_RETRY * 0)
    assert window >= MAX_RETRY, window


# Basic credentials


def test_basic_credentials_form_decoded(org: ScimOrg) -> None:
    """RFC 6749 2.3.1: a client that form-encodes its id and secret still works."""
    app = make_app(org)
    assert app.secret is not None
    raw = f"{app.id}:{app.secret}".replace("_", "%5F").replace("-", "%2D")
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    response = org.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "art_x"},
        headers={"Authorization": header},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, section 2)


def _session_alive(org: ScimOrg) -> bool:
    return bool(org.client.get("/sso/session").status_code == 200)


def test_logout_without_hint_keeps_session(
    org: ScimOrg,
) -> None:
    """Without a hint the OP must ask the user; a bare GET must not log out."""
    sign_in(org)
    assert _session_alive(org)
    response = org.client.get("/oauth2/logout", follow_redirects=False)
    assert response.status_code == 200
    assert _session_alive(org)


def test_logout_foreign_hint_keeps_session(
    org: ScimOrg,
) -> None:
    """A hint of another user must not end this browser's session unasked."""
    app = make_app(org, post_logout_redirect_uris=["https://app.example.com/bye"])
    member = sign_in(org, "mallory@corp.example")
    attacker_id_token = tokens_for(org, app)["id_token"]
    org.client.cookies.clear()
    org.create_user("victim@corp.example")
    start = org.client.get(
        "/sso/login",
        params={"org": org.slug, "connection": str(member.connection.id)},
        follow_redirects=False,
    )
    finish_saml(
        org, member.connection, start.headers["location"], "victim@corp.example"
    )
    response = org.client.get(
        "/oauth2/logout",
        params={
            "id_token_hint": attacker_id_token,
            "post_logout_redirect_uri": "https://app.example.com/bye",
        },
        follow_redirects=False,
    )
    assert "location" not in response.headers
    assert _session_alive(org)


def test_logout_disabled_app_no_redirect(org: ScimOrg) -> None:
    app = make_app(org, post_logout_redirect_uris=["https://app.example.com/bye"])
    services = services_of(org)
    run(org, lambda: services.provider.clients.set_enabled(app.id, False))
    response = org.client.get(
        "/oauth2/logout",
        params={
            "client_id": app.id,
            "post_logout_redirect_uri": "https://app.example.com/bye",
        },
        follow_redirects=False,
    )
    assert "location" not in response.headers
