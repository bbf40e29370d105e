"""App clients of the OpenID Provider, its signing keys and its logout deliveries.

Apps are registered by the platform admin only: an app serves every
organization it allows, so no org admin may change it.
"""

from uuid import UUID

from fastapi import APIRouter, Response, status

from scimbridge.admin.app_schemas import (
    AppClientCreate,
    AppClientList,
    AppClientOut,
    DeliveryList,
    DeliveryOut,
    IssuedAppClient,
    SigningKeyList,
    SigningKeyOut,
)
from scimbridge.admin.auth import OrgDep, ServicesDep
from scimbridge.admin.errors import InvalidRequest, ResourceNotFound
from scimbridge.admin.routing import AdminRoute
from scimbridge.directory.errors import NotFound
from scimbridge.provider.clients import AppClient, InvalidClient
from scimbridge.provider.registry import IssuedClient
from scimbridge.services import Services

platform = APIRouter(route_class=AdminRoute, tags=["admin"])


async def register_app(services: Services, body: AppClientCreate) -> IssuedClient:
    """Register an app, raising ``InvalidClient`` or ``NotFound`` for bad input."""
    org_ids: list[UUID] | None = None
    if body.organizations is not None:
        org_ids = [(await services.orgs.get(value)).id for value in body.organizations]
    return await services.provider.clients.create(
        body.name,
        body.redirect_uris,
        public=body.public,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        backchannel_logout_uri=body.backchannel_logout_uri,
        org_ids=org_ids,
    )


@platform.post(
    "/apps", status_code=status.HTTP_201_CREATED, response_model=IssuedAppClient
)
async def create_app_client(
    body: AppClientCreate, services: ServicesDep
) -> IssuedAppClient:
    """Register an app. A confidential app's secret is in this response only."""
    try:
        issued = await register_app(services, body)
    except InvalidClient as exc:
        raise InvalidRequest(str(exc)) from exc
    except NotFound as exc:
        raise InvalidRequest(f"unknown organization: {exc}") from exc
    return IssuedAppClient.issued(issued.client, issued.secret)


@platform.get("/apps")
async def list_app_clients(services: ServicesDep) -> AppClientList:
    clients = await services.provider.clients.list()
    return AppClientList(apps=[AppClientOut.of(client) for client in clients])


async def _client(services: Services, client_id: str) -> AppClient:
    client = await services.provider.clients.get(client_id)
    if client is None:
        raise ResourceNotFound(f"no app has the client_id {client_id!r}")
    return client


@platform.get("/apps/{client_id}")
async def get_app_client(client_id: str, services: ServicesDep) -> AppClientOut:
    return AppClientOut.of(await _client(services, client_id))


@platform.post("/apps/{client_id}/secret")
async def rotate_app_secret(client_id: str, services: ServicesDep) -> IssuedAppClient:
    """Replace the app's secret. The old one stops working at once."""
    try:
        issued = await services.provider.clients.rotate_secret(client_id)
    except InvalidClient as exc:
        raise InvalidRequest(str(exc)) from exc
    if issued is None:
        raise ResourceNotFound(f"no app has the client_id {client_id!r}")
    return IssuedAppClient.issued(issued.client, issued.secret)


@platform.post("/apps/{client_id}/disable")
async def disable_app_client(client_id: str, services: ServicesDep) -> AppClientOut:
    client = await services.provider.clients.set_enabled(client_id, False)
    if client is None:
        raise ResourceNotFound(f"no app has the client_id {client_id!r}")
    return AppClientOut.of(client)


@platform.post("/apps/{client_id}/enable")
async def enable_app_client(client_id: str, services: ServicesDep) -> AppClientOut:
    client = await services.provider.clients.set_enabled(client_id, True)
    if client is None:
        raise ResourceNotFound(f"no app has the client_id {client_id!r}")
    return AppClientOut.of(client)


@platform.delete("/apps/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_app_client(client_id: str, services: ServicesDep) -> Response:
    if not await services.provider.clients.delete(client_id):
        raise ResourceNotFound(f"no app has the client_id {client_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@platform.get("/signing-keys")
async def list_signing_keys(services: ServicesDep) -> SigningKeyList:
    keys = await services.provider.keys.list()
    return SigningKeyList(keys=[SigningKeyOut.of(key) for key in keys])


@platform.post("/signing-keys/rotate")
async def rotate_signing_keys(services: ServicesDep) -> SigningKeyList:
    """Make the next key current. The old current key stays published a day."""
    await services.provider.keys.rotate()
    keys = await services.provider.keys.list()
    return SigningKeyList(keys=[SigningKeyOut.of(key) for key in keys])


@platform.get("/organizations/{slug_or_id}/logout-deliveries")
async def list_logout_deliveries(
    org: OrgDep, member_id: UUID, services: ServicesDep
) -> DeliveryList:
    """Show the back-channel logouts sent to apps for one member."""
    deliveries = await services.provider.backchannel.member_deliveries(
        org.id, member_id
    )
    return DeliveryList(deliveries=[DeliveryOut.of(item) for item in deliveries])
