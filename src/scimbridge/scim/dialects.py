"""Named, documented deviations from RFC 7643/7644 that real IdPs rely on.

Each rule names the IdP that needs it; everything else is validated strictly.
"""

from typing import Any

from scim2_models import ScimPolicy

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

PATCH_POLICY = ScimPolicy(
    # Microsoft Entra ID sends {"op": "Remove", "path": "members", "value":
    # [{"value": "<id>"}]} to remove those members; read strictly, it would
    # remove every member (learn.microsoft.com, "Known issues and resolutions
    # with SCIM 2.0 protocol compliance of the Microsoft Entra user
    # provisioning service").
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra ID sends replace on emails[type eq "work"].value for a user with
    # no work email yet, and expects the email to be added.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def complete_manager(payload: Any) -> Any:
    """Accept an enterprise ``manager`` that carries ``value`` without ``$ref``.

    Okta and Entra ID send ``{"value": "<id>"}`` alone, while scim2-models
    requires ``$ref``. The reference is derived from the value, which
    RFC 7643 section 4.3 defines as the manager's id.
    """
    if not isinstance(payload, dict):
        return payload
    extension = payload.get(ENTERPRISE_USER)
    if not isinstance(extension, dict):
        return payload
    manager = extension.get("manager")
    if isinstance(manager, str):
        manager = {"value": manager}
    if (
        isinstance(manager, dict)
        and not manager.get("value")
        and not manager.get("$ref")
    ):
        # OneLogin and Entra ID templates send an empty manager for users
        # who have none; it means "no manager", not an invalid reference.
        manager = None
    if isinstance(manager, dict) and manager.get("value") and not manager.get("$ref"):
        manager = {**manager, "$ref": f"../Users/{manager['value']}"}
    if manager is not extension.get("manager"):
        payload = {**payload, ENTERPRISE_USER: {**extension, "manager": manager}}
    return payload


CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

LEGACY_CORE = "urn:scim:schemas:core:2.0"
"""OneLogin's "SCIM v2 Enterprise" app lists this pre-RFC core URN in PUT bodies."""

SCHEMA_ALIASES = {
    # OneLogin sends the pre-RFC enterprise extension URN, as a schema and as
    # the key of the extension's attributes.
    "urn:scim:schemas:extension:enterprise:2.0": ENTERPRISE_USER,
    # Older Entra ID payloads list the enterprise URN with its last colon
    # missing, as documented in Microsoft's SCIM provisioning tutorial.
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": ENTERPRISE_USER,
}

IGNORED_SCHEMAS = frozenset(
    {
        # Entra ID lists its own group schema next to the core one on POST
        # /Groups; it declares no attribute scimbridge stores.
        "http://schemas.microsoft.com/2006/11/resourcemanagement/adscim/2.0/group",
    }
)


def normalize_schemas(payload: Any, core: str) -> Any:
    """Map the legacy and vendor schema URNs that IdPs send to the RFC ones.

    The ``schemas`` list and extension keys are rewritten; an unknown URN is
    left in place, so that validation still rejects it.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("schemas"), list):
        return payload
    schemas: list[Any] = []
    for schema in payload["schemas"]:
        if not isinstance(schema, str):
            schemas.append(schema)
            continue
        lowered = schema.lower()
        if lowered in IGNORED_SCHEMAS:
            continue
        if lowered == LEGACY_CORE:
            schema = core
        schema = next(
            (
                canonical
                for alias, canonical in SCHEMA_ALIASES.items()
                if alias.lower() == lowered
            ),
            schema,
        )
        if schema not in schemas:
            schemas.append(schema)

    normalized = {**payload, "schemas": schemas}
    for key in list(normalized):
        canonical = next(
            (c for alias, c in SCHEMA_ALIASES.items() if alias.lower() == key.lower()),
            None,
        )
        if canonical is not None and canonical not in normalized:
            normalized[canonical] = normalized.pop(key)
    return normalized
