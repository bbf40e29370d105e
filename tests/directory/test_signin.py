"""Linking logins to members, inside one organization, and computing roles."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from scimbridge.directory.access import (
    ConnectionKind,
    LinkBy,
    LoginPolicy,
    MappingSource,
)
from scimbridge.directory.signin import LoginRejected, UpstreamLogin
from scimbridge.services import Services
from tests.conftest import ScimOrg

T = TypeVar("T")


def _run(org: ScimOrg, call: Callable[[], Awaitable[T]]) -> T:
    assert org.client.portal is not None
    return org.client.portal.call(call)


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def _connection(org: ScimOrg, kind: ConnectionKind = ConnectionKind.saml) -> Any:
    services = _services(org.client)
    settings = {"entity_id": f"https://idp.example/{uuid.uuid4().hex}"}

    async def add() -> Any:
        return await services.signin.add_connection(
            uuid.UUID(org.id), kind, "Corp IdP", settings, {"client_secret": "s3cret"}
        )

    return _run(org, add)


def _login(connection: Any, subject: str, **claims: Any) -> UpstreamLogin:
    return UpstreamLogin(
        connection=connection,
        issuer=connection.settings["entity_id"],
        subject=subject,
        **claims,
    )


def _unique_domain() -> str:
    return f"corp-{uuid.uuid4().hex[:10]}.example"


def _policy(org: ScimOrg, **fields: Any) -> None:
    services = _services(org.client)
    policy = LoginPolicy(org_id=uuid.UUID(org.id), **fields)
    _run(org, lambda: services.signin.set_policy(policy))


def test_secrets_sealed_at_rest(org: ScimOrg) -> None:
    """Connection secrets are stored encrypted and read back in full."""
    services = _services(org.client)
    connection = _connection(org)
    stored = _run(
        org, lambda: services.signin.get_connection(connection.org_id, connection.id)
    )
    assert stored.secrets == {"client_secret": "s3cret"}

    async def raw() -> str | None:
        async with services.store.transaction() as unit:
            found = await unit.access.get_connection(connection.org_id, connection.id)
        assert found is not None
        return found[1]

    sealed = _run(org, raw)
    assert sealed is not None
    assert "s3cret" not in sealed


def test_link_by_user_name(org: ScimOrg) -> None:
    """A first login links to the member with that userName, then by identity."""
    user = org.create_user("Jane.Doe@example.com")
    connection = _connection(org)
    services = _services(org.client)
    first = _run(
        org,
        lambda: services.signin.resolve_member(
            _login(connection, "nameid-1", user_name="jane.doe@example.com")
        ),
    )
    assert str(first.member.id) == user["id"]
    assert first.linked is True
    again = _run(
        org,
        lambda: services.signin.resolve_member(
            _login(connection, "nameid-1", user_name="someone-else@example.com")
        ),
    )
    assert str(again.member.id) == user["id"]
    assert again.linked is False


def test_link_by_external_id(org: ScimOrg) -> None:
    """With link_by externalId, the subject must equal the member's externalId."""
    user = org.create_user("ext@example.com", externalId="00u-abc")
    _policy(org, link_by=LinkBy.external_id)
    connection = _connection(org)
    services = _services(org.client)
    resolved = _run(
        org, lambda: services.signin.resolve_member(_login(connection, "00u-abc"))
    )
    assert str(resolved.member.id) == user["id"]
    with pytest.raises(LoginRejected) as rejected:
        _run(org, lambda: services.signin.resolve_member(_login(connection, "00U-ABC")))
    assert rejected.value.code == "login.no_member"


def test_link_by_email_needs_verified_domain(org: ScimOrg) -> None:
    """Email linking works only for a domain this organization verified."""
    domain = _unique_domain()
    user = org.create_user(
        "u1", emails=[{"value": f"mail@{domain}", "type": "work", "primary": True}]
    )
    _policy(org, link_by=LinkBy.email)
    connection = _connection(org)
    services = _services(org.client)
    login = _login(connection, "sub-1", email=f"mail@{domain}")
    with pytest.raises(LoginRejected):
        _run(org, lambda: services.signin.resolve_member(login))
    _run(
        org,
        lambda: services.signin.add_domain(connection.org_id, domain, verified=True),
    )
    resolved = _run(org, lambda: services.signin.resolve_member(login))
    assert str(resolved.member.id) == user["id"]


def test_other_org_idp_cannot_reach_member(org: ScimOrg, other_org: ScimOrg) -> None:
    """An IdP of org B asserting org A's email and userName finds no member."""
    domain = _unique_domain()
    victim = f"victim@{domain}"
    org.create_user(victim, emails=[{"value": victim, "type": "work", "primary": True}])
    services = _services(org.client)
    _run(
        org,
        lambda: services.signin.add_domain(uuid.UUID(org.id), domain, verified=True),
    )
    _policy(other_org, link_by=LinkBy.email)
    attacker = _connection(other_org)
    login = _login(attacker, "evil", email=victim, user_name=victim)
    with pytest.raises(LoginRejected) as rejected:
        _run(org, lambda: services.signin.resolve_member(login))
    assert rejected.value.code == "login.no_member"
    _policy(other_org, link_by=LinkBy.user_name)
    with pytest.raises(LoginRejected):
        _run(org, lambda: services.signin.resolve_member(login))


def test_domain_verified_by_one_org_only(org: ScimOrg, other_org: ScimOrg) -> None:
    """A domain verified by one organization cannot be verified by another."""
    from scimbridge.directory.errors import UniquenessConflict

    services = _services(org.client)
    domain = f"{uuid.uuid4().hex[:8]}.example"
    _run(
        org,
        lambda: services.signin.add_domain(uuid.UUID(org.id), domain, verified=True),
    )
    _run(org, lambda: services.signin.add_domain(uuid.UUID(other_org.id), domain))
    with pytest.raises(UniquenessConflict):
        _run(
            org,
            lambda: services.signin.set_domain_verified(
                uuid.UUID(other_org.id), domain, True
            ),
        )
    assert _run(org, lambda: services.signin.org_for_email(f"x@{domain}")) == uuid.UUID(
        org.id
    )


def test_inactive_member_rejected(org: ScimOrg) -> None:
    """A deactivated member cannot log in."""
    user = org.create_user("gone@example.com")
    org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}]
    )
    connection = _connection(org)
    services = _services(org.client)
    with pytest.raises(LoginRejected) as rejected:
        _run(
            org,
            lambda: services.signin.resolve_member(
                _login(connection, "s", user_name="gone@example.com")
            ),
        )
    assert rejected.value.code == "login.member_inactive"


def test_just_in_time_creation(org: ScimOrg) -> None:
    """With JIT on, an unknown login creates a member through the write path."""
    _policy(org, jit_provisioning=True)
    connection = _connection(org)
    services = _services(org.client)
    resolved = _run(
        org,
        lambda: services.signin.resolve_member(
            _login(
                connection,
                "s-new",
                email="new@example.com",
                given_name="New",
                family_name="Person",
            )
        ),
    )
    assert resolved.created is True
    fetched = org.get(f"/Users/{resolved.member.id}").json()
    assert fetched["userName"] == "new@example.com"
    assert fetched["name"]["givenName"] == "New"


def test_roles_from_defaults_groups_and_claims(org: ScimOrg) -> None:
    """Roles combine defaults, SCIM group mappings and login claim mappings."""
    services = _services(org.client)
    org_id = uuid.UUID(org.id)
    member = _run(
        org, lambda: services.signin.add_role(org_id, "member", is_default=True)
    )
    billing = _run(org, lambda: services.signin.add_role(org_id, "billing-manager"))
    admin = _run(org, lambda: services.signin.add_role(org_id, "it-admin"))
    user = org.create_user("r@example.com")
    org.create_group("Finance", [user["id"]])
    _run(
        org,
        lambda: services.signin.add_mapping(
            org_id, billing.id, MappingSource.scim_group, "finance"
        ),
    )
    _run(
        org,
        lambda: services.signin.add_mapping(
            org_id, admin.id, MappingSource.saml_attribute, "IT", attribute="department"
        ),
    )
    connection = _connection(org)
    login = _login(
        connection, "r", user_name="r@example.com", attributes={"department": ("IT",)}
    )
    resolved = _run(org, lambda: services.signin.resolve_member(login))
    assert resolved.roles == ("billing-manager", "it-admin", "member")
    plain = _login(
        connection,
        "r",
        user_name="r@example.com",
        attributes={"department": ("Sales",)},
    )
    assert _run(org, lambda: services.signin.resolve_member(plain)).roles == (
        "billing-manager",
        "member",
    )
    assert member.is_default is True
