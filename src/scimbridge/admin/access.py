"""Sign-in configuration of one organization: domains, login policy, roles, mappings.

These routes are open to the organization's admins as well as the platform
admin, except for verifying a domain. A verified domain routes every login
with that email domain to the organization, so until DNS proof of a domain is
built, only the platform admin may mark a domain verified.
"""

import uuid

from fastapi import APIRouter, Response, status

from scimbridge.admin.access_schemas import (
    DomainCreate,
    DomainList,
    DomainOut,
    LoginPolicyBody,
    RoleCreate,
    RoleList,
    RoleMappingCreate,
    RoleMappingList,
    RoleMappingOut,
    RoleOut,
)
from scimbridge.admin.auth import OrgDep, PrincipalDep, ServicesDep
from scimbridge.admin.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    ResourceNotFound,
)
from scimbridge.admin.routing import AdminRoute, OrgAdminRoute
from scimbridge.directory.access import (
    ConnectionKind,
    Domain,
    MappingSource,
    RoleMapping,
)
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.models import Organization
from scimbridge.directory.signin import normalize_domain
from scimbridge.services import Services

platform = APIRouter(route_class=AdminRoute, tags=["admin"])
delegated = APIRouter(route_class=OrgAdminRoute, tags=["admin"])

CONNECTION_KIND_OF_SOURCE = {
    MappingSource.saml_attribute: ConnectionKind.saml,
    MappingSource.oidc_claim: ConnectionKind.oidc,
}
"""The kind of connection whose logins carry each source's values."""


# Domains


@delegated.post(
    "/organizations/{slug_or_id}/domains",
    status_code=status.HTTP_201_CREATED,
    response_model=DomainOut,
)
async def add_domain(
    body: DomainCreate,
    org: OrgDep,
    principal: PrincipalDep,
    services: ServicesDep,
) -> DomainOut:
    """Add an email domain to the organization, unverified by default.

    Only the platform admin may add it as verified.
    """
    if body.verified and not principal.is_platform_admin:
        raise Forbidden(
            "only the platform admin can add a verified domain: add it with "
            '"verified": false and ask the platform admin to verify it'
        )
    try:
        domain = await services.signin.add_domain(
            org.id, body.domain, verified=body.verified
        )
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    except UniquenessConflict as exc:
        raise Conflict(
            f"the domain {body.domain!r} is already added to organization "
            f"{org.slug!r}, or verified by another organization"
        ) from exc
    return DomainOut.of(domain)


@delegated.get("/organizations/{slug_or_id}/domains")
async def list_domains(org: OrgDep, services: ServicesDep) -> DomainList:
    """List the organization's domains in alphabetical order."""
    domains = await services.signin.list_domains(org.id)
    return DomainList(domains=[DomainOut.of(domain) for domain in domains])


@delegated.delete(
    "/organizations/{slug_or_id}/domains/{domain}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_domain(org: OrgDep, domain: str, services: ServicesDep) -> None:
    """Remove a domain from the organization; a verified one stops routing logins."""
    try:
        await services.signin.delete_domain(org.id, domain)
    except (InvalidRecord, NotFound) as exc:
        raise _domain_not_found(org, domain) from exc


@platform.post("/organizations/{slug_or_id}/domains/{domain}/verify")
async def verify_domain(org: OrgDep, domain: str, services: ServicesDep) -> DomainOut:
    """Mark the organization's domain verified, so logins with it route here.

    A domain can be verified by one organization only.
    """
    try:
        await services.signin.set_domain_verified(org.id, domain, True)
    except (InvalidRecord, NotFound) as exc:
        raise _domain_not_found(org, domain) from exc
    except UniquenessConflict as exc:
        raise Conflict(
            f"the domain {domain!r} is verified by another organization"
        ) from exc
    return DomainOut.of(await _find_domain(services, org, domain))


async def _find_domain(services: Services, org: Organization, name: str) -> Domain:
    normalized = normalize_domain(name)
    for domain in await services.signin.list_domains(org.id):
        if domain.domain == normalized:
            return domain
    raise _domain_not_found(org, name)


def _domain_not_found(org: Organization, domain: str) -> ResourceNotFound:
    return ResourceNotFound(f"organization {org.slug!r} has no domain {domain!r}")


# Login policy


@delegated.get("/organizations/{slug_or_id}/login-policy")
async def get_login_policy(org: OrgDep, services: ServicesDep) -> LoginPolicyBody:
    """Show the organization's login policy, or the defaults if none was set."""
    return LoginPolicyBody.of(await services.signin.policy(org.id))


@delegated.put("/organizations/{slug_or_id}/login-policy")
async def put_login_policy(
    body: LoginPolicyBody, org: OrgDep, services: ServicesDep
) -> LoginPolicyBody:
    """Replace the organization's login policy; the body needs every field."""
    try:
        policy = await services.signin.set_policy(body.to_policy(org.id))
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    return LoginPolicyBody.of(policy)


# Roles


@delegated.post(
    "/organizations/{slug_or_id}/roles",
    status_code=status.HTTP_201_CREATED,
    response_model=RoleOut,
)
async def create_role(body: RoleCreate, org: OrgDep, services: ServicesDep) -> RoleOut:
    """Create a role; its name is unique in the organization."""
    try:
        role = await services.signin.add_role(
            org.id,
            body.name,
            description=body.description,
            permissions=body.permissions,
            is_default=body.is_default,
        )
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    except UniquenessConflict as exc:
        raise Conflict(
            f"organization {org.slug!r} already has a role named {body.name!r}"
        ) from exc
    return RoleOut.of(role)


@delegated.get("/organizations/{slug_or_id}/roles")
async def list_roles(org: OrgDep, services: ServicesDep) -> RoleList:
    """List the organization's roles by name."""
    roles = await services.signin.list_roles(org.id)
    return RoleList(roles=[RoleOut.of(role) for role in roles])


@delegated.delete(
    "/organizations/{slug_or_id}/roles/{role_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_role(org: OrgDep, role_id: str, services: ServicesDep) -> None:
    """Delete a role together with its role mappings."""
    not_found = ResourceNotFound(f"organization {org.slug!r} has no role {role_id!r}")
    parsed = _parse_id(role_id)
    if parsed is None:
        raise not_found
    try:
        await services.signin.delete_role(org.id, parsed)
    except NotFound as exc:
        raise not_found from exc


# Role mappings


@delegated.post(
    "/organizations/{slug_or_id}/role-mappings",
    status_code=status.HTTP_201_CREATED,
    response_model=RoleMappingOut,
)
async def create_role_mapping(
    body: RoleMappingCreate, org: OrgDep, services: ServicesDep
) -> RoleMappingOut:
    """Create a rule that grants a role of the organization."""
    try:
        mapping = await add_role_mapping(services, org, body)
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    except NotFound as exc:
        raise ResourceNotFound(
            f"organization {org.slug!r} has no "
            f"{exc.resource_type.lower()} {str(exc.resource_id)!r}"
        ) from exc
    return RoleMappingOut.of(mapping)


@delegated.get("/organizations/{slug_or_id}/role-mappings")
async def list_role_mappings(org: OrgDep, services: ServicesDep) -> RoleMappingList:
    """List the organization's role mappings, oldest first."""
    mappings = await services.signin.list_mappings(org.id)
    return RoleMappingList(
        role_mappings=[RoleMappingOut.of(mapping) for mapping in mappings]
    )


@delegated.delete(
    "/organizations/{slug_or_id}/role-mappings/{mapping_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_role_mapping(
    org: OrgDep, mapping_id: str, services: ServicesDep
) -> None:
    """Delete a role mapping; members keep the role only through other rules."""
    not_found = ResourceNotFound(
        f"organization {org.slug!r} has no role mapping {mapping_id!r}"
    )
    parsed = _parse_id(mapping_id)
    if parsed is None:
        raise not_found
    try:
        await services.signin.delete_mapping(org.id, parsed)
    except NotFound as exc:
        raise not_found from exc


async def add_role_mapping(
    services: Services, org: Organization, body: RoleMappingCreate
) -> RoleMapping:
    """Check the mapping's connection, then store the mapping.

    The connection, if given, must be one of the organization's own, of the
    kind whose logins carry the source's values.

    :raises NotFound: when the role or the connection is not the organization's.
    :raises InvalidRecord: when the connection's kind does not match the source.
    """
    if body.connection_id is not None:
        connections = await services.signin.list_connections(org.id)
        connection = next((c for c in connections if c.id == body.connection_id), None)
        if connection is None:
            raise NotFound("Connection", body.connection_id)
        expected = CONNECTION_KIND_OF_SOURCE[body.source]
        if connection.kind is not expected:
            raise InvalidRecord(
                f"connection {body.connection_id} is of kind "
                f"{connection.kind.value}, but {body.source.value} mappings need "
                f"a connection of kind {expected.value}"
            )
    return await services.signin.add_mapping(
        org.id,
        body.role_id,
        body.source,
        body.value,
        attribute=body.attribute,
        connection_id=body.connection_id,
    )


def _parse_id(value: str) -> uuid.UUID | None:
    """Parse an id from a path; a malformed id names no resource, so it gets 404."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
