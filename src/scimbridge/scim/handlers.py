"""The operations of RFC 7644 section 3 on Users and Groups, free of HTTP.

The router and the Bulk endpoint both call these, so a Bulk operation behaves
exactly like the same request sent alone.
"""

from typing import Any, Protocol
from uuid import UUID

from scim2_models import Context, Group, InvalidValueException, PatchOp

from scimbridge.directory.models import (
    GroupDraft,
    GroupRecord,
    MembershipChange,
    UserDraft,
    UserRecord,
)
from scimbridge.directory.ports import ResourceQuery
from scimbridge.directory.service import MembersLoader, UserChange
from scimbridge.scim import dialects
from scimbridge.scim.membership import fold_member_operations, split_group_patch
from scimbridge.scim.projection import Projection
from scimbridge.scim.resources import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    USER_MODEL,
    USER_SCHEMA,
    ScimContext,
    check_patch_request,
    group_document,
    group_draft,
    group_model,
    group_resource,
    member_ids,
    parse_id,
    stored_document,
    user_document,
    user_draft,
    user_model,
    user_resource,
)
from scimbridge.scim.versioning import etag, expected_version


class ResourceHandler(Protocol):
    resource_type: str
    core_schema: str
    extensions: tuple[str, ...]

    async def create(self, ctx: ScimContext, payload: Any) -> dict[str, Any]: ...
    async def get(
        self, ctx: ScimContext, raw_id: str, projection: Projection | None = None
    ) -> tuple[dict[str, Any], str]: ...
    async def replace(
        self,
        ctx: ScimContext,
        raw_id: str,
        payload: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]: ...
    async def patch(
        self,
        ctx: ScimContext,
        raw_id: str,
        body: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]: ...
    async def delete(
        self, ctx: ScimContext, raw_id: str, if_match: str | None
    ) -> None: ...
    async def query(
        self, ctx: ScimContext, query: ResourceQuery, projection: Projection
    ) -> tuple[int, list[dict[str, Any]]]: ...


def _version_precondition(if_match: str | None) -> int | None:
    return expected_version(if_match)


class UserHandler:
    resource_type = "User"
    core_schema = USER_SCHEMA
    extensions = (ENTERPRISE_USER_SCHEMA,)

    async def create(self, ctx: ScimContext, payload: Any) -> dict[str, Any]:
        document = user_document(payload, Context.RESOURCE_CREATION_REQUEST)
        record = await ctx.services.directory.create_user(
            ctx.org.id, user_draft(document)
        )
        return user_resource(ctx, record, [])

    async def get(
        self, ctx: ScimContext, raw_id: str, projection: Projection | None = None
    ) -> tuple[dict[str, Any], str]:
        user_id = parse_id("User", raw_id)
        with_groups = projection is None or projection.returns("groups")
        record, groups = await ctx.services.directory.user_view(
            ctx.org.id, user_id, with_groups=with_groups
        )
        resource = user_resource(ctx, record, groups)
        if projection is not None:
            resource = projection.apply(resource)
        return resource, etag(record.version)

    async def _update(
        self,
        ctx: ScimContext,
        user_id: UUID,
        change: UserChange,
        if_match: str | None,
        projection: Projection | None,
    ) -> dict[str, Any]:
        """Apply ``change`` and render the user from the same transaction."""
        record, groups = await ctx.services.directory.update_user_view(
            ctx.org.id,
            user_id,
            change,
            _version_precondition(if_match),
            with_groups=projection is None or projection.returns("groups"),
        )
        resource = user_resource(ctx, record, groups)
        return projection.apply(resource) if projection else resource

    async def replace(
        self,
        ctx: ScimContext,
        raw_id: str,
        payload: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]:
        user_id = parse_id("User", raw_id)
        document = user_document(payload, Context.RESOURCE_REPLACEMENT_REQUEST)

        def change(current: UserRecord) -> UserDraft:
            # RFC 7644 section 3.5.1: immutable attributes may not change and
            # read-only ones are kept; scim2-models applies both rules.
            replacement = USER_MODEL.model_validate({**document, "id": str(current.id)})
            replacement.replace(user_model(current))  # type: ignore[attr-defined]
            dumped = replacement.model_dump(
                scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
            )
            stored = stored_document(dumped)
            return user_draft(stored, default_active=current.active)

        return await self._update(ctx, user_id, change, if_match, projection)

    async def patch(
        self,
        ctx: ScimContext,
        raw_id: str,
        body: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]:
        user_id = parse_id("User", raw_id)
        check_patch_request(body)
        patch = PatchOp[USER_MODEL].model_validate(  # type: ignore[valid-type]
            _complete_patch_manager(body),
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            scim_policy=dialects.PATCH_POLICY,
        )

        def change(current: UserRecord) -> UserDraft:
            model = user_model(current)
            patch.patch(model, scim_policy=dialects.PATCH_POLICY)
            dumped = model.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
            stored = stored_document(dumped)
            return user_draft(stored, default_active=True, assign_default=False)

        return await self._update(ctx, user_id, change, if_match, projection)

    async def delete(self, ctx: ScimContext, raw_id: str, if_match: str | None) -> None:
        user_id = parse_id("User", raw_id)
        await ctx.services.directory.delete_user(
            ctx.org.id, user_id, _version_precondition(if_match)
        )

    async def query(
        self, ctx: ScimContext, query: ResourceQuery, projection: Projection
    ) -> tuple[int, list[dict[str, Any]]]:
        page, groups = await ctx.services.directory.user_page(
            ctx.org.id, query, with_groups=projection.returns("groups")
        )
        resources = [
            projection.apply(
                user_resource(
                    ctx,
                    record,
                    groups.get(record.id, []) if projection.returns("groups") else None,
                )
            )
            for record in page.items
        ]
        return page.total, resources


def _complete_patch_manager(body: Any) -> Any:
    """Apply the manager rule of :mod:`dialects` to PATCH values that set it."""
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        return body
    operations = []
    for operation in body["Operations"]:
        if isinstance(operation, dict):
            path = str(operation.get("path") or "")
            value = operation.get("value")
            if path.lower().endswith(":manager") and isinstance(value, str | dict):
                wrapped = dialects.complete_manager(
                    {dialects.ENTERPRISE_USER: {"manager": value}}
                )
                operation = {
                    **operation,
                    "value": wrapped[dialects.ENTERPRISE_USER]["manager"],
                }
            elif path == "" and isinstance(value, dict):
                operation = {**operation, "value": dialects.complete_manager(value)}
        operations.append(operation)
    return {**body, "Operations": operations}


class GroupHandler:
    resource_type = "Group"
    core_schema = GROUP_SCHEMA
    extensions: tuple[str, ...] = ()

    async def create(self, ctx: ScimContext, payload: Any) -> dict[str, Any]:
        document, values = group_document(payload, Context.RESOURCE_CREATION_REQUEST)
        ids = member_ids(values)
        record = await ctx.services.directory.create_group(
            ctx.org.id, group_draft(document), ids
        )
        return await self._render(ctx, record, None)

    async def get(
        self, ctx: ScimContext, raw_id: str, projection: Projection | None = None
    ) -> tuple[dict[str, Any], str]:
        group_id = parse_id("Group", raw_id)
        with_members = projection is None or projection.returns("members")
        record, members = await ctx.services.directory.group_view(
            ctx.org.id, group_id, with_members=with_members
        )
        with_display = projection is not None and projection.requests(
            "members", "display"
        )
        resource = group_resource(ctx, record, members, with_display)
        if projection is not None:
            resource = projection.apply(resource)
        return resource, etag(record.version)

    async def _render(
        self, ctx: ScimContext, record: GroupRecord, projection: Projection | None
    ) -> dict[str, Any]:
        members = None
        if projection is None or projection.returns("members"):
            found = await ctx.services.directory.members_of(ctx.org.id, [record.id])
            members = found.get(record.id, [])
        with_display = projection is not None and projection.requests(
            "members", "display"
        )
        resource = group_resource(ctx, record, members, with_display)
        return projection.apply(resource) if projection else resource

    async def replace(
        self,
        ctx: ScimContext,
        raw_id: str,
        payload: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]:
        group_id = parse_id("Group", raw_id)
        document, values = group_document(payload, Context.RESOURCE_REPLACEMENT_REQUEST)
        replacement_ids = member_ids(values)

        async def change(
            current: GroupRecord, _load: MembersLoader
        ) -> tuple[GroupDraft, MembershipChange]:
            replacement = Group.model_validate({**document, "id": str(current.id)})
            replacement.replace(group_model(current))
            dumped = replacement.model_dump(
                scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
            )
            stored = stored_document(dumped)
            return group_draft(stored), MembershipChange(replace=replacement_ids)

        record = await ctx.services.directory.update_group(
            ctx.org.id, group_id, change, _version_precondition(if_match)
        )
        return await self._render(ctx, record, projection)

    async def patch(
        self,
        ctx: ScimContext,
        raw_id: str,
        body: Any,
        if_match: str | None,
        projection: Projection | None = None,
    ) -> dict[str, Any]:
        group_id = parse_id("Group", raw_id)
        split = split_group_patch(body)
        patch = None
        if split.other_operations:
            patch = PatchOp[Group].model_validate(
                {"schemas": body["schemas"], "Operations": split.other_operations},
                scim_ctx=Context.RESOURCE_PATCH_REQUEST,
                scim_policy=dialects.PATCH_POLICY,
            )

        async def change(
            current: GroupRecord, load_members: MembersLoader
        ) -> tuple[GroupDraft, MembershipChange]:
            membership = await fold_member_operations(
                split.member_operations, load_members
            )
            if patch is None:
                return group_draft(dict(current.attributes)), membership
            model = group_model(current)
            patch.patch(model, scim_policy=dialects.PATCH_POLICY)
            dumped = model.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
            stored = stored_document(dumped)
            return group_draft(stored), membership

        record = await ctx.services.directory.update_group(
            ctx.org.id, group_id, change, _version_precondition(if_match)
        )
        return await self._render(ctx, record, projection)

    async def delete(self, ctx: ScimContext, raw_id: str, if_match: str | None) -> None:
        group_id = parse_id("Group", raw_id)
        await ctx.services.directory.delete_group(
            ctx.org.id, group_id, _version_precondition(if_match)
        )

    async def query(
        self, ctx: ScimContext, query: ResourceQuery, projection: Projection
    ) -> tuple[int, list[dict[str, Any]]]:
        wants_members = projection.returns("members")
        page, members = await ctx.services.directory.group_page(
            ctx.org.id, query, with_members=wants_members
        )
        resources = [
            projection.apply(
                group_resource(
                    ctx,
                    record,
                    members.get(record.id, []) if wants_members else None,
                    projection.requests("members", "display"),
                )
            )
            for record in page.items
        ]
        return page.total, resources


USERS = UserHandler()
GROUPS = GroupHandler()
HANDLERS: dict[str, ResourceHandler] = {"Users": USERS, "Groups": GROUPS}


def require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidValueException(detail="the request body must be a JSON object")
    return payload
