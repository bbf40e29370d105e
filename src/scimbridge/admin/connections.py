"""An organization's SAML and OIDC connections, managed by its own admins too.

Responses never carry a secret: client secrets and SP private keys are
accepted on creation, sealed at rest, and never returned.
"""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from scimbridge.admin.auth import OrgDep, ServicesDep
from scimbridge.admin.errors import InvalidRequest, ResourceNotFound
from scimbridge.admin.routing import OrgAdminRoute
from scimbridge.directory.errors import InvalidRecord, NotFound
from scimbridge.services import Services
from scimbridge.sso.connections import (
    create_oidc_connection,
    create_saml_connection,
    fetch_idp_metadata,
    public_view,
)
from scimbridge.sso.oidc.errors import OidcError
from scimbridge.sso.saml.errors import SamlError

delegated = APIRouter(route_class=OrgAdminRoute, tags=["admin"])
platform = APIRouter(tags=["admin"])

MAX_METADATA_CHARACTERS = 1_000_000


class SamlConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] = "SAML"
    metadata_xml: Annotated[
        str | None, Field(min_length=1, max_length=MAX_METADATA_CHARACTERS)
    ] = None
    metadata_url: Annotated[str | None, Field(min_length=1, max_length=2048)] = None
    allow_idp_initiated: bool = False
    sign_requests: bool = False
    allow_sha1: bool = False
    require_signed_assertion: bool = False


class OidcConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] = "OIDC"
    issuer: Annotated[str, Field(min_length=1, max_length=2048)]
    client_id: Annotated[str, Field(min_length=1, max_length=512)]
    client_secret: Annotated[str | None, Field(max_length=4096)] = None
    auth_method: Literal[
        "client_secret_basic", "client_secret_post", "private_key_jwt"
    ] = "client_secret_basic"
    private_key_pem: Annotated[str | None, Field(max_length=16384)] = None


class ConnectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    enabled: bool | None = None


def _base_url(request: Request, services: Services) -> str:
    return services.settings.public_url(str(request.base_url))


def _connection_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ResourceNotFound(f"no connection has the id {raw!r}") from None


@delegated.post(
    "/organizations/{slug_or_id}/connections/saml",
    status_code=status.HTTP_201_CREATED,
)
async def add_saml_connection(
    request: Request, body: SamlConnectionCreate, org: OrgDep, services: ServicesDep
) -> dict[str, Any]:
    """Create a SAML connection from the IdP's metadata XML.

    The response gives the SP entity id, ACS URL and SP metadata URL to enter
    at the IdP.
    """
    if (body.metadata_xml is None) == (body.metadata_url is None):
        raise InvalidRequest("send exactly one of metadata_xml and metadata_url")
    try:
        if body.metadata_url is not None:
            xml = await fetch_idp_metadata(
                services.logins.provider_http, body.metadata_url
            )
        else:
            xml = (body.metadata_xml or "").encode()
        connection = await create_saml_connection(
            services.signin,
            org.id,
            name=body.name,
            metadata_xml=xml,
            base_url=_base_url(request, services),
            allow_idp_initiated=body.allow_idp_initiated,
            sign_requests=body.sign_requests,
            allow_sha1=body.allow_sha1,
            require_signed_assertion=body.require_signed_assertion,
            allow_http=services.settings.allow_loopback_idp,
        )
    except SamlError as exc:
        raise InvalidRequest(f"{exc.code}: {exc.detail}") from exc
    except InvalidRecord as exc:
        raise InvalidRequest(str(exc)) from exc
    return public_view(connection, _base_url(request, services))


@delegated.post(
    "/organizations/{slug_or_id}/connections/oidc",
    status_code=status.HTTP_201_CREATED,
)
async def add_oidc_connection(
    request: Request, body: OidcConnectionCreate, org: OrgDep, services: ServicesDep
) -> dict[str, Any]:
    """Create an OIDC connection after validating the issuer's discovery document."""
    try:
        connection = await create_oidc_connection(
            services.signin,
            services.logins.provider_http,
            org.id,
            name=body.name,
            issuer=body.issuer,
            client_id=body.client_id,
            base_url=_base_url(request, services),
            client_secret=body.client_secret,
            auth_method=body.auth_method,
            private_key_pem=body.private_key_pem,
        )
    except OidcError as exc:
        raise InvalidRequest(f"{exc.code}: {exc.detail}") from exc
    except (InvalidRecord, ValueError) as exc:
        raise InvalidRequest(str(exc)) from exc
    return public_view(connection, _base_url(request, services))


@delegated.get("/organizations/{slug_or_id}/connections")
async def list_connections(
    request: Request, org: OrgDep, services: ServicesDep
) -> dict[str, Any]:
    """List the organization's connections, without secrets."""
    connections = await services.signin.list_connections(org.id)
    return {
        "connections": [
            public_view(c, _base_url(request, services)) for c in connections
        ]
    }


@delegated.get("/organizations/{slug_or_id}/connections/{connection_id}")
async def get_connection(
    request: Request, connection_id: str, org: OrgDep, services: ServicesDep
) -> dict[str, Any]:
    try:
        connection = await services.signin.get_connection(
            org.id, _connection_id(connection_id)
        )
    except NotFound as exc:
        raise ResourceNotFound(f"no connection has the id {connection_id!r}") from exc
    return public_view(connection, _base_url(request, services))


@delegated.patch("/organizations/{slug_or_id}/connections/{connection_id}")
async def update_connection(
    request: Request,
    connection_id: str,
    body: ConnectionUpdate,
    org: OrgDep,
    services: ServicesDep,
) -> dict[str, Any]:
    """Rename, enable or disable a connection."""
    try:
        connection = await services.signin.update_connection(
            org.id, _connection_id(connection_id), name=body.name, enabled=body.enabled
        )
    except NotFound as exc:
        raise ResourceNotFound(f"no connection has the id {connection_id!r}") from exc
    return public_view(connection, _base_url(request, services))


@delegated.delete(
    "/organizations/{slug_or_id}/connections/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_connection(
    connection_id: str, org: OrgDep, services: ServicesDep
) -> Response:
    try:
        await services.signin.delete_connection(org.id, _connection_id(connection_id))
    except NotFound as exc:
        raise ResourceNotFound(f"no connection has the id {connection_id!r}") from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
