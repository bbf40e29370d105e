"""Platform admin endpoints: organizations and their SCIM tokens.

Every endpoint needs ``Authorization: Bearer <SCIMBRIDGE_ADMIN_TOKEN>``.
An organization in a path may be given by slug or by id.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from scimbridge.admin.auth import services_of
from scimbridge.admin.errors import Conflict, InvalidRequest, ResourceNotFound
from scimbridge.admin.routing import AdminRoute
from scimbridge.admin.schemas import (
    IssuedScimToken,
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
    ScimTokenList,
    ScimTokenOut,
)
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.services import Services

router = APIRouter(route_class=AdminRoute, tags=["admin"])

ServicesDep = Annotated[Services, Depends(services_of)]


async def _find_org(services: Services, slug_or_id: str) -> Organization:
    try:
        return await services.orgs.get(slug_or_id)
    except NotFound as exc:
        raise _org_not_found(slug_or_id) from exc


def _org_not_found(slug_or_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"no organization has the slug or id {slug_or_id!r}")


@router.post(
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


@router.get("/organizations")
async def list_organizations(services: ServicesDep) -> OrganizationList:
    """List every organization, oldest first."""
    orgs = await services.orgs.list()
    return OrganizationList(organizations=[OrganizationOut.of(org) for org in orgs])


@router.get("/organizations/{slug_or_id}")
async def get_organization(slug_or_id: str, services: ServicesDep) -> OrganizationOut:
    """Show one organization."""
    return OrganizationOut.of(await _find_org(services, slug_or_id))


@router.post("/organizations/{slug_or_id}/suspend")
async def suspend_organization(
    slug_or_id: str, services: ServicesDep
) -> OrganizationOut:
    """Suspend an organization, so its SCIM requests are rejected until activation."""
    return await _set_status(services, slug_or_id, OrgStatus.suspended)


@router.post("/organizations/{slug_or_id}/activate")
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
        raise _org_not_found(slug_or_id) from exc
    return OrganizationOut.of(org)


@router.post(
    "/organizations/{slug_or_id}/scim-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedScimToken,
)
async def create_scim_token(slug_or_id: str, services: ServicesDep) -> IssuedScimToken:
    """Create a SCIM bearer token for the organization's IdP.

    Only this response contains the token. The database stores its hash, and
    listings show only the prefix.
    """
    org = await _find_org(services, slug_or_id)
    issued = await services.scim_tokens.create(org)
    return IssuedScimToken.of(issued)


@router.get("/organizations/{slug_or_id}/scim-tokens")
async def list_scim_tokens(slug_or_id: str, services: ServicesDep) -> ScimTokenList:
    """List the organization's SCIM tokens, revoked ones included, oldest first."""
    org = await _find_org(services, slug_or_id)
    tokens = await services.scim_tokens.list(org)
    return ScimTokenList(tokens=[ScimTokenOut.of(token) for token in tokens])


@router.delete(
    "/organizations/{slug_or_id}/scim-tokens/{prefix}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def revoke_scim_token(
    slug_or_id: str, prefix: str, services: ServicesDep
) -> None:
    """Revoke the organization's active SCIM token with this prefix."""
    org = await _find_org(services, slug_or_id)
    if not await services.scim_tokens.revoke(org, prefix):
        raise ResourceNotFound(
            f"organization {org.slug!r} has no active SCIM token with prefix {prefix!r}"
        )
