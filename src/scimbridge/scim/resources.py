"""User and Group resources: mapping between SCIM JSON and directory records.

Requests are validated with scim2-models in the context of the operation
(creation, replacement, PATCH), so read-only attributes are ignored and
mutability rules apply. Responses are built directly from the stored JSON,
which keeps listing a page of resources cheap.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    InvalidValueException,
    NotFoundException,
    User,
)

from scimbridge.directory.models import (
    GroupDraft,
    GroupRecord,
    GroupRef,
    MemberRef,
    Organization,
    UserDraft,
    UserRecord,
)
from scimbridge.scim import dialects
from scimbridge.scim.versioning import etag
from scimbridge.services import Services

USER_MODEL: type[BaseModel] = User[EnterpriseUser]
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = dialects.ENTERPRISE_USER

NOT_STORED = ("id", "meta", "groups", "members", "password")
"""Attributes kept out of the stored document: derived, read-only or secret.

``password`` is write-only (RFC 7643 section 4.1.1) and scimbridge signs
users in through their IdP, so it is dropped rather than stored.
"""


@dataclass(frozen=True, slots=True)
class ScimContext:
    """The request scope of a SCIM call: its organization, services and base URL."""

    org: Organization
    services: Services
    base_url: str

    def location(self, resource_type: str, resource_id: UUID) -> str:
        return f"{self.base_url}/scim/v2/{resource_type}s/{resource_id}"


def parse_id(resource_type: str, raw: str) -> UUID:
    """Parse a resource id; an id that is no UUID names no resource (404)."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFoundException(detail=f"{resource_type} {raw} not found") from None


def _timestamp(moment: datetime) -> str:
    """Format a timestamp as RFC 3339 with milliseconds, in UTC as ``Z``."""
    if moment.utcoffset() != timedelta(0):
        return moment.isoformat(timespec="milliseconds")
    # The same text as isoformat() gives for UTC, in a third of its time,
    # which counts on a page of users with two timestamps each.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )


def _meta(
    ctx: ScimContext,
    resource_type: str,
    resource_id: UUID,
    created: datetime,
    modified: datetime,
    version: int,
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": _timestamp(created),
        "lastModified": _timestamp(modified),
        "location": ctx.location(resource_type, resource_id),
        "version": etag(version),
    }


def _check_schemas(payload: Any, core: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidValueException(detail="the request body must be a JSON object")
    schemas = payload.get("schemas")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidValueException(detail=f"schemas must be a list holding {core}")
    lowered = {schema.lower() for schema in schemas}
    if core.lower() not in lowered:
        raise InvalidValueException(detail=f"schemas must hold {core}")
    unknown = sorted(lowered - {schema.lower() for schema in (core, *allowed)})
    if unknown:
        raise InvalidValueException(detail=f"unknown schemas: {', '.join(unknown)}")
    return payload


MAX_STRING_LENGTH = 4096
"""Maximum length of a stored string value; SCIM defines none."""


def _check_strings(value: Any, path: str = "") -> None:
    """Reject NUL characters, which PostgreSQL text and JSONB cannot store,
    and strings longer than :data:`MAX_STRING_LENGTH`."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidValueException(
                detail=f"{path or 'a value'} contains a NUL character"
            )
        if len(value) > MAX_STRING_LENGTH:
            raise InvalidValueException(
                detail=f"{path or 'a value'} exceeds {MAX_STRING_LENGTH} characters"
            )
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(item, f"{path}.{key}" if path else str(key))


def _without_nulls(payload: dict[str, Any]) -> dict[str, Any]:
    """Drop attributes whose value is null, at the top and in extensions.

    RFC 7643 section 2.5 makes null equivalent to unassigned. Entra ID's
    documented create request sends nulls, some for enterprise attributes
    (``department``, ``manager``) outside the extension object. Because they
    are unassigned, they are dropped rather than rejected as unknown.
    """
    cleaned: dict[str, Any] = {}
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, dict) and key.lower().startswith("urn:"):
            value = {k: v for k, v in value.items() if v is not None}
        cleaned[key] = value
    return cleaned


def stored_document(document: dict[str, Any]) -> dict[str, Any]:
    """Return the attributes of a validated resource that are stored."""
    stored = {key: value for key, value in document.items() if key not in NOT_STORED}
    _check_strings(stored)
    return stored


PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def check_patch_request(body: Any) -> list[Any]:
    """Check a PATCH body's envelope (RFC 7644 section 3.5.2); return its operations."""
    if not isinstance(body, dict):
        raise InvalidValueException(detail="the PATCH body must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP_SCHEMA not in schemas:
        raise InvalidValueException(detail=f"schemas must hold {PATCH_OP_SCHEMA}")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(
            detail="Operations must hold one or more operations"
        )
    return operations


# Users


def user_document(payload: Any, context: Context) -> dict[str, Any]:
    """Validate a User request body and return the attributes to store."""
    payload = dialects.normalize_schemas(payload, USER_SCHEMA)
    payload = _check_schemas(payload, USER_SCHEMA, (ENTERPRISE_USER_SCHEMA,))
    payload = _without_nulls(payload)
    payload = dialects.complete_manager(payload)
    model = USER_MODEL.model_validate(payload, scim_ctx=context)
    return stored_document(model.model_dump(scim_ctx=context))


def user_draft(
    document: dict[str, Any], default_active: bool = True, assign_default: bool = True
) -> UserDraft:
    """Build the user state from a stored document.

    Without ``active`` the user counts as ``default_active``. With
    ``assign_default`` the document records that value too; a PATCH that
    removes ``active`` leaves it unassigned (RFC 7644 section 3.5.2.2)
    while the user stays active.
    """
    active = document.get("active")
    if active is None:
        active = default_active
        if assign_default:
            document = {**document, "active": active}
    return UserDraft(
        user_name=document.get("userName") or "",
        external_id=document.get("externalId"),
        display_name=document.get("displayName"),
        active=bool(active),
        attributes=document,
    )


def user_model(record: UserRecord) -> BaseModel:
    """Rebuild the scim2-models User of a stored record, to apply a PATCH to it."""
    return USER_MODEL.model_validate({**record.attributes, "id": str(record.id)})


def user_resource(
    ctx: ScimContext, record: UserRecord, groups: list[GroupRef] | None
) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": str(record.id), **record.attributes}
    resource["schemas"] = record.attributes.get("schemas") or [USER_SCHEMA]
    if groups is not None:
        resource["groups"] = [
            {
                "value": str(group.id),
                "$ref": ctx.location("Group", group.id),
                "display": group.display,
                "type": "direct",
            }
            for group in groups
        ]
    resource["meta"] = _meta(
        ctx, "User", record.id, record.created_at, record.updated_at, record.version
    )
    return resource


# Groups


def group_document(payload: Any, context: Context) -> tuple[dict[str, Any], list[Any]]:
    """Validate a Group request body; return the attributes and the member values."""
    payload = dialects.normalize_schemas(payload, GROUP_SCHEMA)
    payload = _check_schemas(payload, GROUP_SCHEMA, ())
    payload = _without_nulls(payload)
    members = payload.get("members")
    without_members = {k: v for k, v in payload.items() if k.lower() != "members"}
    model = Group.model_validate(without_members, scim_ctx=context)
    member_values = _member_values(members)
    return stored_document(model.model_dump(scim_ctx=context)), member_values


def _member_values(members: Any) -> list[Any]:
    if members is None:
        return []
    if not isinstance(members, list):
        raise InvalidValueException(detail="members must be a list")
    values = []
    for member in members:
        if not isinstance(member, dict) or "value" not in member:
            raise InvalidValueException(detail="each member must have a value")
        values.append(member["value"])
    return values


def member_ids(values: list[Any]) -> list[UUID]:
    """Parse member values; values that are no UUID are reported as unknown ids."""
    parsed: list[UUID] = []
    invalid: list[str] = []
    for value in values:
        try:
            parsed.append(UUID(str(value)))
        except ValueError:
            invalid.append(str(value))
    if invalid:
        raise InvalidValueException(
            detail="no user or group in this organization has id: " + ", ".join(invalid)
        )
    return parsed


def group_draft(document: dict[str, Any]) -> GroupDraft:
    return GroupDraft(
        display_name=document.get("displayName") or "",
        external_id=document.get("externalId"),
        attributes=document,
    )


def group_model(record: GroupRecord) -> Group:
    return Group.model_validate({**record.attributes, "id": str(record.id)})


def group_resource(
    ctx: ScimContext,
    record: GroupRecord,
    members: list[MemberRef] | None,
    with_display: bool = False,
) -> dict[str, Any]:
    """Render a group; ``members.display`` is ``returned: request`` (see discovery)."""
    resource: dict[str, Any] = {"id": str(record.id), **record.attributes}
    resource["schemas"] = record.attributes.get("schemas") or [GROUP_SCHEMA]
    if members is not None:
        rendered = []
        for member in members:
            entry = {
                "value": str(member.id),
                "$ref": ctx.location(member.type, member.id),
                "type": member.type,
            }
            if with_display and member.display is not None:
                entry["display"] = member.display
            rendered.append(entry)
        resource["members"] = rendered
    resource["meta"] = _meta(
        ctx, "Group", record.id, record.created_at, record.updated_at, record.version
    )
    return resource
