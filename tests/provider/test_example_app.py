"""End to end on real sockets: IdP, scimbridge, and the example app.

scimbridge and the example app each run in uvicorn on 127.0.0.1. A browser
(an httpx client with a cookie jar) signs in to the app through scimbridge,
once through an organization's SAML connection (the test IdP signs the
Response) and once through another organization's OIDC connection (the
respx test provider). The app redeems the code with authlib's client. Then a
SCIM deactivation makes introspection report the tokens inactive and sends a
back-channel logout to the app, which ends its session.
"""

import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from lxml import etree
from lxml import html as lxml_html

from examples.app import create_app as create_example_app
from examples.dev_idp import create_app as create_dev_idp
from scimbridge.app import create_app
from scimbridge.config import Settings
from scimbridge.services import Services
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.jwks import JwksCache
from scimbridge.sso.oidc.settings import OidcSettings
from scimbridge.sso.saml.bindings import decode_message
from tests.conftest import ADMIN_TOKEN, ScimOrg
from tests.provider.live import free_port, serve
from tests.sso.oidc.provider import CLIENT_ID, CLIENT_SECRET, ProviderKeys, TestProvider
from tests.sso.saml.idp import idp_metadata
from tests.sso.test_login_flows import _response

SCIM_JSON = "application/scim+json"


class Stack:
    """The running servers, the registered app and a browser."""

    def __init__(self, scimbridge: str, app: str, services: Services) -> None:
        self.scimbridge = scimbridge
        self.app = app
        self.services = services
        self.browser = httpx.Client(follow_redirects=False, timeout=20)
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def scim(self, org: ScimOrg, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {org.token}", "Content-Type": SCIM_JSON}
        return httpx.request(
            method,
            f"{self.scimbridge}/scim/v2{path}",
            json=body,
            headers=headers,
            timeout=20,
        )

    def go(self, url: str) -> httpx.Response:
        """Follow one redirect; a relative one stays on scimbridge."""
        if url.startswith("/"):
            url = f"{self.scimbridge}{url}"
        return self.browser.get(url)


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    scimbridge_port, app_port = free_port(), free_port()
    scimbridge_url = f"http://127.0.0.1:{scimbridge_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    live_settings = settings.model_copy(update={"base_url": scimbridge_url})
    scimbridge_app = create_app(live_settings)
    services: Services = scimbridge_app.state.services
    with serve(scimbridge_app, scimbridge_port):
        registered = httpx.post(
            f"{scimbridge_url}/admin/apps",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={
                "name": "Example app",
                "redirect_uris": [f"{app_url}/callback"],
                "post_logout_redirect_uris": [f"{app_url}/"],
                "backchannel_logout_uri": f"{app_url}/backchannel-logout",
            },
        )
        assert registered.status_code == 201, registered.text
        body = registered.json()
        example = create_example_app(
            issuer=scimbridge_url,
            client_id=body["client_id"],
            client_secret=body["client_secret"],
            url=app_url,
        )
        with serve(example, app_port):
            stack = Stack(scimbridge_url, app_url, services)
            stack.client_id = body["client_id"]  # type: ignore[attr-defined]
            stack.client_secret = body["client_secret"]  # type: ignore[attr-defined]
            yield stack
            stack.browser.close()


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _saml_connection(stack: Stack, org: ScimOrg) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.scimbridge}/admin/organizations/{org.slug}/connections/saml",
        headers=stack.admin,
        json={"name": "Corp SAML", "metadata_xml": idp_metadata().decode()},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _saml_response(
    stack: Stack, org: ScimOrg, connection: dict[str, Any], request_id: str, user: str
) -> str:
    target = SimpleNamespace(org_id=uuid.UUID(org.id), id=uuid.UUID(connection["id"]))
    attributes = {"email": [user], "groups": ["finance"]}
    return _response(target, request_id, user, stack.scimbridge, attributes=attributes)


def _provision(stack: Stack, org: ScimOrg, user_name: str) -> dict[str, Any]:
    created = stack.scim(
        org,
        "POST",
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": user_name, "primary": True}],
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def _wait_signed_out(stack: Stack, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stack.go(f"{stack.app}/").json()["signed_in"] is False:
            return True
        time.sleep(0.1)
    return False


def test_saml_login_then_deprovisioning(stack: Stack, org: ScimOrg) -> None:
    user = _provision(stack, org, "ada@corp.example")
    role = httpx.post(
        f"{stack.scimbridge}/admin/organizations/{org.slug}/roles",
        headers=stack.admin,
        json={"name": "billing-manager"},
    )
    assert role.status_code == 201, role.text
    mapping = httpx.post(
        f"{stack.scimbridge}/admin/organizations/{org.slug}/role-mappings",
        headers=stack.admin,
        json={
            "role_id": role.json()["id"],
            "source": "saml_attribute",
            "attribute": "groups",
            "value": "finance",
        },
    )
    assert mapping.status_code == 201, mapping.text
    connection = _saml_connection(stack, org)

    # The app sends the browser to scimbridge, which sends it to the IdP.
    to_scimbridge = stack.go(f"{stack.app}/login?org={org.slug}")
    assert to_scimbridge.status_code in (302, 303, 307)
    assert to_scimbridge.headers["location"].startswith(
        f"{stack.scimbridge}/oauth2/authorize?"
    )
    to_login = stack.go(to_scimbridge.headers["location"])
    to_idp = stack.go(to_login.headers["location"])
    idp_query = _query(to_idp.headers["location"])
    request_id = etree.fromstring(decode_message(idp_query["SAMLRequest"])).get("ID")

    # The IdP posts its signed Response to the ACS.
    acs = stack.browser.post(
        f"{stack.scimbridge}/sso/saml/{org.id}/{connection['id']}/acs",
        data={
            "SAMLResponse": _saml_response(
                stack, org, connection, request_id, "ada@corp.example"
            ),
            "RelayState": idp_query["RelayState"],
        },
    )
    assert acs.status_code == 303, acs.text
    resume = stack.go(acs.headers["location"])
    callback = resume.headers["location"]
    assert callback.startswith(f"{stack.app}/callback?")
    assert _query(callback)["iss"] == stack.scimbridge
    landed = stack.go(callback)
    assert landed.status_code == 303, landed.text
    home = stack.go(f"{stack.app}/").json()
    assert home["signed_in"] is True
    claims = home["claims"]
    assert claims["sub"] == user["id"]
    assert claims["org_id"] == org.id
    assert claims["org_slug"] == org.slug
    assert claims["roles"] == ["billing-manager"]
    assert claims["email"] == "ada@corp.example"
    assert claims["name"] == "Ada Lovelace"

    # authlib's client against the live token endpoint: code, refresh, reuse.
    tokens = _tokens_with_authlib(stack)
    introspection = _introspect(stack, tokens["access_token"])
    assert introspection["active"] is True
    assert introspection["org_id"] == org.id

    # SCIM deactivation: tokens inactive, and the app hears it.
    deactivated = stack.scim(
        org,
        "PATCH",
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert deactivated.status_code == 200, deactivated.text
    assert _introspect(stack, tokens["access_token"]) == {"active": False}
    assert _wait_signed_out(stack), "the app did not receive the back-channel logout"
    deliveries = httpx.get(
        f"{stack.scimbridge}/admin/organizations/{org.slug}/logout-deliveries",
        params={"member_id": user["id"]},
        headers=stack.admin,
    ).json()["deliveries"]
    assert {item["status"] for item in deliveries} == {"delivered"}


def _tokens_with_authlib(stack: Stack) -> dict[str, Any]:
    """Run a second authorization with authlib's client, on the browser session."""
    import asyncio

    async def flow() -> dict[str, Any]:
        async with AsyncOAuth2Client(
            client_id=stack.client_id,  # type: ignore[attr-defined]
            client_secret=stack.client_secret,  # type: ignore[attr-defined]
            scope="openid email",
            redirect_uri=f"{stack.app}/callback",
            code_challenge_method="S256",
        ) as client:
            verifier = "v" * 20 + uuid.uuid4().hex + uuid.uuid4().hex
            url, state = client.create_authorization_url(
                f"{stack.scimbridge}/oauth2/authorize",
                code_verifier=verifier,
                nonce="n-1",
            )
            answer = stack.go(url)
            params = _query(answer.headers["location"])
            assert params["state"] == state
            token = await client.fetch_token(
                f"{stack.scimbridge}/oauth2/token",
                code=params["code"],
                code_verifier=verifier,
            )
            first_refresh = token["refresh_token"]
            rotated = await client.refresh_token(
                f"{stack.scimbridge}/oauth2/token", refresh_token=first_refresh
            )
            assert rotated["refresh_token"] != first_refresh
            with pytest.raises(Exception, match="invalid_grant"):
                await client.refresh_token(
                    f"{stack.scimbridge}/oauth2/token", refresh_token=first_refresh
                )
            # Reuse revoked the family: the rotated tokens are dead too.
            assert _introspect(stack, rotated["access_token"]) == {"active": False}
            fresh = stack.go(
                client.create_authorization_url(
                    f"{stack.scimbridge}/oauth2/authorize",
                    code_verifier=verifier,
                    nonce="n-2",
                )[0]
            )
            code = _query(fresh.headers["location"])["code"]
            return dict(
                await client.fetch_token(
                    f"{stack.scimbridge}/oauth2/token",
                    code=code,
                    code_verifier=verifier,
                )
            )

    return asyncio.run(flow())


def _introspect(stack: Stack, token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.scimbridge}/oauth2/introspect",
        data={"token": token},
        auth=(stack.client_id, stack.client_secret),  # type: ignore[attr-defined]
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_oidc_member_signs_in_to_the_app(
    stack: Stack, other_org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = TestProvider(keys=ProviderKeys.generate(), now=time.time)
    http = ProviderHttp(provider.client(), OidcSettings(allow_loopback_http=True))
    monkeypatch.setattr(stack.services.logins, "_http", http)
    monkeypatch.setattr(stack.services.logins, "_jwks", JwksCache(http))
    user = _provision(stack, other_org, "jane.doe@acme.example")
    created = httpx.post(
        f"{stack.scimbridge}/admin/organizations/{other_org.slug}/connections/oidc",
        headers=stack.admin,
        json={
            "name": "Acme OIDC",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert created.status_code == 201, created.text

    to_scimbridge = stack.go(f"{stack.app}/login?org={other_org.slug}")
    to_login = stack.go(to_scimbridge.headers["location"])
    to_provider = stack.go(to_login.headers["location"])
    assert to_provider.headers["location"].startswith(f"{provider.issuer}/authorize?")
    params = provider.authorize(to_provider.headers["location"])
    connection_id = created.json()["id"]
    callback = stack.browser.get(
        f"{stack.scimbridge}/sso/oidc/{other_org.id}/{connection_id}/callback",
        params=params,
    )
    assert callback.status_code == 303, callback.text
    resume = stack.go(callback.headers["location"])
    landed = stack.go(resume.headers["location"])
    assert landed.status_code == 303, landed.text
    claims = stack.go(f"{stack.app}/").json()["claims"]
    assert claims["sub"] == user["id"]
    assert claims["org_slug"] == other_org.slug
    assert claims["connection_id"] == connection_id

    deleted = stack.scim(other_org, "DELETE", f"/Users/{user['id']}")
    assert deleted.status_code == 204
    assert _wait_signed_out(stack)


def _form_fields(html: str) -> dict[str, str]:
    """Read the hidden and named inputs of the first form on a page."""
    document = lxml_html.fromstring(html)
    form = document.forms[0]
    return {name: value or "" for name, value in form.form_values()}


def test_quickstart_path_with_the_development_idp(stack: Stack, org: ScimOrg) -> None:
    """The README's path: dev IdP, scimbridge and the example app on loopback."""
    idp_port = free_port()
    idp_url = f"http://127.0.0.1:{idp_port}"
    with serve(create_dev_idp(idp_url), idp_port):
        metadata = httpx.get(f"{idp_url}/metadata").text
        created = httpx.post(
            f"{stack.scimbridge}/admin/organizations/{org.slug}/connections/saml",
            headers=stack.admin,
            json={"name": "Dev IdP", "metadata_xml": metadata},
        )
        assert created.status_code == 201, created.text
        user = _provision(stack, org, "grace@corp.example")

        to_scimbridge = stack.go(f"{stack.app}/login?org={org.slug}")
        to_login = stack.go(to_scimbridge.headers["location"])
        to_idp = stack.go(to_login.headers["location"])
        assert to_idp.headers["location"].startswith(f"{idp_url}/sso?")
        login_page = stack.go(to_idp.headers["location"])
        fields = _form_fields(login_page.text) | {"email": "grace@corp.example"}
        posted = stack.browser.post(f"{idp_url}/sso/login", data=fields)
        acs_fields = _form_fields(posted.text)
        acs_url = lxml_html.fromstring(posted.text).forms[0].action
        acs = stack.browser.post(acs_url, data=acs_fields)
        assert acs.status_code == 303, acs.text
        resume = stack.go(acs.headers["location"])
        landed = stack.go(resume.headers["location"])
        assert landed.status_code == 303, landed.text
        claims = stack.go(f"{stack.app}/").json()["claims"]
        assert claims["sub"] == user["id"]
        assert claims["email"] == "grace@corp.example"

        deleted = stack.scim(org, "DELETE", f"/Users/{user['id']}")
        assert deleted.status_code == 204
        assert _wait_signed_out(stack)
