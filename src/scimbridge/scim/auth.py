"""Bearer token authentication (RFC 6750) that selects the organization."""

import logging

from fastapi import Request
from scim2_models import ForbiddenException, UnauthorizedException

from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.services import Services

logger = logging.getLogger(__name__)


class MissingToken(UnauthorizedException):
    """No usable bearer token; the response carries ``WWW-Authenticate``."""


async def authenticate(request: Request) -> Organization:
    """Return the organization whose active SCIM token the request bears.

    A missing, malformed, unknown or revoked token gives 401. A suspended
    organization's token gives 403, so its IT admin can tell the two apart.
    """
    services: Services = request.app.state.services
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise MissingToken(
            detail="missing bearer token: send 'Authorization: Bearer <SCIM token>'"
        )

    found = await services.scim_tokens.authenticate(credentials.strip())
    if found is None:
        raise MissingToken(detail="invalid bearer token: it is unknown or revoked")

    request.scope.setdefault("state", {})["org_id"] = str(found.org.id)
    if found.org.status is not OrgStatus.active:
        logger.info("scim request from suspended organization org_id=%s", found.org.id)
        raise ForbiddenException(detail="this organization is suspended")
    return found.org
