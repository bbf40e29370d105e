"""HTTP routes of the SCIM service provider, mounted at ``/scim/v2``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from scim2_models import ForbiddenException, InvalidFilterException, NotFoundException

from scimbridge.directory.errors import InvalidQuery, InvalidSort
from scimbridge.directory.models import Organization
from scimbridge.directory.ports import ResourceQuery
from scimbridge.scim import discovery
from scimbridge.scim.auth import authenticate
from scimbridge.scim.bulk import run_bulk
from scimbridge.scim.handlers import HANDLERS, ResourceHandler
from scimbridge.scim.listing import SearchParameters, list_response, parse_search
from scimbridge.scim.media import ScimResponse, read_json
from scimbridge.scim.projection import Projection
from scimbridge.scim.resources import ScimContext
from scimbridge.scim.versioning import none_match
from scimbridge.services import Services

router = APIRouter()

AuthenticatedOrg = Annotated[Organization, Depends(authenticate)]


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _base_url(request: Request) -> str:
    return _services(request).settings.public_url(str(request.base_url))


def _context(request: Request, org: Organization) -> ScimContext:
    return ScimContext(
        org=org, services=_services(request), base_url=_base_url(request)
    )


async def _body(request: Request) -> Any:
    return await read_json(request, _services(request).settings.scim_max_payload_bytes)


def _write_projection(request: Request, handler: ResourceHandler) -> Projection:
    """Read ``attributes`` and ``excludedAttributes`` (RFC 7644 section 3.9)."""
    params = request.query_params
    parameters = parse_search(
        {
            "attributes": params.get("attributes"),
            "excludedAttributes": params.get("excludedAttributes"),
        },
        1,
    )
    return parameters.projection(handler.core_schema, handler.extensions)


def _asks_for_attributes(request: Request) -> bool:
    params = request.query_params
    return "attributes" in params or "excludedAttributes" in params


def _resource_response(
    resource: dict[str, Any], status: int = 200, projection: Projection | None = None
) -> ScimResponse:
    meta = resource.get("meta") or {}
    headers = {}
    if meta.get("version"):
        headers["ETag"] = meta["version"]
    if status == 201 and meta.get("location"):
        headers["Location"] = meta["location"]
    if projection is not None:
        resource = projection.apply(resource)
    return ScimResponse(resource, status_code=status, headers=headers)


# Discovery (RFC 7644 section 4): no organization data, so no token needed.


def _reject_filter(request: Request) -> None:
    """Reject a filter on a discovery endpoint with 403 (RFC 7644 section 4).

    The RFC asks for 403 so that a client cannot take the unfiltered
    document for a filtered match.
    """
    if "filter" in request.query_params:
        raise ForbiddenException(detail="discovery endpoints do not support filtering")


@router.get("/ServiceProviderConfig")
async def get_service_provider_config(request: Request) -> ScimResponse:
    """Return the features this service provider supports."""
    _reject_filter(request)
    settings = _services(request).settings
    return ScimResponse(discovery.service_provider_config(settings, _base_url(request)))


@router.get("/ResourceTypes")
async def list_resource_types(request: Request) -> ScimResponse:
    """List the resource types: User (with the enterprise extension) and Group."""
    _reject_filter(request)
    documents = discovery.resource_types(_base_url(request))
    return ScimResponse(list_response(len(documents), 1, documents))


@router.get("/ResourceTypes/{name}")
async def get_resource_type(request: Request, name: str) -> ScimResponse:
    _reject_filter(request)
    for document in discovery.resource_types(_base_url(request)):
        if document["id"] == name:
            return ScimResponse(document)
    raise NotFoundException(detail=f"resource type {name} not found")


@router.get("/Schemas")
async def list_schemas(request: Request) -> ScimResponse:
    """List the schemas of User, the enterprise User extension and Group."""
    _reject_filter(request)
    documents = discovery.schemas(_base_url(request))
    return ScimResponse(list_response(len(documents), 1, documents))


@router.get("/Schemas/{schema_id}")
async def get_schema(request: Request, schema_id: str) -> ScimResponse:
    _reject_filter(request)
    for document in discovery.schemas(_base_url(request)):
        if document["id"] == schema_id:
            return ScimResponse(document)
    raise NotFoundException(detail=f"schema {schema_id} not found")


# Resources


async def _search(
    ctx: ScimContext, handler: ResourceHandler, parameters: SearchParameters
) -> ScimResponse:
    projection = parameters.projection(handler.core_schema, handler.extensions)
    total, resources = await handler.query(ctx, parameters.query(), projection)
    return ScimResponse(list_response(total, parameters.start_index, resources))


def _register(endpoint: str, handler: ResourceHandler) -> None:
    async def list_resources(request: Request, org: AuthenticatedOrg) -> ScimResponse:
        settings = _services(request).settings
        parameters = parse_search(request.query_params, settings.scim_max_results)
        return await _search(_context(request, org), handler, parameters)

    async def search_resources(request: Request, org: AuthenticatedOrg) -> ScimResponse:
        settings = _services(request).settings
        body = await _body(request)
        if not isinstance(body, dict):
            body = {}
        parameters = parse_search(body, settings.scim_max_results)
        return await _search(_context(request, org), handler, parameters)

    async def create_resource(request: Request, org: AuthenticatedOrg) -> ScimResponse:
        projection = _write_projection(request, handler)
        resource = await handler.create(_context(request, org), await _body(request))
        return _resource_response(resource, 201, projection)

    async def get_resource(
        request: Request, org: AuthenticatedOrg, resource_id: str
    ) -> Response:
        projection = _write_projection(request, handler)
        resource, tag = await handler.get(
            _context(request, org), resource_id, projection
        )
        version = int(tag[3:-1])
        if none_match(request.headers.get("if-none-match"), version):
            return Response(status_code=304, headers={"ETag": tag})
        response = ScimResponse(resource)
        response.headers["ETag"] = tag
        return response

    async def replace_resource(
        request: Request, org: AuthenticatedOrg, resource_id: str
    ) -> ScimResponse:
        ctx = _context(request, org)
        if_match = request.headers.get("if-match")
        projection = _write_projection(request, handler)
        body = await _body(request)
        resource = await handler.replace(ctx, resource_id, body, if_match, projection)
        return _resource_response(resource)

    async def patch_resource(
        request: Request, org: AuthenticatedOrg, resource_id: str
    ) -> Response:
        """Apply a PatchOp; a Group PATCH returns 204 unless attributes are requested.

        RFC 7644 section 3.5.2 allows 204 No Content, and Entra ID advises
        against sending a large group's member list back on every change.
        """
        ctx = _context(request, org)
        if_match = request.headers.get("if-match")
        projection = _write_projection(request, handler)
        body = await _body(request)
        if handler.resource_type == "Group" and not _asks_for_attributes(request):
            without_members = Projection(None, ["members"], handler.core_schema)
            resource = await handler.patch(
                ctx, resource_id, body, if_match, without_members
            )
            return Response(
                status_code=204, headers={"ETag": resource["meta"]["version"]}
            )
        resource = await handler.patch(ctx, resource_id, body, if_match, projection)
        return _resource_response(resource)

    async def delete_resource(
        request: Request, org: AuthenticatedOrg, resource_id: str
    ) -> Response:
        ctx = _context(request, org)
        await handler.delete(ctx, resource_id, request.headers.get("if-match"))
        return Response(status_code=204)

    name = handler.resource_type
    router.add_api_route(
        f"/{endpoint}", list_resources, methods=["GET"], name=f"list {name}"
    )
    router.add_api_route(
        f"/{endpoint}", create_resource, methods=["POST"], name=f"create {name}"
    )
    router.add_api_route(
        f"/{endpoint}/.search",
        search_resources,
        methods=["POST"],
        name=f"search {name}",
    )
    path = f"/{endpoint}/{{resource_id}}"
    router.add_api_route(path, get_resource, methods=["GET"], name=f"get {name}")
    router.add_api_route(
        path, replace_resource, methods=["PUT"], name=f"replace {name}"
    )
    router.add_api_route(path, patch_resource, methods=["PATCH"], name=f"patch {name}")
    router.add_api_route(
        path, delete_resource, methods=["DELETE"], name=f"delete {name}"
    )


for _endpoint, _handler in HANDLERS.items():
    _register(_endpoint, _handler)


@router.post("/.search")
async def search_all(request: Request, org: AuthenticatedOrg) -> ScimResponse:
    """Search Users and Groups at once (RFC 7644 section 3.4.3).

    A filter attribute that one resource type lacks makes that type match
    nothing; the filter is invalid only when no type can evaluate it. Results
    list Users before Groups, each sorted by ``sortBy`` where the type has it.
    """
    settings = _services(request).settings
    body = await _body(request)
    parameters = parse_search(
        body if isinstance(body, dict) else {}, settings.scim_max_results
    )
    ctx = _context(request, org)
    query = parameters.query()

    totals: list[tuple[ResourceHandler, int]] = []
    sort_by: dict[str, str | None] = {}
    failures: list[InvalidQuery] = []
    for handler in HANDLERS.values():
        projection = parameters.projection(handler.core_schema, handler.extensions)
        counting = type(query)(filter=query.filter, limit=0)
        try:
            total, _ = await handler.query(ctx, counting, projection)
        except InvalidSort:
            raise
        except InvalidQuery as exc:
            failures.append(exc)
            continue
        totals.append((handler, total))
        sort_by[handler.resource_type] = await _sort_for(ctx, handler, query)
    if not totals:
        raise InvalidFilterException(detail=str(failures[0]))
    if query.sort_by is not None and not any(sort_by.values()):
        raise InvalidSort(f"no resource type can sort on {query.sort_by!r}")

    resources: list[dict[str, Any]] = []
    offset, remaining = query.offset, query.limit
    for handler, total in totals:
        if remaining <= 0:
            break
        if offset >= total:
            offset -= total
            continue
        projection = parameters.projection(handler.core_schema, handler.extensions)
        page_query = type(query)(
            filter=query.filter,
            sort_by=sort_by.get(handler.resource_type),
            descending=query.descending,
            offset=offset,
            limit=remaining,
        )
        _, page = await handler.query(ctx, page_query, projection)
        resources.extend(page)
        remaining -= len(page)
        offset = 0
    grand_total = sum(total for _, total in totals)
    return ScimResponse(list_response(grand_total, parameters.start_index, resources))


async def _sort_for(
    ctx: ScimContext, handler: ResourceHandler, query: ResourceQuery
) -> str | None:
    """Return ``query.sort_by`` if ``handler``'s type can sort on it, else None."""
    if query.sort_by is None:
        return None
    probe = ResourceQuery(sort_by=query.sort_by, limit=0)
    try:
        await handler.query(ctx, probe, Projection(None, None, handler.core_schema))
    except InvalidSort:
        return None
    return query.sort_by


@router.post("/Bulk")
async def bulk(request: Request, org: AuthenticatedOrg) -> ScimResponse:
    """Run several operations in one request (RFC 7644 section 3.7)."""
    settings = _services(request).settings
    body = await _body(request)
    result = await run_bulk(
        _context(request, org), body, settings.scim_bulk_max_operations
    )
    return ScimResponse(result)
