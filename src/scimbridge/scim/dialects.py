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
    requires ``$ref``; the reference is derived from the value, which
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
    if isinstance(manager, dict) and manager.get("value") and not manager.get("$ref"):
        manager = {**manager, "$ref": f"../Users/{manager['value']}"}
    if manager is not extension.get("manager"):
        payload = {**payload, ENTERPRISE_USER: {**extension, "manager": manager}}
    return payload
