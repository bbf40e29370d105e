"""Bearer authentication of the admin API: the platform admin or an org admin.

The platform admin token (``SCIMBRIDGE_ADMIN_TOKEN``) manages every
organization. An org admin token (``oadm_...``, created by the platform admin)
manages one organization's own configuration. On a path that names another
organization it gets the same 404 as an organization that does not exist, so
an org admin cannot learn which other organizations exist.
"""

import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from scimbridge.admin.errors import Forbidden, InvalidToken, ResourceNotFound
from scimbridge.directory.errors import NotFound
from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.directory.tokens import ADMIN_TOKEN_SCHEME
from scimbridge.services import Services

logger = logging.getLogger(__name__)

ORG_PATH_PARAMETER = "slug_or_id"
"""The path parameter that names the organization in every organization route."""


@dataclass(frozen=True, slots=True)
class AdminPrincipal:
    """The sender of an admin request: the platform admin, or an org admin."""

    org: Organization | None = None
    """The organization of an org admin token; None for the platform admin."""

    @property
    def is_platform_admin(self) -> bool:
        return self.org is None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def org_not_found(slug_or_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"no organization has the slug or id {slug_or_id!r}")


async def authenticate(request: Request) -> AdminPrincipal:
    """Return who sent the request, from ``Authorization: Bearer <token>``.

    With no admin token configured the API is disabled, and every request
    gets 404 before any credential is read, org admin tokens included.

    :raises ResourceNotFound: when the admin API is disabled.
    :raises InvalidToken: when the token is missing, unknown or revoked.
    :raises Forbidden: when an org admin token's organization is suspended.
    """
    services = services_of(request)
    admin_token = services.settings.admin_token
    if admin_token is None:
        raise ResourceNotFound(
            "the admin API is disabled: set SCIMBRIDGE_ADMIN_TOKEN to enable it"
        )

    presented = _bearer_credentials(request)
    # compare_digest does not stop at the first differing byte, so response
    # times do not reveal how much of a guess was right.
    if hmac.compare_digest(presented.encode(), admin_token.get_secret_value().encode()):
        return AdminPrincipal()

    # Org admin tokens are found by their SHA-256 hash, never compared as text.
    found = None
    if presented.startswith(f"{ADMIN_TOKEN_SCHEME}_"):
        found = await services.admin_tokens.authenticate(presented)
    if found is None:
        raise InvalidToken(
            "the bearer token is neither the admin token nor an active org admin token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    request.scope.setdefault("state", {})["org_id"] = str(found.org.id)
    if found.org.status is OrgStatus.suspended:
        logger.info(
            "admin request from suspended organization org_id=%s prefix=%s",
            found.org.id,
            found.token.prefix,
        )
        raise Forbidden(
            f"organization {found.org.slug!r} is suspended: ask the platform "
            "admin to activate it"
        )
    return AdminPrincipal(org=found.org)


def _bearer_credentials(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise InvalidToken(
            "missing bearer token: send the header Authorization: Bearer <admin token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials


def authorize(
    principal: AdminPrincipal, path_org: str | None, *, org_admin_allowed: bool
) -> None:
    """Raise unless ``principal`` may call a route on the organization ``path_org``.

    ``path_org`` is the organization's slug or id from the path, or None on
    a route outside any organization. The path is checked before the route's
    rule, so an org admin gets 404 on every path of another organization,
    whether that route is open to org admins or not.

    :raises ResourceNotFound: when an org admin names another organization.
    :raises Forbidden: when the route is for the platform admin only.
    """
    if principal.org is None:
        return
    if path_org is not None and not _names_org(path_org, principal.org):
        logger.info(
            "org admin request denied org_id=%s reason=other_organization",
            principal.org.id,
        )
        raise org_not_found(path_org)
    if path_org is None or not org_admin_allowed:
        logger.info(
            "org admin request denied org_id=%s reason=platform_admin_only",
            principal.org.id,
        )
        raise Forbidden(
            "this endpoint needs the platform admin token, and org admin "
            "tokens cannot use it"
        )


def _names_org(slug_or_id: str, org: Organization) -> bool:
    """Return whether a slug or id from a path names ``org``, in any UUID spelling."""
    if slug_or_id == org.slug:
        return True
    try:
        return uuid.UUID(slug_or_id) == org.id
    except ValueError:
        return False


def principal_of(request: Request) -> AdminPrincipal:
    """Return the principal that the admin route stored after authentication."""
    principal: AdminPrincipal = request.state.admin_principal
    return principal


async def org_in_path(slug_or_id: str, request: Request) -> Organization:
    """Resolve the organization a route's path names, for the request's principal.

    For an org admin, :func:`authorize` has already matched the path to the
    token's organization, so no other organization is ever looked up.
    """
    principal = principal_of(request)
    if principal.org is not None:
        return principal.org
    try:
        org = await services_of(request).orgs.get(slug_or_id)
    except NotFound as exc:
        raise org_not_found(slug_or_id) from exc
    request.scope.setdefault("state", {})["org_id"] = str(org.id)
    return org


ServicesDep = Annotated[Services, Depends(services_of)]
PrincipalDep = Annotated[AdminPrincipal, Depends(principal_of)]
OrgDep = Annotated[Organization, Depends(org_in_path)]
