"""The delegated admin endpoints, called by the platform admin and by org admins.

Tests that take ``caller`` run once with the platform admin token and once
with the organization's own admin token.
"""

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimbridge.directory.access import ConnectionKind
from scimbridge.services import Services
from tests.admin.org_admin import (
    PLATFORM,
    Tenant,
    assert_admin_error,
    new_tenant,
    unique_domain,
)

POLICY = {
    "link_by": "externalId",
    "jit_provisioning": True,
    "session_lifetime_seconds": 3600,
}


@pytest.fixture
def acme(client: TestClient) -> Tenant:
    return new_tenant(client)


@pytest.fixture
def globex(client: TestClient) -> Tenant:
    return new_tenant(client)


@pytest.fixture(params=["platform", "org_admin"])
def caller(request: pytest.FixtureRequest, acme: Tenant) -> dict[str, str]:
    """The headers of the platform admin or of acme's org admin."""
    return PLATFORM if request.param == "platform" else acme.headers


def _post(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=headers)


def _create(client: TestClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = client.post(f"{tenant.path}{path}", json=body, headers=PLATFORM)
    assert response.status_code == 201, response.text
    return response.json()


def _add_connection(
    client: TestClient, tenant: Tenant, kind: ConnectionKind
) -> uuid.UUID:
    services: Services = client.app.state.services  # type: ignore[attr-defined]

    async def add() -> uuid.UUID:
        connection = await services.signin.add_connection(
            uuid.UUID(tenant.id), kind, "Corp IdP", {"issuer": "https://idp"}, {}
        )
        return connection.id

    assert client.portal is not None
    return client.portal.call(add)


# Organization and SCIM tokens


def test_org_admin_reads_own_org(client: TestClient, acme: Tenant) -> None:
    response = client.get(acme.path, headers=acme.headers)

    assert response.status_code == 200
    assert response.json()["id"] == acme.id
    assert response.json()["slug"] == acme.slug


def test_org_admin_rotates_scim_tokens(client: TestClient, acme: Tenant) -> None:
    """An org admin creates a new SCIM token, checks it works, then revokes the old."""
    old = _post(client, f"{acme.path}/scim-tokens", None, acme.headers).json()
    new = _post(client, f"{acme.path}/scim-tokens", None, acme.headers).json()

    listed = client.get(f"{acme.path}/scim-tokens", headers=acme.headers)
    revoke = client.delete(
        f"{acme.path}/scim-tokens/{old['prefix']}", headers=acme.headers
    )

    assert new["token"].startswith("scim_")
    assert [t["prefix"] for t in listed.json()["tokens"]] == [
        old["prefix"],
        new["prefix"],
    ]
    assert new["token"] not in listed.text
    assert revoke.status_code == 204
    old_auth = {"Authorization": f"Bearer {old['token']}"}
    new_auth = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/scim/v2/Users", headers=old_auth).status_code == 401
    assert client.get("/scim/v2/Users", headers=new_auth).status_code == 200


# Org admin tokens


def test_create_admin_token(client: TestClient, acme: Tenant) -> None:
    """A new admin token is shown once and manages its organization."""
    response = _post(client, f"{acme.path}/admin-tokens", None, PLATFORM)

    assert response.status_code == 201
    issued = response.json()
    assert set(issued) == {"token", "prefix", "org_id", "created_at"}
    assert issued["org_id"] == acme.id
    assert issued["token"].startswith(f"oadm_{uuid.UUID(acme.id).hex}_")
    assert issued["prefix"] in issued["token"]
    auth = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get(f"{acme.path}/roles", headers=auth).status_code == 200


def test_list_admin_tokens_hides_secrets(client: TestClient, acme: Tenant) -> None:
    second = _post(client, f"{acme.path}/admin-tokens", None, PLATFORM).json()

    response = client.get(f"{acme.path}/admin-tokens", headers=PLATFORM)

    assert response.status_code == 200
    tokens = response.json()["tokens"]
    assert [t["prefix"] for t in tokens] == [acme.prefix, second["prefix"]]
    for token in tokens:
        assert set(token) == {"prefix", "created_at", "last_used_at", "revoked_at"}
    assert acme.token not in response.text
    assert second["token"] not in response.text


def test_revoke_admin_token(client: TestClient, acme: Tenant) -> None:
    """Revoking gives 204, is listed, and the token stops working at once."""
    assert client.get(acme.path, headers=acme.headers).status_code == 200

    response = client.delete(
        f"{acme.path}/admin-tokens/{acme.prefix}", headers=PLATFORM
    )

    assert response.status_code == 204
    assert response.content == b""
    tokens = client.get(f"{acme.path}/admin-tokens", headers=PLATFORM).json()
    assert tokens["tokens"][0]["revoked_at"] is not None
    assert_admin_error(
        client.get(acme.path, headers=acme.headers), 401, "invalid_token"
    )


def test_revoke_admin_token_twice_gets_404(client: TestClient, acme: Tenant) -> None:
    path = f"{acme.path}/admin-tokens/{acme.prefix}"
    assert client.delete(path, headers=PLATFORM).status_code == 204

    for prefix in (acme.prefix, "ffffffff"):
        response = client.delete(f"{acme.path}/admin-tokens/{prefix}", headers=PLATFORM)
        assert_admin_error(response, 404, "not_found")
        assert prefix in response.json()["error_description"]


def test_admin_tokens_stay_in_their_org(
    client: TestClient, acme: Tenant, globex: Tenant
) -> None:
    """Revoking acme's prefix under globex finds nothing and leaves it active."""
    response = client.delete(
        f"{globex.path}/admin-tokens/{acme.prefix}", headers=PLATFORM
    )

    assert_admin_error(response, 404, "not_found")
    assert client.get(acme.path, headers=acme.headers).status_code == 200


def test_admin_tokens_of_unknown_org_get_404(client: TestClient) -> None:
    for method, path in (
        ("POST", "/admin/organizations/nobody/admin-tokens"),
        ("GET", "/admin/organizations/nobody/admin-tokens"),
        ("DELETE", "/admin/organizations/nobody/admin-tokens/0000abcd"),
    ):
        response = client.request(method, path, headers=PLATFORM)
        assert_admin_error(response, 404, "not_found")


# Domains


def test_add_domain(client: TestClient, acme: Tenant, caller: dict[str, str]) -> None:
    """A domain is stored in lowercase without a trailing dot, unverified."""
    domain = unique_domain()

    response = _post(
        client, f"{acme.path}/domains", {"domain": f" {domain.upper()}. "}, caller
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"domain", "verified", "created_at"}
    assert body["domain"] == domain
    assert body["verified"] is False


def test_list_domains(client: TestClient, acme: Tenant, caller: dict[str, str]) -> None:
    names = sorted([unique_domain(), unique_domain()])
    for name in reversed(names):
        _create(client, acme, "/domains", {"domain": name})

    response = client.get(f"{acme.path}/domains", headers=caller)

    assert response.status_code == 200
    assert [d["domain"] for d in response.json()["domains"]] == names


def test_domains_stay_in_their_org(
    client: TestClient, acme: Tenant, globex: Tenant
) -> None:
    _create(client, acme, "/domains", {"domain": unique_domain()})

    response = client.get(f"{globex.path}/domains", headers=globex.headers)

    assert response.json() == {"domains": []}


def test_platform_adds_verified_domain(client: TestClient, acme: Tenant) -> None:
    response = _post(
        client,
        f"{acme.path}/domains",
        {"domain": unique_domain(), "verified": True},
        PLATFORM,
    )

    assert response.status_code == 201
    assert response.json()["verified"] is True


def test_delete_domain(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    domain = unique_domain()
    _create(client, acme, "/domains", {"domain": domain})

    response = client.delete(f"{acme.path}/domains/{domain.upper()}", headers=caller)

    assert response.status_code == 204
    assert client.get(f"{acme.path}/domains", headers=caller).json() == {"domains": []}


def test_delete_missing_domain_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """A domain of another org, an unknown one or a malformed one gets 404."""
    theirs = unique_domain()
    _create(client, globex, "/domains", {"domain": theirs})

    for domain in (theirs, unique_domain(), "not a domain"):
        response = client.delete(f"{acme.path}/domains/{domain}", headers=caller)
        assert_admin_error(response, 404, "not_found")
        assert domain in response.json()["error_description"]
    assert (
        len(client.get(f"{globex.path}/domains", headers=PLATFORM).json()["domains"])
        == 1
    )


def test_verify_domain(client: TestClient, acme: Tenant) -> None:
    domain = unique_domain()
    _create(client, acme, "/domains", {"domain": domain})

    response = client.post(f"{acme.path}/domains/{domain}/verify", headers=PLATFORM)

    assert response.status_code == 200
    assert response.json()["domain"] == domain
    assert response.json()["verified"] is True
    listed = client.get(f"{acme.path}/domains", headers=acme.headers).json()
    assert listed["domains"][0]["verified"] is True


def test_verify_missing_domain_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant
) -> None:
    theirs = unique_domain()
    _create(client, globex, "/domains", {"domain": theirs})

    for domain in (theirs, unique_domain(), "not a domain"):
        response = client.post(f"{acme.path}/domains/{domain}/verify", headers=PLATFORM)
        assert_admin_error(response, 404, "not_found")
    globex_domains = client.get(f"{globex.path}/domains", headers=PLATFORM).json()
    assert globex_domains["domains"][0]["verified"] is False


def test_domain_verified_by_one_org_only(
    client: TestClient, acme: Tenant, globex: Tenant
) -> None:
    """Both orgs may claim a domain, but only one may have it verified."""
    domain = unique_domain()
    _create(client, globex, "/domains", {"domain": domain, "verified": True})

    claimed = _post(client, f"{acme.path}/domains", {"domain": domain}, acme.headers)
    verify = client.post(f"{acme.path}/domains/{domain}/verify", headers=PLATFORM)
    add_verified = _post(
        client,
        f"{acme.path}/domains",
        {"domain": domain.upper(), "verified": True},
        PLATFORM,
    )

    assert claimed.status_code == 201
    assert_admin_error(verify, 409, "conflict")
    assert "another organization" in verify.json()["error_description"]
    assert_admin_error(add_verified, 409, "conflict")


def test_duplicate_domain_gets_409(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    domain = unique_domain()
    _create(client, acme, "/domains", {"domain": domain})

    response = _post(client, f"{acme.path}/domains", {"domain": domain}, caller)

    assert_admin_error(response, 409, "conflict")
    assert domain in response.json()["error_description"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"domain": "not a domain"}, "invalid domain"),
        ({"domain": "localhost"}, "invalid domain"),
        ({"domain": "-corp.example"}, "invalid domain"),
        ({"domain": ""}, "invalid domain"),
        ({"domain": "a" * 250 + ".example"}, "domain"),
        ({}, "domain"),
        ({"domain": 7}, "domain"),
        ({"domain": "corp.example", "verified": "yes"}, "verified"),
        ({"domain": "corp.example", "owner": "me"}, "owner"),
    ],
)
def test_invalid_domain_gets_400(
    client: TestClient,
    acme: Tenant,
    caller: dict[str, str],
    body: dict[str, Any],
    expected: str,
) -> None:
    response = _post(client, f"{acme.path}/domains", body, caller)

    assert_admin_error(response, 400, "invalid_request")
    assert expected in response.json()["error_description"]


# Login policy


def test_default_login_policy(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    response = client.get(f"{acme.path}/login-policy", headers=caller)

    assert response.status_code == 200
    assert response.json() == {
        "link_by": "userName",
        "jit_provisioning": False,
        "session_lifetime_seconds": 28800,
    }


def test_put_login_policy(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """PUT replaces the policy of this organization and no other."""
    response = client.put(f"{acme.path}/login-policy", json=POLICY, headers=caller)

    assert response.status_code == 200
    assert response.json() == POLICY
    assert client.get(f"{acme.path}/login-policy", headers=caller).json() == POLICY
    changed = {**POLICY, "link_by": "email", "jit_provisioning": False}
    client.put(f"{acme.path}/login-policy", json=changed, headers=caller)
    assert client.get(f"{acme.path}/login-policy", headers=caller).json() == changed
    globex_policy = client.get(f"{globex.path}/login-policy", headers=PLATFORM)
    assert globex_policy.json()["link_by"] == "userName"


@pytest.mark.parametrize("lifetime", [60, 30 * 24 * 3600])
def test_session_lifetime_limits_accepted(
    client: TestClient, acme: Tenant, lifetime: int
) -> None:
    body = {**POLICY, "session_lifetime_seconds": lifetime}

    response = client.put(f"{acme.path}/login-policy", json=body, headers=acme.headers)

    assert response.status_code == 200
    assert response.json()["session_lifetime_seconds"] == lifetime


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"session_lifetime_seconds": 59}, "session lifetime"),
        ({"session_lifetime_seconds": 30 * 24 * 3600 + 1}, "session lifetime"),
        ({"session_lifetime_seconds": "3600"}, "session_lifetime_seconds"),
        ({"session_lifetime_seconds": 3600.5}, "session_lifetime_seconds"),
        ({"session_lifetime_seconds": None}, "session_lifetime_seconds"),
        ({"link_by": "phone"}, "link_by"),
        ({"link_by": "username"}, "link_by"),
        ({"jit_provisioning": "yes"}, "jit_provisioning"),
        ({"jit_provisioning": 1}, "jit_provisioning"),
        ({"mfa": True}, "mfa"),
    ],
)
def test_invalid_login_policy_gets_400(
    client: TestClient,
    acme: Tenant,
    caller: dict[str, str],
    change: dict[str, Any],
    expected: str,
) -> None:
    response = client.put(
        f"{acme.path}/login-policy", json={**POLICY, **change}, headers=caller
    )

    assert_admin_error(response, 400, "invalid_request")
    assert expected in response.json()["error_description"]
    default = client.get(f"{acme.path}/login-policy", headers=caller).json()
    assert default["link_by"] == "userName"


@pytest.mark.parametrize("missing", sorted(POLICY))
def test_login_policy_put_needs_every_field(
    client: TestClient, acme: Tenant, missing: str
) -> None:
    body = {key: value for key, value in POLICY.items() if key != missing}

    response = client.put(f"{acme.path}/login-policy", json=body, headers=acme.headers)

    assert_admin_error(response, 400, "invalid_request")
    assert missing in response.json()["error_description"]


# Roles


def test_create_role(client: TestClient, acme: Tenant, caller: dict[str, str]) -> None:
    body = {
        "name": "billing-manager",
        "description": "Pays invoices",
        "permissions": ["invoices:read", "invoices:pay"],
        "is_default": True,
    }

    response = _post(client, f"{acme.path}/roles", body, caller)

    assert response.status_code == 201, response.text
    role = response.json()
    assert set(role) == {
        "id",
        "name",
        "description",
        "permissions",
        "is_default",
        "created_at",
    }
    assert uuid.UUID(role["id"])
    assert {key: role[key] for key in body} == body


def test_create_role_defaults(client: TestClient, acme: Tenant) -> None:
    role = _create(client, acme, "/roles", {"name": "member"})

    assert role["description"] == ""
    assert role["permissions"] == []
    assert role["is_default"] is False


def test_list_roles(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """Roles are listed by name, and only the organization's own."""
    for name in ("viewer", "admin", "editor"):
        _create(client, acme, "/roles", {"name": name})
    _create(client, globex, "/roles", {"name": "auditor"})

    response = client.get(f"{acme.path}/roles", headers=caller)

    assert response.status_code == 200
    names = [role["name"] for role in response.json()["roles"]]
    assert names == ["admin", "editor", "viewer"]


def test_duplicate_role_gets_409(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """A role name is unique per organization; another org may use it too."""
    _create(client, acme, "/roles", {"name": "admin"})
    _create(client, globex, "/roles", {"name": "admin"})

    response = _post(client, f"{acme.path}/roles", {"name": "admin"}, caller)

    assert_admin_error(response, 409, "conflict")
    assert "admin" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Admin"}, "invalid role name"),
        ({"name": "billing manager"}, "invalid role name"),
        ({"name": ""}, "invalid role name"),
        ({"name": "r" * 101}, "invalid role name"),
        ({}, "name"),
        ({"name": "admin", "permissions": [""]}, "permissions.0"),
        ({"name": "admin", "permissions": ["a b"]}, "whitespace"),
        ({"name": "admin", "permissions": ["a", "b", "a"]}, "repeated permissions: a"),
        ({"name": "admin", "permissions": ["p" * 201]}, "permissions.0"),
        (
            {"name": "admin", "permissions": [f"p{i}" for i in range(101)]},
            "permissions",
        ),
        ({"name": "admin", "permissions": "admin:all"}, "permissions"),
        ({"name": "admin", "description": "d" * 1001}, "description"),
        ({"name": "admin", "is_default": "true"}, "is_default"),
        ({"name": "admin", "id": str(uuid.uuid4())}, "id"),
    ],
)
def test_invalid_role_gets_400(
    client: TestClient,
    acme: Tenant,
    caller: dict[str, str],
    body: dict[str, Any],
    expected: str,
) -> None:
    response = _post(client, f"{acme.path}/roles", body, caller)

    assert_admin_error(response, 400, "invalid_request")
    assert expected in response.json()["error_description"]
    assert client.get(f"{acme.path}/roles", headers=caller).json() == {"roles": []}


def test_delete_role(client: TestClient, acme: Tenant, caller: dict[str, str]) -> None:
    """Deleting a role deletes its mappings too."""
    role = _create(client, acme, "/roles", {"name": "admin"})
    viewer = _create(client, acme, "/roles", {"name": "viewer"})
    for role_id in (role["id"], viewer["id"]):
        _create(
            client,
            acme,
            "/role-mappings",
            {"role_id": role_id, "source": "scim_group", "value": "Staff"},
        )

    response = client.delete(f"{acme.path}/roles/{role['id']}", headers=caller)

    assert response.status_code == 204
    roles = client.get(f"{acme.path}/roles", headers=caller).json()["roles"]
    assert [r["name"] for r in roles] == ["viewer"]
    mappings = client.get(f"{acme.path}/role-mappings", headers=caller).json()
    assert [m["role_id"] for m in mappings["role_mappings"]] == [viewer["id"]]


def test_delete_missing_role_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """Another org's role id, an unknown id and a malformed one all get 404."""
    theirs = _create(client, globex, "/roles", {"name": "admin"})

    for role_id in (theirs["id"], str(uuid.uuid4()), "admin", "0"):
        response = client.delete(f"{acme.path}/roles/{role_id}", headers=caller)
        assert_admin_error(response, 404, "not_found")
        assert role_id in response.json()["error_description"]
    globex_roles = client.get(f"{globex.path}/roles", headers=PLATFORM).json()
    assert [role["id"] for role in globex_roles["roles"]] == [theirs["id"]]


# Role mappings


def test_create_scim_group_mapping(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    role = _create(client, acme, "/roles", {"name": "finance"})
    body = {"role_id": role["id"], "source": "scim_group", "value": "Finance"}

    response = _post(client, f"{acme.path}/role-mappings", body, caller)

    assert response.status_code == 201, response.text
    mapping = response.json()
    assert set(mapping) == {
        "id",
        "role_id",
        "source",
        "value",
        "attribute",
        "connection_id",
        "created_at",
    }
    assert {key: mapping[key] for key in body} == body
    assert mapping["attribute"] is None
    assert mapping["connection_id"] is None
    assert mapping["created_at"] is not None


@pytest.mark.parametrize(
    ("source", "kind"),
    [("saml_attribute", ConnectionKind.saml), ("oidc_claim", ConnectionKind.oidc)],
)
def test_create_claim_mapping(
    client: TestClient,
    acme: Tenant,
    caller: dict[str, str],
    source: str,
    kind: ConnectionKind,
) -> None:
    """Attribute and claim mappings name the attribute, and may name a connection."""
    role = _create(client, acme, "/roles", {"name": "admin"})
    connection_id = _add_connection(client, acme, kind)
    body = {
        "role_id": role["id"],
        "source": source,
        "attribute": "groups",
        "value": "admins",
    }

    anywhere = _post(client, f"{acme.path}/role-mappings", body, caller)
    one_connection = _post(
        client,
        f"{acme.path}/role-mappings",
        {**body, "connection_id": str(connection_id)},
        caller,
    )

    assert anywhere.status_code == 201, anywhere.text
    assert anywhere.json()["attribute"] == "groups"
    assert anywhere.json()["connection_id"] is None
    assert one_connection.status_code == 201, one_connection.text
    assert one_connection.json()["connection_id"] == str(connection_id)


def test_mapping_connection_kind_must_match(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    """A SAML attribute mapping on an OIDC connection would never apply."""
    role = _create(client, acme, "/roles", {"name": "admin"})
    oidc = _add_connection(client, acme, ConnectionKind.oidc)
    body = {
        "role_id": role["id"],
        "source": "saml_attribute",
        "attribute": "memberOf",
        "value": "admins",
        "connection_id": str(oidc),
    }

    response = _post(client, f"{acme.path}/role-mappings", body, caller)

    assert_admin_error(response, 400, "invalid_request")
    assert "need a connection of kind saml" in response.json()["error_description"]


def test_mapping_of_other_org_connection_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    role = _create(client, acme, "/roles", {"name": "admin"})
    theirs = _add_connection(client, globex, ConnectionKind.oidc)

    for connection_id in (theirs, uuid.uuid4()):
        body = {
            "role_id": role["id"],
            "source": "oidc_claim",
            "attribute": "groups",
            "value": "admins",
            "connection_id": str(connection_id),
        }
        response = _post(client, f"{acme.path}/role-mappings", body, caller)
        assert_admin_error(response, 404, "not_found")
        assert str(connection_id) in response.json()["error_description"]
    listed = client.get(f"{acme.path}/role-mappings", headers=caller).json()
    assert listed == {"role_mappings": []}


def test_mapping_of_other_org_role_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    theirs = _create(client, globex, "/roles", {"name": "admin"})

    for role_id in (theirs["id"], str(uuid.uuid4())):
        body = {"role_id": role_id, "source": "scim_group", "value": "Admins"}
        response = _post(client, f"{acme.path}/role-mappings", body, caller)
        assert_admin_error(response, 404, "not_found")
        assert role_id in response.json()["error_description"]
    for tenant in (acme, globex):
        listed = client.get(f"{tenant.path}/role-mappings", headers=PLATFORM).json()
        assert listed == {"role_mappings": []}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": "saml_attribute"}, "needs an attribute"),
        ({"source": "oidc_claim", "attribute": ""}, "attribute"),
        ({"attribute": "groups"}, "takes no attribute"),
        ({"connection_id": str(uuid.uuid4())}, "no connection_id"),
        ({"source": "ldap_group"}, "source"),
        ({"value": ""}, "value"),
        ({"value": "v" * 1025}, "value"),
        ({"value": None}, "value"),
        ({"role_id": "admin"}, "role_id"),
        ({"connection_id": "idp"}, "connection_id"),
        ({"priority": 1}, "priority"),
    ],
)
def test_invalid_mapping_gets_400(
    client: TestClient,
    acme: Tenant,
    caller: dict[str, str],
    change: dict[str, Any],
    expected: str,
) -> None:
    role = _create(client, acme, "/roles", {"name": "admin"})
    body = {"role_id": role["id"], "source": "scim_group", "value": "Admins", **change}

    response = _post(client, f"{acme.path}/role-mappings", body, caller)

    assert_admin_error(response, 400, "invalid_request")
    description = response.json()["error_description"]
    assert expected in description
    assert "Value error" not in description


def test_list_role_mappings(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """Mappings are listed oldest first, and only the organization's own."""
    role = _create(client, acme, "/roles", {"name": "admin"})
    created = [
        _create(
            client,
            acme,
            "/role-mappings",
            {"role_id": role["id"], "source": "scim_group", "value": value},
        )
        for value in ("Admins", "Owners")
    ]
    their_role = _create(client, globex, "/roles", {"name": "admin"})
    _create(
        client,
        globex,
        "/role-mappings",
        {"role_id": their_role["id"], "source": "scim_group", "value": "Admins"},
    )

    response = client.get(f"{acme.path}/role-mappings", headers=caller)

    assert response.status_code == 200
    assert response.json() == {"role_mappings": created}


def test_delete_role_mapping(
    client: TestClient, acme: Tenant, caller: dict[str, str]
) -> None:
    role = _create(client, acme, "/roles", {"name": "admin"})
    mapping = _create(
        client,
        acme,
        "/role-mappings",
        {"role_id": role["id"], "source": "scim_group", "value": "Admins"},
    )

    response = client.delete(
        f"{acme.path}/role-mappings/{mapping['id']}", headers=caller
    )

    assert response.status_code == 204
    listed = client.get(f"{acme.path}/role-mappings", headers=caller).json()
    assert listed == {"role_mappings": []}
    assert len(client.get(f"{acme.path}/roles", headers=caller).json()["roles"]) == 1


def test_delete_missing_mapping_gets_404(
    client: TestClient, acme: Tenant, globex: Tenant, caller: dict[str, str]
) -> None:
    """Another org's mapping id, an unknown id and a malformed one all get 404."""
    role = _create(client, globex, "/roles", {"name": "admin"})
    theirs = _create(
        client,
        globex,
        "/role-mappings",
        {"role_id": role["id"], "source": "scim_group", "value": "Admins"},
    )

    for mapping_id in (theirs["id"], str(uuid.uuid4()), "admins"):
        response = client.delete(
            f"{acme.path}/role-mappings/{mapping_id}", headers=caller
        )
        assert_admin_error(response, 404, "not_found")
        assert mapping_id in response.json()["error_description"]
    listed = client.get(f"{globex.path}/role-mappings", headers=PLATFORM).json()
    assert listed == {"role_mappings": [theirs]}


def test_configured_roles_apply_to_members(client: TestClient, acme: Tenant) -> None:
    """Roles set up through the API are the ones sign-in computes for a member."""
    _post(
        client,
        f"{acme.path}/roles",
        {"name": "member", "is_default": True},
        acme.headers,
    )
    finance = _post(
        client, f"{acme.path}/roles", {"name": "finance"}, acme.headers
    ).json()
    _post(
        client,
        f"{acme.path}/role-mappings",
        {"role_id": finance["id"], "source": "scim_group", "value": "Finance"},
        acme.headers,
    )
    _post(client, f"{acme.path}/roles", {"name": "unused"}, acme.headers)
    scim = _post(client, f"{acme.path}/scim-tokens", None, acme.headers).json()
    scim_headers = {"Authorization": f"Bearer {scim['token']}"}
    user = client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane@acme.example",
        },
        headers=scim_headers,
    ).json()
    group = client.post(
        "/scim/v2/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Finance",
            "members": [{"value": user["id"]}],
        },
        headers=scim_headers,
    )
    assert group.status_code == 201, group.text
    services: Services = client.app.state.services  # type: ignore[attr-defined]

    async def roles() -> tuple[str, ...]:
        return await services.signin.roles_of(uuid.UUID(acme.id), uuid.UUID(user["id"]))

    assert client.portal is not None
    assert client.portal.call(roles) == ("finance", "member")
