"""The authorization code flow end to end on the test client, and its tokens."""

import json
import time
import uuid
from typing import Any

from scimbridge.provider import jws
from tests.conftest import ADMIN_TOKEN, ScimOrg
from tests.provider.helpers import (
    ISSUER,
    REDIRECT_URI,
    authorize,
    code_for,
    exchange,
    finish_saml,
    introspect,
    make_app,
    pkce,
    query_of,
    refresh,
    run,
    services_of,
    sign_in,
    tokens_for,
)


def _claims(token: str) -> dict[str, Any]:
    """Read a token's payload; the tests that need its signature check it apart."""
    loaded: dict[str, Any] = json.loads(jws.b64url_decode(token.split(".")[1]))
    return loaded


def test_discovery_describes_the_provider(org: ScimOrg) -> None:
    document = org.client.get("/.well-known/openid-configuration").json()
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == f"{ISSUER}/oauth2/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["backchannel_logout_supported"] is True
    assert "registration_endpoint" not in document
    keys = org.client.get("/oauth2/jwks").json()["keys"]
    assert len(keys) >= 2
    assert all(key["kty"] == "RSA" for key in keys)
    assert all("d" not in key for key in keys)


def test_login_through_the_org_connection_gives_tokens(org: ScimOrg) -> None:
    """No session yet: authorize starts the SAML login and resumes after it."""
    member = sign_in(org)
    org.client.cookies.clear()
    app = make_app(org)
    verifier, challenge = pkce()

    start = authorize(org, app, challenge, organization=org.slug, state="xyz")
    assert start.status_code == 303
    login = start.headers["location"]
    assert "/sso/login?" in login
    assert query_of(login)["org"] == org.slug
    idp = org.client.get(login, follow_redirects=False)
    assert idp.status_code == 303
    acs = finish_saml(
        org, member.connection, idp.headers["location"], "jane.doe@corp.example"
    )
    resume = org.client.get(acs.headers["location"], follow_redirects=False)
    assert resume.status_code == 303, resume.text
    back = query_of(resume.headers["location"])
    assert resume.headers["location"].startswith(REDIRECT_URI + "?")
    assert back["state"] == "xyz"
    assert back["iss"] == ISSUER

    response = exchange(org, app, back["code"], verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"].startswith("art_")
    claims = _claims(body["id_token"])
    assert (
        claims["iss"] == ISSUER and claims["aud"] == app.id and claims["azp"] == app.id
    )
    assert claims["sub"] == member.user["id"]
    assert claims["org_id"] == org.id
    assert claims["org_slug"] == org.slug
    assert claims["email"] == "jane.doe@corp.example"
    assert claims["name"] == "Jane Doe"
    assert claims["amr"] == ["saml"]
    assert claims["connection_id"] == str(member.connection.id)
    assert "at_hash" in claims
    assert "nonce" in claims
    assert "sid" in claims
    assert abs(claims["auth_time"] - time.time()) < 120

    userinfo = org.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == member.user["id"]
    assert userinfo.json()["org_slug"] == org.slug


def test_roles_reach_the_tokens(org: ScimOrg) -> None:
    services = services_of(org)
    org_id = uuid.UUID(org.id)
    run(org, lambda: services.signin.add_role(org_id, "member", is_default=True))
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    assert _claims(tokens["id_token"])["roles"] == ["member"]
    assert introspect(org, app, tokens["access_token"])["roles"] == ["member"]


def test_scim_deactivation_makes_tokens_inactive(org: ScimOrg) -> None:
    member = sign_in(org)
    app = make_app(org, backchannel_logout_uri="https://app.example.com/bc")
    tokens = tokens_for(org, app)
    assert introspect(org, app, tokens["access_token"])["active"] is True

    patch = org.patch(
        f"/Users/{member.user['id']}",
        [{"op": "replace", "path": "active", "value": False}],
    )
    assert patch.status_code == 200
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert introspect(org, app, tokens["refresh_token"]) == {"active": False}
    assert refresh(org, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    deliveries = org.client.get(
        f"/admin/organizations/{org.slug}/logout-deliveries",
        params={"member_id": member.user["id"]},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["deliveries"]
    assert [item["client_id"] for item in deliveries] == [app.id]


def test_refresh_rotates_and_reuse_revokes_the_family(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    first = tokens_for(org, app)
    second = refresh(org, app, first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert "nonce" not in _claims(rotated["id_token"])
    assert introspect(org, app, rotated["access_token"])["active"] is True

    reused = refresh(org, app, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert (
        refresh(org, app, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    )
    assert introspect(org, app, rotated["access_token"]) == {"active": False}
    assert introspect(org, app, first["access_token"]) == {"active": False}


def test_refresh_by_other_client_fails(org: ScimOrg) -> None:
    sign_in(org)
    app, other = make_app(org), make_app(org)
    tokens = tokens_for(org, app)
    stolen = refresh(org, other, tokens["refresh_token"])
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    assert refresh(org, app, tokens["refresh_token"]).status_code == 200


def test_logout_revokes_the_session_tokens(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    response = org.client.post("/sso/logout", follow_redirects=False)
    assert response.status_code in (200, 303)
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert refresh(org, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_rp_initiated_logout_returns_to_a_registered_uri(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org, post_logout_redirect_uris=["https://app.example.com/bye"])
    tokens = tokens_for(org, app)
    response = org.client.get(
        "/oauth2/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "s1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "https://app.example.com/bye?state=s1"
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert org.client.get("/sso/session").status_code == 401

    sign_in_again = org.client.get(
        "/oauth2/logout",
        params={
            "post_logout_redirect_uri": "https://evil.example/",
            "client_id": app.id,
        },
        follow_redirects=False,
    )
    assert sign_in_again.status_code == 400
    assert "location" not in sign_in_again.headers


def test_revocation_of_refresh_and_access_tokens(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    response = org.client.post(
        "/oauth2/revoke", data={"token": tokens["access_token"]}, auth=app.auth
    )
    assert response.status_code == 200
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert introspect(org, app, tokens["refresh_token"])["active"] is True

    org.client.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=app.auth
    )
    assert introspect(org, app, tokens["refresh_token"]) == {"active": False}
    unknown = org.client.post(
        "/oauth2/revoke", data={"token": "nonsense"}, auth=app.auth
    )
    assert unknown.status_code == 200


def test_app_restricted_to_other_orgs_is_denied(
    org: ScimOrg, other_org: ScimOrg
) -> None:
    sign_in(org)
    app = make_app(org, org_ids=[uuid.UUID(other_org.id)])
    verifier, challenge = pkce()
    response = authorize(org, app, challenge, prompt="none")
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_key_rotation_keeps_old_tokens_valid(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    services = services_of(org)
    before = org.client.get("/oauth2/jwks").json()["keys"]
    tokens = tokens_for(org, app)
    run(org, services.provider.keys.rotate)
    after = org.client.get("/oauth2/jwks").json()["keys"]
    old_kid = jws.read_header(tokens["access_token"])["kid"]
    assert old_kid in {key["kid"] for key in after}
    # The key that signs now was already published before the rotation.
    new_tokens = tokens_for(org, app)
    new_kid = jws.read_header(new_tokens["access_token"])["kid"]
    assert new_kid != old_kid
    assert new_kid in {key["kid"] for key in before}
    assert introspect(org, app, tokens["access_token"])["active"] is True
    assert introspect(org, app, new_tokens["access_token"])["active"] is True


def test_code_is_bound_to_the_session_member(org: ScimOrg) -> None:
    member = sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    body = exchange(org, app, code, verifier).json()
    assert introspect(org, app, body["access_token"])["sub"] == member.user["id"]
