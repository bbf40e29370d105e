"""Discovery endpoints' documents (RFC 7644 section 4), describing this server."""

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)

from scimbridge.config import Settings

DOCUMENTATION_URI = "https://datatracker.ietf.org/doc/html/rfc7644"
RESOURCE_MODELS = {"User": User[EnterpriseUser], "Group": Group}
SCHEMA_MODELS = (User, EnterpriseUser, Group)


def service_provider_config(settings: Settings, base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=DOCUMENTATION_URI,
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=settings.scim_bulk_max_operations,
            max_payload_size=settings.scim_max_payload_bytes,
        ),
        filter=Filter(supported=True, max_results=settings.scim_max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="A per-organization SCIM token sent as "
                "'Authorization: Bearer <token>' (RFC 6750).",
                spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
                primary=True,
            )
        ],
    )
    document = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    document["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base_url}/scim/v2/ServiceProviderConfig",
    }
    return document


def resource_types(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for name, model in RESOURCE_MODELS.items():
        document = ResourceType.from_resource(model).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        document["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{base_url}/scim/v2/ResourceTypes/{name}",
        }
        documents.append(document)
    return documents


def schemas(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for model in SCHEMA_MODELS:
        document = model.to_schema().model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        if model is Group:
            _mark_member_display_read_only(document)
        document["meta"] = {
            "resourceType": "Schema",
            "location": f"{base_url}/scim/v2/Schemas/{document['id']}",
        }
        documents.append(document)
    return documents


def _mark_member_display_read_only(document: dict[str, Any]) -> None:
    """Publish ``members.display`` as readOnly and returned on request.

    A member's display name is read from the member itself (its displayName,
    or its userName for a user without one), so a value a client sends is
    ignored. It is returned only when ``attributes`` names it, so that a
    group reads back with the members a client wrote.
    """
    for attribute in document.get("attributes", []):
        if attribute.get("name") != "members":
            continue
        for sub_attribute in attribute.get("subAttributes", []):
            if sub_attribute.get("name") == "display":
                sub_attribute["mutability"] = "readOnly"
                sub_attribute["returned"] = "request"
