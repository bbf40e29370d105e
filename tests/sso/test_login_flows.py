"""End to end: a SCIM-provisioned member signs in through SAML and OIDC, and
loses the session the moment SCIM deactivates them."""

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import etree

from scimbridge.directory.access import MappingSource
from scimbridge.services import Services
from scimbridge.sessions.store import MAX_KEY_LENGTH
from scimbridge.sso.connections import (
    create_oidc_connection,
    create_saml_connection,
    saml_paths,
)
from scimbridge.sso.login import replay_key
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.jwks import JwksCache
from scimbridge.sso.oidc.settings import OidcSettings
from scimbridge.sso.saml import names
from scimbridge.sso.saml.bindings import build_redirect_url, decode_message
from tests.conftest import ScimOrg
from tests.sso.oidc.provider import CLIENT_ID, CLIENT_SECRET, ProviderKeys, TestProvider
from tests.sso.saml.idp import (
    IDP_ENTITY_ID,
    ResponseSpec,
    idp_key,
    idp_metadata,
    signed_response,
    to_base64,
)

BASE_URL = "http://testserver"


def _services(org: ScimOrg) -> Services:
    services: Services = org.client.app.state.services  # type: ignore[attr-defined]
    return services


def _run(org: ScimOrg, call: Any) -> Any:
    assert org.client.portal is not None
    return org.client.portal.call(call)


def _map_role(
    org: ScimOrg,
    name: str,
    source: MappingSource,
    value: str,
    attribute: str | None = None,
) -> None:
    """Create the role ``name`` and map ``value`` of ``source`` to it."""
    services = _services(org)
    org_id = uuid.UUID(org.id)
    role = _run(org, lambda: services.signin.add_role(org_id, name))
    _run(
        org,
        lambda: services.signin.add_mapping(
            org_id, role.id, source, value, attribute=attribute
        ),
    )


def _saml_connection(org: ScimOrg, **options: Any) -> Any:
    services = _services(org)

    async def create() -> Any:
        return await create_saml_connection(
            services.signin,
            uuid.UUID(org.id),
            name="Corp SAML",
            metadata_xml=idp_metadata(),
            base_url=BASE_URL,
            **options,
        )

    return _run(org, create)


def _start(org: ScimOrg, return_to: str = "/app/home") -> tuple[str, str]:
    """Start a login; return the IdP URL's AuthnRequest id and RelayState."""
    response = org.client.get(
        "/sso/login",
        params={"org": org.slug, "return_to": return_to},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    query = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    request = etree.fromstring(decode_message(query["SAMLRequest"]))
    return request.get("ID"), query["RelayState"]


def _response(
    connection: Any,
    request_id: str | None,
    user: str,
    base_url: str = BASE_URL,
    **changes: Any,
) -> str:
    """Sign a Response of the test IdP for ``user`` to the connection's ACS."""
    paths = saml_paths(base_url, connection.org_id, connection.id)
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
        authn_instant=now - timedelta(seconds=10),
        session_not_on_or_after=now + timedelta(hours=8),
        name_id=user,
        **({"attributes": {"email": [user], "groups": ["engineering"]}} | changes),
    )
    return to_base64(signed_response(spec)).decode()


def _acs(
    org: ScimOrg, connection: Any, saml_response: str, relay_state: str | None
) -> Any:
    form = {"SAMLResponse": saml_response}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return org.client.post(
        f"/sso/saml/{connection.org_id}/{connection.id}/acs",
        data=form,
        follow_redirects=False,
    )


def _sign_in(org: ScimOrg, connection: Any, user_name: str) -> Any:
    """Start a login and post the IdP's Response for ``user_name`` to the ACS."""
    request_id, relay_state = _start(org)
    return _acs(
        org, connection, _response(connection, request_id, user_name), relay_state
    )


def _session(org: ScimOrg) -> Any:
    return org.client.get("/sso/session")


@pytest.fixture(autouse=True)
def _fresh_cookies(org: ScimOrg) -> Any:
    org.client.cookies.clear()
    yield
    org.client.cookies.clear()


def test_saml_login_then_scim_deactivation(org: ScimOrg) -> None:
    """SAML login opens a session with roles; SCIM active=false ends it at once."""
    user = org.create_user("jane.doe@corp.example")
    _map_role(org, "engineer", MappingSource.saml_attribute, "engineering", "groups")
    connection = _saml_connection(org)

    response = _sign_in(org, connection, user["userName"])
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/app/home"
    session = _session(org)
    assert session.status_code == 200
    assert session.json()["member_id"] == user["id"]
    assert session.json()["roles"] == ["engineer"]

    org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert _session(org).status_code == 401


def test_saml_assertion_replay_rejected(
    org: ScimOrg, caplog: pytest.LogCaptureFixture
) -> None:
    """A Response posted twice opens no second session."""
    user = org.create_user("replay@corp.example")
    connection = _saml_connection(org, allow_idp_initiated=True)
    saml_response = _response(connection, None, user["userName"])
    assert _acs(org, connection, saml_response, None).status_code == 303
    org.client.cookies.clear()
    with caplog.at_level(logging.WARNING, logger="scimbridge"):
        second = _acs(org, connection, saml_response, None)
    assert second.status_code == 400
    assert "contact your IT administrator" in second.text
    assert "saml.replayed" not in second.text
    assert any("saml.replayed" in record.getMessage() for record in caplog.records)
    assert _session(org).status_code == 401


def test_unsolicited_response_rejected(org: ScimOrg) -> None:
    """Without IdP-initiated opt-in, a Response no login asked for fails."""
    user = org.create_user("unsolicited@corp.example")
    connection = _saml_connection(org)
    response = _acs(
        org, connection, _response(connection, None, user["userName"]), None
    )
    assert response.status_code == 400
    assert _session(org).status_code == 401


def test_response_in_another_browser_rejected(org: ScimOrg) -> None:
    """A Response for a login started in another browser is rejected."""
    user = org.create_user("other-browser@corp.example")
    connection = _saml_connection(org)
    request_id, relay_state = _start(org)
    org.client.cookies.clear()
    response = _acs(
        org,
        connection,
        _response(connection, request_id, user["userName"]),
        relay_state,
    )
    assert response.status_code == 400
    assert _session(org).status_code == 401


def test_other_org_connection_cannot_reach_member(
    org: ScimOrg, other_org: ScimOrg
) -> None:
    """org B's IdP asserting org A's userName gets no session."""
    org.create_user("victim@corp.example")
    attacker = _saml_connection(other_org, allow_idp_initiated=True)
    response = _acs(
        other_org, attacker, _response(attacker, None, "victim@corp.example"), None
    )
    assert response.status_code == 400
    assert _session(org).status_code == 401


def test_response_for_other_connection_rejected(org: ScimOrg) -> None:
    """A Response whose audience is another connection's SP fails."""
    user = org.create_user("audience@corp.example")
    first = _saml_connection(org, allow_idp_initiated=True)
    second = _saml_connection(org, allow_idp_initiated=True)
    response = _acs(org, second, _response(first, None, user["userName"]), None)
    assert response.status_code == 400


def test_sp_metadata_served(org: ScimOrg) -> None:
    """Each SAML connection serves SP metadata with its entity id and ACS URL."""
    connection = _saml_connection(org)
    paths = saml_paths(BASE_URL, connection.org_id, connection.id)
    response = org.client.get(f"/sso/saml/{connection.org_id}/{connection.id}/metadata")
    assert response.status_code == 200
    assert paths["acs_url"].encode() in response.content
    assert f'entityID="{paths["entity_id"]}"'.encode() in response.content


def test_home_realm_discovery_hides_unknown(org: ScimOrg) -> None:
    """Unknown emails and orgs get the same page as an org without connections."""
    unknown = org.client.get("/sso/login", params={"email": "x@nowhere.example"})
    missing = org.client.get("/sso/login", params={"org": "no-such-org-123"})
    bare = org.client.get("/sso/login", params={"org": org.slug})
    assert unknown.status_code == missing.status_code == bare.status_code == 200
    assert unknown.text == missing.text == bare.text


def test_several_connections_offer_a_choice(org: ScimOrg) -> None:
    """With two enabled connections, the user chooses one."""
    first = _saml_connection(org)
    second = _saml_connection(org)
    page = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    assert page.status_code == 200
    assert str(first.id) in page.text
    assert str(second.id) in page.text


def test_open_redirect_blocked(org: ScimOrg) -> None:
    """A return_to that leaves the site is replaced by /."""
    user = org.create_user("redirect@corp.example")
    connection = _saml_connection(org)
    request_id, relay_state = _start(org, return_to="//evil.example/steal")
    response = _acs(
        org,
        connection,
        _response(connection, request_id, user["userName"]),
        relay_state,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_home_page_shows_session(org: ScimOrg) -> None:
    """The site root, where a login without return_to lands, shows the session."""
    signed_out = org.client.get("/")
    assert signed_out.status_code == 200
    assert "You are not signed in" in signed_out.text

    _signed_in(org, "home@corp.example")

    signed_in = org.client.get("/")
    assert signed_in.status_code == 200
    assert "You are signed in" in signed_in.text


def test_logout_ends_session(org: ScimOrg) -> None:
    """POST /sso/logout ends the session and redirects to the IdP's SLO."""
    user = org.create_user("logout@corp.example")
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])
    assert _session(org).status_code == 200
    response = org.client.post("/sso/logout", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        "https://idp.example.com/saml/slo?SAMLRequest="
    )
    assert _session(org).status_code == 401


def _oidc_setup(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> tuple[TestProvider, Any]:
    """Route the app's provider calls to a test provider, for this test only."""
    provider = TestProvider(keys=ProviderKeys.generate(), now=time.time)
    services = _services(org)
    http = ProviderHttp(provider.client(), OidcSettings(allow_loopback_http=True))
    monkeypatch.setattr(services.logins, "_http", http)
    monkeypatch.setattr(services.logins, "_jwks", JwksCache(http))
    monkeypatch.setattr(services.logins, "_parties", {})

    async def create() -> Any:
        return await create_oidc_connection(
            services.signin,
            http,
            uuid.UUID(org.id),
            name="Corp OIDC",
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            base_url=BASE_URL,
        )

    return provider, _run(org, create)


def test_oidc_login_then_scim_delete(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OIDC login opens a session; SCIM DELETE ends it at once."""
    provider, connection = _oidc_setup(org, monkeypatch)
    user = org.create_user("jane.doe@acme.example")
    start = org.client.get(
        "/sso/login",
        params={"org": org.slug, "return_to": "/dash"},
        follow_redirects=False,
    )
    assert start.status_code == 303, start.text
    params = provider.authorize(start.headers["location"])
    callback = org.client.get(
        f"/sso/oidc/{connection.org_id}/{connection.id}/callback",
        params=params,
        follow_redirects=False,
    )
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/dash"
    session = _session(org)
    assert session.status_code == 200
    assert session.json()["member_id"] == user["id"]

    assert org.delete(f"/Users/{user['id']}").status_code == 204
    assert _session(org).status_code == 401


def test_oidc_state_replay_rejected(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback replayed after use opens no session."""
    provider, connection = _oidc_setup(org, monkeypatch)
    org.create_user("jane.doe@acme.example")
    start = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    params = provider.authorize(start.headers["location"])
    path = f"/sso/oidc/{connection.org_id}/{connection.id}/callback"
    assert (
        org.client.get(path, params=params, follow_redirects=False).status_code == 303
    )
    org.client.cookies.clear()
    replay = org.client.get(path, params=params, follow_redirects=False)
    assert replay.status_code == 400
    assert _session(org).status_code == 401


def test_oidc_repeated_parameter_rejected(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback that repeats state opens no session, whichever copy is valid."""
    provider, connection = _oidc_setup(org, monkeypatch)
    org.create_user("jane.doe@acme.example")
    start = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    params = provider.authorize(start.headers["location"])
    query = [("state", "forged"), *params.items()]
    path = f"/sso/oidc/{connection.org_id}/{connection.id}/callback"

    callback = org.client.get(path, params=query, follow_redirects=False)

    assert callback.status_code == 400
    assert _session(org).status_code == 401


def test_scim_group_change_updates_session_roles(org: ScimOrg) -> None:
    """Adding the member to a mapped SCIM group updates its open session's roles."""
    user = org.create_user("roles@corp.example")
    _map_role(org, "billing-manager", MappingSource.scim_group, "Billing")
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])
    assert _session(org).json()["roles"] == []
    org.create_group("Billing", [user["id"]])
    assert _session(org).json()["roles"] == ["billing-manager"]


def test_group_change_keeps_claim_roles(org: ScimOrg) -> None:
    """A SCIM group change keeps the roles that the login's SAML attributes granted."""
    user = org.create_user("claims@corp.example")
    _map_role(org, "engineer", MappingSource.saml_attribute, "engineering", "groups")
    _map_role(org, "billing-manager", MappingSource.scim_group, "Finance")
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])
    assert _session(org).json()["roles"] == ["engineer"]

    org.create_group("Finance", [user["id"]])

    assert _session(org).json()["roles"] == ["billing-manager", "engineer"]


def test_login_rereads_roles_after_session(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group change committed during a login leaves the new session current.

    The change refreshes the member's sessions before the new one exists, so
    the login reads the roles again once it has created the session. The fake
    returns the roles as read before a change removed "admin".
    """
    user = org.create_user("race-roles@corp.example")
    services = _services(org)
    current_sources = services.signin.role_sources

    async def stale_at_login(
        org_id: uuid.UUID, member_id: uuid.UUID, login: Any = None
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        directory, claims = await current_sources(org_id, member_id, login)
        if login is not None:
            return ("admin",), claims
        return directory, claims

    monkeypatch.setattr(services.signin, "role_sources", stale_at_login)
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])

    assert _session(org).json()["roles"] == []


def test_saml_acs_disabled_connection(org: ScimOrg) -> None:
    """An IdP-initiated response to a disabled connection opens no session."""
    user = org.create_user("disabled-saml@corp.example")
    connection = _saml_connection(org, allow_idp_initiated=True)
    services = _services(org)
    _run(
        org,
        lambda: services.signin.update_connection(
            connection.org_id, connection.id, enabled=False
        ),
    )

    response = _acs(
        org, connection, _response(connection, None, user["userName"]), None
    )

    assert response.status_code == 400
    assert _session(org).status_code == 401


def test_saml_login_disabled_midway(org: ScimOrg) -> None:
    """A login started before the connection was disabled cannot finish."""
    user = org.create_user("disabled-midway@corp.example")
    connection = _saml_connection(org)
    request_id, relay_state = _start(org)
    services = _services(org)
    _run(
        org,
        lambda: services.signin.update_connection(
            connection.org_id, connection.id, enabled=False
        ),
    )

    response = _acs(
        org,
        connection,
        _response(connection, request_id, user["userName"]),
        relay_state,
    )

    assert response.status_code == 400
    assert _session(org).status_code == 401


def test_oidc_callback_disabled_connection(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OIDC login started before the connection was disabled cannot finish."""
    provider, connection = _oidc_setup(org, monkeypatch)
    org.create_user("jane.doe@acme.example")
    start = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    params = provider.authorize(start.headers["location"])
    services = _services(org)
    _run(
        org,
        lambda: services.signin.update_connection(
            connection.org_id, connection.id, enabled=False
        ),
    )
    path = f"/sso/oidc/{connection.org_id}/{connection.id}/callback"

    callback = org.client.get(path, params=params, follow_redirects=False)

    assert callback.status_code == 400
    assert _session(org).status_code == 401


def test_role_refresh_stale_read(org: ScimOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh that read roles before a newer change cannot write them last.

    Two group changes refresh the same session concurrently: the refresh of
    the older change reads the roles, the newer one reads and writes its
    roles, then the older one writes. The fake ``roles_of`` returns the
    older roles once, as that interleaving would.
    """
    user = org.create_user("stale-roles@corp.example")
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])
    assert _session(org).json()["roles"] == []
    services = _services(org)
    current_roles = services.signin.roles_of
    reads: list[tuple[str, ...]] = []

    async def roles_of(org_id: uuid.UUID, member_id: uuid.UUID) -> tuple[str, ...]:
        roles: tuple[str, ...] = ("admin",)
        if reads:
            roles = await current_roles(org_id, member_id)
        reads.append(roles)
        return roles

    monkeypatch.setattr(services.signin, "roles_of", roles_of)
    org_id, member_id = uuid.UUID(org.id), uuid.UUID(user["id"])

    _run(org, lambda: services.logins.refresh_roles(org_id, (member_id,)))

    assert _session(org).json()["roles"] == []


def test_role_refresh_unsettled_revokes(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roles that change on every read end the session instead of going stale."""
    user = org.create_user("unsettled-roles@corp.example")
    connection = _saml_connection(org)
    _sign_in(org, connection, user["userName"])
    services = _services(org)
    reads: list[tuple[str, ...]] = []

    async def roles_of(org_id: uuid.UUID, member_id: uuid.UUID) -> tuple[str, ...]:
        reads.append((f"role-{len(reads)}",))
        return reads[-1]

    monkeypatch.setattr(services.signin, "roles_of", roles_of)
    org_id, member_id = uuid.UUID(org.id), uuid.UUID(user["id"])

    _run(org, lambda: services.logins.refresh_roles(org_id, (member_id,)))

    assert _session(org).status_code == 401


def test_oidc_logout_redirects_to_end_session(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logout of an OIDC session ends it and sends the browser to the provider."""
    provider, connection = _oidc_setup(org, monkeypatch)
    provider.discovery["end_session_endpoint"] = f"{provider.issuer}/logout"
    monkeypatch.setattr(_services(org).logins, "_parties", {})
    org.create_user("jane.doe@acme.example")
    start = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    params = provider.authorize(start.headers["location"])
    path = f"/sso/oidc/{connection.org_id}/{connection.id}/callback"
    assert (
        org.client.get(path, params=params, follow_redirects=False).status_code == 303
    )
    response = org.client.post("/sso/logout", follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{provider.issuer}/logout?client_id=")
    assert (
        "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Fsso%2Flogged-out"
        in location
    )
    assert _session(org).status_code == 401


def test_long_replay_keys_stay_distinct() -> None:
    """Assertion keys past the store's limit are hashed, never cut to collide."""
    connection_id = uuid.uuid4()
    shared = "x" * 2000

    first = replay_key(connection_id, shared + "a")
    second = replay_key(connection_id, shared + "b")

    assert first != second
    assert len(first) <= MAX_KEY_LENGTH
    assert replay_key(connection_id, "idp:_a1") == f"{connection_id}:idp:_a1"


# IdP-initiated Single Logout (HTTP-Redirect)

IDP_SLO_URL = "https://idp.example.com/saml/slo"


def _logout_request(
    connection: Any,
    name_id: str,
    *,
    session_index: str | None = None,
    signed: bool = True,
    issuer: str = IDP_ENTITY_ID,
) -> str:
    """Return the SLO path and query of an IdP LogoutRequest for ``name_id``."""
    paths = saml_paths(BASE_URL, connection.org_id, connection.id)
    request = etree.Element(
        f"{{{names.SAMLP}}}LogoutRequest",
        nsmap={"samlp": names.SAMLP, "saml": names.SAML},
        ID=f"_l{uuid.uuid4().hex}",
        Version="2.0",
        IssueInstant=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        Destination=paths["slo_url"],
    )
    etree.SubElement(request, names.ISSUER).text = issuer
    etree.SubElement(request, names.NAME_ID).text = name_id
    if session_index is not None:
        etree.SubElement(request, f"{{{names.SAMLP}}}SessionIndex").text = session_index
    url = build_redirect_url(
        paths["slo_url"],
        etree.tostring(request),
        relay_state="idp-state",
        signing_key_pem=idp_key().key_pem if signed else None,
    )
    return url.removeprefix(BASE_URL)


def _signed_in(org: ScimOrg, email: str) -> tuple[Any, dict[str, Any]]:
    user = org.create_user(email)
    connection = _saml_connection(org)
    response = _sign_in(org, connection, email)
    assert response.status_code == 303, response.text
    assert _session(org).status_code == 200
    return connection, user


def test_idp_logout_ends_session(org: ScimOrg) -> None:
    """A signed LogoutRequest from the IdP ends the session and gets a response."""
    connection, user = _signed_in(org, "slo@corp.example")

    response = org.client.get(
        _logout_request(connection, user["userName"]), follow_redirects=False
    )

    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(IDP_SLO_URL + "?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["RelayState"] == "idp-state"
    logout_response = etree.fromstring(decode_message(query["SAMLResponse"]))
    assert logout_response.tag == f"{{{names.SAMLP}}}LogoutResponse"
    assert logout_response.get("InResponseTo", "").startswith("_l")
    status = logout_response.find(
        f"{{{names.SAMLP}}}Status/{{{names.SAMLP}}}StatusCode"
    )
    assert status is not None
    assert status.get("Value") == names.STATUS_SUCCESS
    assert _session(org).status_code == 401


def test_idp_logout_unsigned_rejected(org: ScimOrg) -> None:
    """An unsigned LogoutRequest changes nothing: anyone could send one."""
    connection, user = _signed_in(org, "slo-unsigned@corp.example")

    response = org.client.get(
        _logout_request(connection, user["userName"], signed=False),
        follow_redirects=False,
    )

    assert response.status_code == 400
    assert _session(org).status_code == 200


def test_idp_logout_other_user_keeps_session(org: ScimOrg) -> None:
    """A LogoutRequest for another NameID or SessionIndex leaves this session."""
    connection, user = _signed_in(org, "slo-other@corp.example")

    for path in (
        _logout_request(connection, "someone.else@corp.example"),
        _logout_request(connection, user["userName"], session_index="_other"),
    ):
        response = org.client.get(path, follow_redirects=False)
        assert response.status_code == 303, response.text
        assert _session(org).status_code == 200


def test_idp_logout_wrong_issuer_rejected(org: ScimOrg) -> None:
    """A LogoutRequest whose Issuer is not the connection's IdP is rejected."""
    connection, user = _signed_in(org, "slo-issuer@corp.example")

    response = org.client.get(
        _logout_request(connection, user["userName"], issuer="https://evil.example"),
        follow_redirects=False,
    )

    assert response.status_code == 400
    assert _session(org).status_code == 200


def test_idp_logout_replay_rejected(org: ScimOrg) -> None:
    """A LogoutRequest works once: replayed, it cannot end the next session."""
    connection, user = _signed_in(org, "slo-replay@corp.example")
    path = _logout_request(connection, user["userName"])
    first = org.client.get(path, follow_redirects=False)
    assert first.status_code == 303, first.text
    login = _sign_in(org, connection, user["userName"])
    assert login.status_code == 303, login.text

    replayed = org.client.get(path, follow_redirects=False)

    assert replayed.status_code == 400
    assert _session(org).status_code == 200


def test_idp_logout_encoded_relay_state_rejected(org: ScimOrg) -> None:
    """An unsigned RelayState spelled Relay%53tate never reaches the IdP."""
    connection, user = _signed_in(org, "slo-relay@corp.example")
    path = _logout_request(connection, user["userName"])

    response = org.client.get(
        path + "&Relay%53tate=https%3A%2F%2Fevil.example%2F", follow_redirects=False
    )

    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("location", "")
    assert _session(org).status_code == 200
