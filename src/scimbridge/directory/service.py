"""The one write path for users and groups.

SCIM provisioning, single sign-on and admin edits all change the directory
through :class:`Directory`, so uniqueness, versioning, membership integrity and
lifecycle events follow the same rules for every caller.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.directory.errors import (
    InvalidMembers,
    InvalidRecord,
    NotFound,
    VersionMismatch,
)
from scimbridge.directory.events import DirectoryEvent, EventKind, Listener
from scimbridge.directory.ids import new_id
from scimbridge.directory.models import (
    GroupDraft,
    GroupRecord,
    GroupRef,
    MemberRef,
    MembershipChange,
    MemberType,
    Page,
    UserDraft,
    UserRecord,
)
from scimbridge.directory.ports import DirectoryStore, DirectoryUnit, ResourceQuery

logger = logging.getLogger(__name__)

MembersLoader = Callable[[], Awaitable[list[MemberRef]]]
UserChange = Callable[[UserRecord], UserDraft]
GroupChange = Callable[
    [GroupRecord, MembersLoader], Awaitable[tuple[GroupDraft, MembershipChange]]
]


class Directory:
    """Use cases on an organization's users and groups."""

    def __init__(self, store: DirectoryStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after each committed change."""
        self._listeners.append(listener)

    async def _emit(
        self,
        kind: EventKind,
        org_id: UUID,
        resource_id: UUID,
        member_ids: Sequence[UUID] = (),
    ) -> None:
        event = DirectoryEvent(
            kind=kind,
            org_id=org_id,
            resource_id=resource_id,
            member_ids=tuple(member_ids),
        )
        logger.info(
            "directory event=%s org_id=%s resource_id=%s", kind, org_id, resource_id
        )
        for listener in self._listeners:
            await listener(event)

    # Users

    async def create_user(self, org_id: UUID, draft: UserDraft) -> UserRecord:
        _check_user(draft)
        now = self._clock()
        user = UserRecord(
            org_id=org_id,
            id=new_id(),
            user_name=draft.user_name,
            external_id=draft.external_id,
            display_name=draft.display_name,
            active=draft.active,
            attributes=draft.attributes,
            version=1,
            created_at=now,
            updated_at=now,
        )
        async with self._store.transaction(write=True, single_statement=True) as unit:
            await unit.users.add(user)
        await self._emit(EventKind.user_created, org_id, user.id)
        return user

    async def get_user(self, org_id: UUID, user_id: UUID) -> UserRecord:
        async with self._store.transaction() as unit:
            user = await unit.users.get(org_id, user_id)
        if user is None:
            raise NotFound("User", user_id)
        return user

    async def user_view(
        self, org_id: UUID, user_id: UUID, *, with_groups: bool
    ) -> tuple[UserRecord, list[GroupRef] | None]:
        """Return a user and, if asked, its groups, in one transaction."""
        async with self._store.transaction() as unit:
            if not with_groups:
                user = await unit.users.get(org_id, user_id)
                if user is None:
                    raise NotFound("User", user_id)
                return user, None
            found = await unit.users.get_with_groups(org_id, user_id)
        if found is None:
            raise NotFound("User", user_id)
        return found

    async def user_page(
        self, org_id: UUID, query: ResourceQuery, *, with_groups: bool
    ) -> tuple[Page[UserRecord], dict[UUID, list[GroupRef]]]:
        """Return a page of users and, if asked, their groups, in one transaction."""
        async with self._store.transaction() as unit:
            if with_groups:
                return await unit.users.query_with_groups(org_id, query)
            return await unit.users.query(org_id, query), {}

    async def group_view(
        self, org_id: UUID, group_id: UUID, *, with_members: bool
    ) -> tuple[GroupRecord, list[MemberRef] | None]:
        """Return a group and, if asked, its members, in one transaction."""
        async with self._store.transaction() as unit:
            group = await unit.groups.get(org_id, group_id)
            if group is None:
                raise NotFound("Group", group_id)
            if not with_members:
                return group, None
            members = await unit.groups.members(org_id, [group_id])
        return group, members.get(group_id, [])

    async def group_page(
        self, org_id: UUID, query: ResourceQuery, *, with_members: bool
    ) -> tuple[Page[GroupRecord], dict[UUID, list[MemberRef]]]:
        """Return a page of groups and, if asked, their members, in one transaction."""
        async with self._store.transaction() as unit:
            page = await unit.groups.query(org_id, query)
            members: dict[UUID, list[MemberRef]] = {}
            if with_members and page.items:
                ids = [group.id for group in page.items]
                members = await unit.groups.members(org_id, ids)
        return page, members

    async def query_users(self, org_id: UUID, query: ResourceQuery) -> Page[UserRecord]:
        async with self._store.transaction() as unit:
            return await unit.users.query(org_id, query)

    async def groups_of(
        self, org_id: UUID, user_ids: Sequence[UUID]
    ) -> dict[UUID, list[GroupRef]]:
        """Return the groups each user belongs to directly."""
        if not user_ids:
            return {}
        async with self._store.transaction() as unit:
            return await unit.users.groups_of(org_id, user_ids)

    async def update_user(
        self,
        org_id: UUID,
        user_id: UUID,
        change: UserChange,
        expected_version: int | None = None,
    ) -> UserRecord:
        """Apply ``change`` to the stored user under a row lock, atomically.

        ``change`` returns the user's new writable state; it may raise to
        abort, and then nothing is written.
        """
        user, _ = await self.update_user_view(
            org_id, user_id, change, expected_version, with_groups=False
        )
        return user

    async def update_user_view(
        self,
        org_id: UUID,
        user_id: UUID,
        change: UserChange,
        expected_version: int | None = None,
        *,
        with_groups: bool,
    ) -> tuple[UserRecord, list[GroupRef] | None]:
        """Run :meth:`update_user` and return the user's groups too, if asked.

        The groups are read with the locked row, in the same statement.
        """
        groups: list[GroupRef] | None = None
        async with self._store.transaction(write=True) as unit:
            if with_groups:
                found = await unit.users.get_with_groups(
                    org_id, user_id, for_update=True
                )
                user, groups = found if found is not None else (None, None)
            else:
                user = await unit.users.get(org_id, user_id, for_update=True)
            if user is None:
                raise NotFound("User", user_id)
            _check_version(user.version, expected_version)
            was_active = user.active

            draft = change(user)
            _check_user(draft)
            if _same_user(user, draft):
                return user, groups
            user.user_name = draft.user_name
            user.external_id = draft.external_id
            user.display_name = draft.display_name
            user.active = draft.active
            user.attributes = draft.attributes
            user.version += 1
            user.updated_at = self._clock()
            await unit.users.update(user)

        if was_active and not user.active:
            await self._emit(EventKind.user_deactivated, org_id, user_id)
        elif user.active and not was_active:
            await self._emit(EventKind.user_reactivated, org_id, user_id)
        else:
            await self._emit(EventKind.user_updated, org_id, user_id)
        return user, groups

    async def delete_user(
        self, org_id: UUID, user_id: UUID, expected_version: int | None = None
    ) -> None:
        """Delete a user and its memberships for good."""
        async with self._store.transaction(write=True) as unit:
            user = await unit.users.get(org_id, user_id, for_update=True)
            if user is None:
                raise NotFound("User", user_id)
            _check_version(user.version, expected_version)
            await unit.groups.remove_from_all_groups(org_id, user_id)
            await unit.users.delete(org_id, user_id)
        await self._emit(EventKind.user_deleted, org_id, user_id)

    # Groups

    async def create_group(
        self, org_id: UUID, draft: GroupDraft, member_ids: Sequence[UUID] = ()
    ) -> GroupRecord:
        _check_group(draft)
        now = self._clock()
        group = GroupRecord(
            org_id=org_id,
            id=new_id(),
            display_name=draft.display_name,
            external_id=draft.external_id,
            attributes=draft.attributes,
            version=1,
            created_at=now,
            updated_at=now,
        )
        async with self._store.transaction(write=True) as unit:
            members = await _resolve_members(unit, org_id, group.id, member_ids)
            await unit.groups.add(group)
            if members:
                await unit.groups.add_members(org_id, group.id, members)
        await self._emit(EventKind.group_created, org_id, group.id, list(members))
        return group

    async def get_group(self, org_id: UUID, group_id: UUID) -> GroupRecord:
        async with self._store.transaction() as unit:
            group = await unit.groups.get(org_id, group_id)
        if group is None:
            raise NotFound("Group", group_id)
        return group

    async def query_groups(
        self, org_id: UUID, query: ResourceQuery
    ) -> Page[GroupRecord]:
        async with self._store.transaction() as unit:
            return await unit.groups.query(org_id, query)

    async def members_of(
        self, org_id: UUID, group_ids: Sequence[UUID]
    ) -> dict[UUID, list[MemberRef]]:
        if not group_ids:
            return {}
        async with self._store.transaction() as unit:
            return await unit.groups.members(org_id, group_ids)

    async def update_group(
        self,
        org_id: UUID,
        group_id: UUID,
        change: GroupChange,
        expected_version: int | None = None,
    ) -> GroupRecord:
        """Apply ``change`` to a group under a row lock, atomically.

        Member additions and removals touch only the rows they name, so their
        cost does not depend on the size of the group. Concurrent changes to
        one group are serialized by the lock, so none is lost.
        """
        async with self._store.transaction(write=True) as unit:
            group = await unit.groups.get(org_id, group_id, for_update=True)
            if group is None:
                raise NotFound("Group", group_id)
            _check_version(group.version, expected_version)

            async def load_members() -> list[MemberRef]:
                found = await unit.groups.members(org_id, [group_id])
                return found.get(group_id, [])

            draft, membership = await change(group, load_members)
            _check_group(draft)
            attributes_changed = (
                draft.display_name != group.display_name
                or draft.external_id != group.external_id
                or draft.attributes != group.attributes
            )
            if not attributes_changed and membership.is_empty:
                return group

            changed_members = await _apply_membership(
                unit, org_id, group_id, membership
            )
            group.display_name = draft.display_name
            group.external_id = draft.external_id
            group.attributes = draft.attributes
            group.version += 1
            group.updated_at = self._clock()
            await unit.groups.update(group)
        await self._emit(EventKind.group_updated, org_id, group_id, changed_members)
        return group

    async def delete_group(
        self, org_id: UUID, group_id: UUID, expected_version: int | None = None
    ) -> None:
        async with self._store.transaction(write=True) as unit:
            group = await unit.groups.get(org_id, group_id, for_update=True)
            if group is None:
                raise NotFound("Group", group_id)
            _check_version(group.version, expected_version)
            await unit.groups.remove_from_all_groups(org_id, group_id)
            former = await unit.groups.clear_members(org_id, group_id)
            await unit.groups.delete(org_id, group_id)
        await self._emit(EventKind.group_deleted, org_id, group_id, former)


def _check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise VersionMismatch(current)


def _check_user(draft: UserDraft) -> None:
    if not draft.user_name or not draft.user_name.strip():
        raise InvalidRecord("userName must be a non-empty string")


def _check_group(draft: GroupDraft) -> None:
    if not draft.display_name or not draft.display_name.strip():
        raise InvalidRecord("displayName must be a non-empty string")


def _same_user(user: UserRecord, draft: UserDraft) -> bool:
    return (
        user.user_name == draft.user_name
        and user.external_id == draft.external_id
        and user.display_name == draft.display_name
        and user.active == draft.active
        and user.attributes == draft.attributes
    )


async def _resolve_members(
    unit: DirectoryUnit, org_id: UUID, group_id: UUID, member_ids: Sequence[UUID]
) -> dict[UUID, MemberType]:
    """Return the type of each member id, or raise InvalidMembers for unknown ones."""
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        return {}
    if group_id in wanted:
        raise InvalidRecord("a group cannot be a member of itself")
    types = await unit.groups.member_types(org_id, wanted)
    missing = [member_id for member_id in wanted if member_id not in types]
    if missing:
        raise InvalidMembers(missing)
    return types


async def _apply_membership(
    unit: DirectoryUnit, org_id: UUID, group_id: UUID, change: MembershipChange
) -> list[UUID]:
    """Apply a membership change; return the ids whose membership may have changed."""
    touched: dict[UUID, None] = {}
    if change.replace is not None:
        touched.update(dict.fromkeys(await unit.groups.clear_members(org_id, group_id)))
        replacement = await _resolve_members(unit, org_id, group_id, change.replace)
        if replacement:
            await unit.groups.add_members(org_id, group_id, replacement)
        touched.update(dict.fromkeys(replacement))
    if change.remove:
        await unit.groups.remove_members(org_id, group_id, change.remove)
        touched.update(dict.fromkeys(change.remove))
    additions = await _resolve_members(unit, org_id, group_id, change.add)
    if additions:
        await unit.groups.add_members(org_id, group_id, additions)
    touched.update(dict.fromkeys(additions))
    return list(touched)
