"""Organizations, their SCIM tokens and their org admin tokens.

Creating, listing, suspending and activating organizations and managing org
admin tokens is for the platform admin. An org admin may read its own
organization and rotate its SCIM tokens, because configuring the IdP is the
IT admin's job.
"""

from fastapi import APIRouter, Response, status

from scimbridge.admin.auth import OrgDep, ServicesDep, org_not_found
from scimbridge.admin.errors import Conflict, InvalidRequest, ResourceNotFound
from scimbridge.admin.routing import AdminRoute, OrgAdminRoute
from scimbridge.admin.schemas import (
    AdminTokenList,
    AdminTokenOut,
    IssuedAdminToken,
    IssuedScimToken,
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
    ScimTokenList,
    ScimTokenOut,
)
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.models import OrgStatus
from scimbridge.services import Services

platform = APIRouter(route_class=AdminRoute, tags=["admin"])
delegated = APIRouter(route_class=OrgAdminRoute, tags=["admin"])


@platform.post(
    "/organizations",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationOut,
)
async def create_organization(
    body: OrganizationCreate, services: ServicesDep
) -> OrganizationOut:
    """Create an active organization. The name defaults to the slug."""
    try:
        org = await services.orgs.create(body.slug, body.name)
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    except UniquenessConflict as exc:
        raise Conflict(f"an organization with slug {body.slug!r} exists") from exc
    return OrganizationOut.of(org)


@platform.get("/organizations")
async def list_organizations(services: ServicesDep) -> OrganizationList:
    """List every organization, oldest first."""
    orgs = await services.orgs.list()
    return OrganizationList(organizations=[OrganizationOut.of(org) for org in orgs])


@delegated.get("/organizations/{slug_or_id}")
async def get_organization(org: OrgDep) -> OrganizationOut:
    """Show one organization."""
    return OrganizationOut.of(org)


@platform.post("/organizations/{slug_or_id}/suspend")
async def suspend_organization(
    slug_or_id: str, services: ServicesDep
) -> OrganizationOut:
    """Suspend an organization, so its SCIM requests are rejected until activation.

    Its org admin tokens get 403 while it is suspended.
    """
    return await _set_status(services, slug_or_id, OrgStatus.suspended)


@platform.post("/organizations/{slug_or_id}/activate")
async def activate_organization(
    slug_or_id: str, services: ServicesDep
) -> OrganizationOut:
    """Activate a suspended organization again."""
    return await _set_status(services, slug_or_id, OrgStatus.active)


async def _set_status(
    services: Services, slug_or_id: str, new_status: OrgStatus
) -> OrganizationOut:
    try:
        org = await services.orgs.set_status(slug_or_id, new_status)
    except NotFound as exc:
        raise org_not_found(slug_or_id) from exc
    return OrganizationOut.of(org)


# SCIM tokens


@delegated.post(
    "/organizations/{slug_or_id}/scim-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedScimToken,
)
async def create_scim_token(org: OrgDep, services: ServicesDep) -> IssuedScimToken:
    """Create a SCIM bearer token for the organization's IdP.

    Only this response contains the token. The database stores its hash, and
    listings show only the prefix.
    """
    issued = await services.scim_tokens.create(org)
    return IssuedScimToken.of(issued)


@delegated.get("/organizations/{slug_or_id}/scim-tokens")
async def list_scim_tokens(org: OrgDep, services: ServicesDep) -> ScimTokenList:
    """List the organization's SCIM tokens, revoked ones included, oldest first."""
    tokens = await services.scim_tokens.list(org)
    return ScimTokenList(tokens=[ScimTokenOut.of(token) for token in tokens])


@delegated.delete(
    "/organizations/{slug_or_id}/scim-tokens/{prefix}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def revoke_scim_token(org: OrgDep, prefix: str, services: ServicesDep) -> None:
    """Revoke the organization's active SCIM token with this prefix."""
    if not await services.scim_tokens.revoke(org, prefix):
        raise ResourceNotFound(
            f"organization {org.slug!r} has no active SCIM token with prefix {prefix!r}"
        )


# Org admin tokens


@platform.post(
    "/organizations/{slug_or_id}/admin-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedAdminToken,
)
async def create_admin_token(org: OrgDep, services: ServicesDep) -> IssuedAdminToken:
    """Create an org admin token, for the organization's IT admins.

    The token manages this organization's domains, login policy, roles, role
    mappings and SCIM tokens, and no other organization. Only this response
    contains it; the database stores its hash.
    """
    issued = await services.admin_tokens.create(org)
    return IssuedAdminToken.of(issued)


@platform.get("/organizations/{slug_or_id}/admin-tokens")
async def list_admin_tokens(org: OrgDep, services: ServicesDep) -> AdminTokenList:
    """List the organization's admin tokens, revoked ones included, oldest first."""
    tokens = await services.admin_tokens.list(org)
    return AdminTokenList(tokens=[AdminTokenOut.of(token) for token in tokens])


@platform.delete(
    "/organizations/{slug_or_id}/admin-tokens/{prefix}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def revoke_admin_token(org: OrgDep, prefix: str, services: ServicesDep) -> None:
    """Revoke the organization's active admin token with this prefix, at once."""
    if not await services.admin_tokens.revoke(org, prefix):
        raise ResourceNotFound(
            f"organization {org.slug!r} has no active admin token with prefix "
            f"{prefix!r}"
        )
