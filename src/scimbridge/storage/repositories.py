"""Repositories on SQLAlchemy Core, one per record kind, sharing one connection."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scimbridge.directory.errors import UniquenessConflict
from scimbridge.directory.models import (
    GroupRecord,
    GroupRef,
    MemberRef,
    MemberType,
    Organization,
    OrgStatus,
    Page,
    ScimToken,
    UserRecord,
    user_name_key,
)
from scimbridge.directory.ports import ResourceQuery
from scimbridge.storage import filtering
from scimbridge.storage.access_repositories import SqlAccess
from scimbridge.storage.access_tables import AdminTokenRow
from scimbridge.storage.provider_repositories import SqlProvider
from scimbridge.storage.tables import (
    GroupMemberRow,
    GroupRow,
    OrganizationRow,
    ScimTokenRow,
    UserRow,
)
from scimbridge.storage.user_statements import (
    USER_COLUMNS,
    group_refs,
    known_total,
    page_statement,
    unfiltered_page_statement,
    user_record,
    user_statements,
)

CHUNK_SIZE = 1000
"""Ids per IN list, well under the bind-parameter limits of both drivers."""

organizations = OrganizationRow.__table__
scim_tokens = ScimTokenRow.__table__
users = UserRow.__table__
groups = GroupRow.__table__
group_members = GroupMemberRow.__table__


def _display_key(display_name: str) -> str:
    return display_name.lower()


class SqlOrganizations:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, org: Organization) -> None:
        try:
            async with self._c.begin_nested():
                await self._insert(org)
        except IntegrityError as exc:
            # Two creates with one slug at once: the unique index decides.
            raise UniquenessConflict("slug", "by another organization") from exc

    async def _insert(self, org: Organization) -> None:
        await self._c.execute(
            insert(organizations).values(
                id=org.id,
                slug=org.slug,
                name=org.name,
                status=org.status.value,
                created_at=org.created_at,
                updated_at=org.updated_at,
            )
        )

    async def get(self, org_id: uuid.UUID) -> Organization | None:
        row = (
            await self._c.execute(
                select(organizations).where(organizations.c.id == org_id)
            )
        ).first()
        return None if row is None else _org(row)

    async def get_by_slug(self, slug: str) -> Organization | None:
        row = (
            await self._c.execute(
                select(organizations).where(organizations.c.slug == slug)
            )
        ).first()
        return None if row is None else _org(row)

    async def list_inactive_since(self, since: datetime) -> list[Organization]:
        rows = await self._c.execute(
            select(organizations).where(
                organizations.c.status != OrgStatus.active.value,
                organizations.c.updated_at >= since,
            )
        )
        return [_org(row) for row in rows]

    async def list(self) -> list[Organization]:
        rows = await self._c.execute(
            select(organizations).order_by(
                organizations.c.created_at, organizations.c.id
            )
        )
        return [_org(row) for row in rows]

    async def set_status(
        self, org_id: uuid.UUID, status: OrgStatus, when: datetime
    ) -> Organization | None:
        await self._c.execute(
            update(organizations)
            .where(organizations.c.id == org_id)
            .values(status=status.value, updated_at=when)
        )
        return await self.get(org_id)


def _org(row: Any) -> Organization:
    return Organization(
        id=row.id,
        slug=row.slug,
        name=row.name,
        status=OrgStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlScimTokens:
    """Bearer tokens of one kind: SCIM tokens, or org admin tokens by ``table``."""

    def __init__(self, connection: AsyncConnection, table: Any = None) -> None:
        self._c = connection
        self._table = scim_tokens if table is None else table

    async def add(self, token: ScimToken, token_hash: str) -> None:
        await self._c.execute(
            insert(self._table).values(
                org_id=token.org_id,
                id=token.id,
                prefix=token.prefix,
                token_hash=token_hash,
                created_at=token.created_at,
                last_used_at=None,
                revoked_at=None,
            )
        )

    async def find_active(self, org_id: uuid.UUID, token_hash: str) -> ScimToken | None:
        row = (
            await self._c.execute(
                select(self._table).where(
                    self._table.c.org_id == org_id,
                    self._table.c.token_hash == token_hash,
                    self._table.c.revoked_at.is_(None),
                )
            )
        ).first()
        return None if row is None else _token(row)

    async def list(self, org_id: uuid.UUID) -> list[ScimToken]:
        rows = await self._c.execute(
            select(self._table)
            .where(self._table.c.org_id == org_id)
            .order_by(self._table.c.created_at, self._table.c.id)
        )
        return [_token(row) for row in rows]

    async def revoke(self, org_id: uuid.UUID, prefix: str, when: datetime) -> bool:
        result = await self._c.execute(
            update(self._table)
            .where(
                self._table.c.org_id == org_id,
                self._table.c.prefix == prefix,
                self._table.c.revoked_at.is_(None),
            )
            .values(revoked_at=when)
        )
        return bool(result.rowcount)

    async def touch(
        self, org_id: uuid.UUID, token_id: uuid.UUID, when: datetime
    ) -> None:
        await self._c.execute(
            update(self._table)
            .where(self._table.c.org_id == org_id, self._table.c.id == token_id)
            .values(last_used_at=when)
        )


def _token(row: Any) -> ScimToken:
    return ScimToken(
        org_id=row.org_id,
        id=row.id,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlUsers:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection
        self._dialect = connection.dialect.name
        self._statements = user_statements(self._dialect)

    async def get(
        self, org_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> UserRecord | None:
        statements = self._statements
        statement = statements.by_id_for_update if for_update else statements.by_id
        result = await self._c.execute(
            statement, {"org_id": org_id, "user_id": user_id}
        )
        row = result.first()
        return None if row is None else user_record(row)

    async def get_with_groups(
        self, org_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> tuple[UserRecord, list[GroupRef]] | None:
        statements = self._statements
        statement = (
            statements.by_id_with_groups_for_update
            if for_update
            else statements.by_id_with_groups
        )
        result = await self._c.execute(
            statement, {"org_id": org_id, "user_id": user_id}
        )
        row = result.first()
        if row is None:
            return None
        return user_record(row), group_refs(row[USER_COLUMNS], self._dialect)

    async def add(self, user: UserRecord) -> None:
        await self._write(_INSERT_USER, _user_values(user))

    async def update(self, user: UserRecord) -> None:
        values = _user_values(user)
        del values["org_id"], values["id"], values["created_at"]
        values["key_org_id"] = user.org_id
        values["key_id"] = user.id
        await self._write(_UPDATE_USER, values)

    async def _write(self, statement: Any, values: dict[str, Any]) -> None:
        # No savepoint: a uniqueness violation aborts the transaction on
        # PostgreSQL, and every caller ends its transaction on this error, so
        # the savepoint's two extra round trips per write bought nothing.
        try:
            await self._c.execute(statement, values)
        except IntegrityError as exc:
            raise UniquenessConflict("userName") from exc

    async def delete(self, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self._c.execute(
            delete(users).where(users.c.org_id == org_id, users.c.id == user_id)
        )

    async def query(self, org_id: uuid.UUID, query: ResourceQuery) -> Page[UserRecord]:
        page, _ = await self._query(org_id, query, with_groups=False)
        return page

    async def query_with_groups(
        self, org_id: uuid.UUID, query: ResourceQuery
    ) -> tuple[Page[UserRecord], dict[uuid.UUID, list[GroupRef]]]:
        return await self._query(org_id, query, with_groups=True)

    async def _query(
        self, org_id: uuid.UUID, query: ResourceQuery, *, with_groups: bool
    ) -> tuple[Page[UserRecord], dict[uuid.UUID, list[GroupRef]]]:
        page_query, count_query, groups_in_rows = self._statements_for(
            query, with_groups
        )
        items: list[UserRecord] = []
        found: dict[uuid.UUID, list[GroupRef]] = {}
        if query.limit > 0:
            rows = await self._c.execute(
                page_query,
                {"org_id": org_id, "offset": query.offset, "limit": query.limit},
            )
            for row in rows:
                user = user_record(row)
                items.append(user)
                if groups_in_rows:
                    found[user.id] = group_refs(row[USER_COLUMNS], self._dialect)
        if with_groups and not groups_in_rows and items:
            found = await self.groups_of(org_id, [user.id for user in items])

        # A short page gives the total, which spares the count for filters
        # such as the userName eq that IdPs send before each create.
        total = known_total(query.offset, query.limit, len(items))
        if total is None:
            result = await self._c.execute(count_query, {"org_id": org_id})
            total = result.scalar_one()
        return Page(total=total, items=items), found

    def _statements_for(
        self, query: ResourceQuery, with_groups: bool
    ) -> tuple[Any, Any, bool]:
        """Return the page and count statements, and whether pages carry groups.

        Groups come in the page's rows where no OFFSET makes PostgreSQL look
        them up for skipped rows too, or where the statement is prebuilt.
        Otherwise they are read after the page, in a second statement.
        """
        statements = self._statements
        if query.filter is None:
            if with_groups and query.sort_by is None:
                return statements.page_with_groups, statements.count_all, True
            page_query = unfiltered_page_statement(
                self._dialect, query.sort_by, query.descending
            )
            return page_query, statements.count_all, False

        # The ORDER BY is built first so that an invalid sortBy is rejected
        # even when no resource matches.
        order = filtering.user_order(query.sort_by, query.descending, self._dialect)
        condition = filtering.user_condition(query.filter, self._dialect)
        count_query = statements.count_all.where(condition)
        if query.sort_by is not None:
            page_query = page_statement(statements.in_org, condition, order)
            return page_query, count_query, False
        if with_groups and query.offset == 0:
            page_query = statements.in_org_page_with_groups.where(condition)
            return page_query, count_query, True
        return statements.in_org_page.where(condition), count_query, False

    async def groups_of(
        self, org_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[GroupRef]]:
        found: dict[uuid.UUID, list[GroupRef]] = {}
        for start in range(0, len(user_ids), CHUNK_SIZE):
            rows = await self._c.execute(
                self._statements.groups_of,
                {
                    "org_id": org_id,
                    "user_ids": list(user_ids[start : start + CHUNK_SIZE]),
                },
            )
            for member_id, group_id, display in rows:
                found.setdefault(member_id, []).append(
                    GroupRef(id=group_id, display=display)
                )
        return found


_INSERT_USER = insert(users)
_UPDATE_USER = update(users).where(
    users.c.org_id == bindparam("key_org_id"), users.c.id == bindparam("key_id")
)
"""The user writes, built once. Their columns come from the parameters, and the
key parameters are named apart from the columns, as SQLAlchemy requires."""


def _user_values(user: UserRecord) -> dict[str, Any]:
    return {
        "org_id": user.org_id,
        "id": user.id,
        "user_name": user.user_name,
        "user_name_key": user_name_key(user.user_name),
        "external_id": user.external_id,
        "display_name": user.display_name,
        "active": user.active,
        "attributes": user.attributes,
        "version": user.version,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


class SqlGroups:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def get(
        self, org_id: uuid.UUID, group_id: uuid.UUID, *, for_update: bool = False
    ) -> GroupRecord | None:
        statement = select(groups).where(
            groups.c.org_id == org_id, groups.c.id == group_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self._c.execute(statement)).first()
        return None if row is None else _group(row)

    async def add(self, group: GroupRecord) -> None:
        await self._c.execute(insert(groups).values(**_group_values(group)))

    async def update(self, group: GroupRecord) -> None:
        values = _group_values(group)
        del values["org_id"], values["id"], values["created_at"]
        await self._c.execute(
            update(groups)
            .where(groups.c.org_id == group.org_id, groups.c.id == group.id)
            .values(**values)
        )

    async def delete(self, org_id: uuid.UUID, group_id: uuid.UUID) -> None:
        await self._c.execute(
            delete(groups).where(groups.c.org_id == org_id, groups.c.id == group_id)
        )

    async def query(self, org_id: uuid.UUID, query: ResourceQuery) -> Page[GroupRecord]:
        # The ORDER BY is built first so that an invalid sortBy is rejected
        # even when no resource matches.
        order = filtering.group_order(
            query.sort_by, query.descending, self._c.dialect.name
        )
        condition = groups.c.org_id == org_id
        if query.filter is not None:
            condition = condition & filtering.group_condition(
                query.filter, self._c.dialect.name
            )
        total = (
            await self._c.execute(
                select(func.count()).select_from(groups).where(condition)
            )
        ).scalar_one()
        if query.limit == 0 or query.offset >= total:
            return Page(total=total, items=[])

        rows = await self._c.execute(
            select(groups)
            .where(condition)
            .order_by(*order)
            .offset(query.offset)
            .limit(query.limit)
        )
        return Page(total=total, items=[_group(row) for row in rows])

    async def members(
        self, org_id: uuid.UUID, group_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[MemberRef]]:
        member_user = users.alias("member_user")
        member_group = groups.alias("member_group")
        rows = await self._c.execute(
            select(
                group_members.c.group_id,
                group_members.c.member_id,
                group_members.c.member_type,
                func.coalesce(
                    member_user.c.display_name,
                    member_user.c.user_name,
                    member_group.c.display_name,
                ),
            )
            .outerjoin(
                member_user,
                (member_user.c.org_id == group_members.c.org_id)
                & (member_user.c.id == group_members.c.member_id),
            )
            .outerjoin(
                member_group,
                (member_group.c.org_id == group_members.c.org_id)
                & (member_group.c.id == group_members.c.member_id),
            )
            .where(
                group_members.c.org_id == org_id,
                group_members.c.group_id.in_(group_ids),
            )
            .order_by(group_members.c.group_id, group_members.c.member_id)
        )
        found: dict[uuid.UUID, list[MemberRef]] = {}
        for group_id, member_id, member_type, display in rows:
            found.setdefault(group_id, []).append(
                MemberRef(id=member_id, type=member_type, display=display)
            )
        return found

    async def member_types(
        self, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, MemberType]:
        wanted = list(ids)
        found: dict[uuid.UUID, MemberType] = {}
        for start in range(0, len(wanted), CHUNK_SIZE):
            chunk = wanted[start : start + CHUNK_SIZE]
            user_rows = await self._c.execute(
                select(users.c.id).where(
                    users.c.org_id == org_id, users.c.id.in_(chunk)
                )
            )
            found.update((row.id, "User") for row in user_rows)
            group_rows = await self._c.execute(
                select(groups.c.id).where(
                    groups.c.org_id == org_id, groups.c.id.in_(chunk)
                )
            )
            found.update((row.id, "Group") for row in group_rows)
        return found

    async def add_members(
        self,
        org_id: uuid.UUID,
        group_id: uuid.UUID,
        members: dict[uuid.UUID, MemberType],
    ) -> None:
        wanted = list(members)
        for start in range(0, len(wanted), CHUNK_SIZE):
            chunk = wanted[start : start + CHUNK_SIZE]
            existing = set(
                (
                    await self._c.execute(
                        select(group_members.c.member_id).where(
                            group_members.c.org_id == org_id,
                            group_members.c.group_id == group_id,
                            group_members.c.member_id.in_(chunk),
                        )
                    )
                ).scalars()
            )
            rows = [
                {
                    "org_id": org_id,
                    "group_id": group_id,
                    "member_id": member_id,
                    "member_type": members[member_id],
                }
                for member_id in chunk
                if member_id not in existing
            ]
            if rows:
                await self._c.execute(insert(group_members), rows)

    async def remove_members(
        self, org_id: uuid.UUID, group_id: uuid.UUID, member_ids: Iterable[uuid.UUID]
    ) -> None:
        wanted = list(member_ids)
        for start in range(0, len(wanted), CHUNK_SIZE):
            await self._c.execute(
                delete(group_members).where(
                    group_members.c.org_id == org_id,
                    group_members.c.group_id == group_id,
                    group_members.c.member_id.in_(wanted[start : start + CHUNK_SIZE]),
                )
            )

    async def clear_members(
        self, org_id: uuid.UUID, group_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """Remove every member of a group; return the ids removed."""
        result = await self._c.execute(
            delete(group_members)
            .where(
                group_members.c.org_id == org_id, group_members.c.group_id == group_id
            )
            .returning(group_members.c.member_id)
        )
        return list(result.scalars())

    async def remove_from_all_groups(
        self, org_id: uuid.UUID, member_id: uuid.UUID
    ) -> None:
        await self._c.execute(
            delete(group_members).where(
                group_members.c.org_id == org_id, group_members.c.member_id == member_id
            )
        )


def _group_values(group: GroupRecord) -> dict[str, Any]:
    return {
        "org_id": group.org_id,
        "id": group.id,
        "display_name": group.display_name,
        "display_name_key": _display_key(group.display_name),
        "external_id": group.external_id,
        "attributes": group.attributes,
        "version": group.version,
        "created_at": group.created_at,
        "updated_at": group.updated_at,
    }


def _group(row: Any) -> GroupRecord:
    return GroupRecord(
        org_id=row.org_id,
        id=row.id,
        display_name=row.display_name,
        external_id=row.external_id,
        attributes=row.attributes,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlUnit:
    """The repositories of one transaction, all on the same connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.orgs = SqlOrganizations(connection)
        self.tokens = SqlScimTokens(connection)
        self.users = SqlUsers(connection)
        self.groups = SqlGroups(connection)
        self.access = SqlAccess(connection)
        self.admin_tokens = SqlScimTokens(connection, AdminTokenRow.__table__)
        self.provider = SqlProvider(connection)
