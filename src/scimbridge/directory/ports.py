"""Repository protocols that storage implements for the directory service.

Every method of an organization-owned record takes the organization id first,
so no call can reach another organization's rows.
"""

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from scim2_models.path import FilterNode

from scimbridge.directory.access import (
    Connection,
    Domain,
    LoginIdentity,
    LoginPolicy,
    Role,
    RoleMapping,
)
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
)


@dataclass(frozen=True, slots=True)
class ResourceQuery:
    """A filtered, sorted page of resources (RFC 7644 section 3.4.2).

    ``filter`` is the parsed SCIM filter; storage evaluates it in the database.
    ``sort_by`` is an attribute path. ``offset`` is zero-based, and a ``limit``
    of zero requests the count alone.
    """

    filter: FilterNode | None = None
    sort_by: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 100


class OrganizationRepository(Protocol):
    async def add(self, org: Organization) -> None: ...
    async def get(self, org_id: UUID) -> Organization | None: ...
    async def get_by_slug(self, slug: str) -> Organization | None: ...
    async def list(self) -> list[Organization]: ...
    async def set_status(
        self, org_id: UUID, status: OrgStatus, when: datetime
    ) -> Organization | None: ...


class TokenRepository(Protocol):
    async def add(self, token: ScimToken, token_hash: str) -> None: ...
    async def find_active(self, org_id: UUID, token_hash: str) -> ScimToken | None: ...
    async def list(self, org_id: UUID) -> list[ScimToken]: ...
    async def revoke(self, org_id: UUID, prefix: str, when: datetime) -> bool: ...
    async def touch(self, org_id: UUID, token_id: UUID, when: datetime) -> None: ...


class UserRepository(Protocol):
    async def get(
        self, org_id: UUID, user_id: UUID, *, for_update: bool = False
    ) -> UserRecord | None: ...
    async def get_with_groups(
        self, org_id: UUID, user_id: UUID, *, for_update: bool = False
    ) -> tuple[UserRecord, list[GroupRef]] | None: ...
    async def add(self, user: UserRecord) -> None: ...
    async def update(self, user: UserRecord) -> None: ...
    async def delete(self, org_id: UUID, user_id: UUID) -> None: ...
    async def query(self, org_id: UUID, query: ResourceQuery) -> Page[UserRecord]: ...
    async def query_with_groups(
        self, org_id: UUID, query: ResourceQuery
    ) -> tuple[Page[UserRecord], dict[UUID, list[GroupRef]]]: ...
    async def groups_of(
        self, org_id: UUID, user_ids: Sequence[UUID]
    ) -> dict[UUID, list[GroupRef]]: ...


class GroupRepository(Protocol):
    async def get(
        self, org_id: UUID, group_id: UUID, *, for_update: bool = False
    ) -> GroupRecord | None: ...
    async def add(self, group: GroupRecord) -> None: ...
    async def update(self, group: GroupRecord) -> None: ...
    async def delete(self, org_id: UUID, group_id: UUID) -> None: ...
    async def query(self, org_id: UUID, query: ResourceQuery) -> Page[GroupRecord]: ...
    async def members(
        self, org_id: UUID, group_ids: Sequence[UUID]
    ) -> dict[UUID, list[MemberRef]]: ...
    async def member_types(
        self, org_id: UUID, ids: Iterable[UUID]
    ) -> dict[UUID, MemberType]: ...
    async def add_members(
        self, org_id: UUID, group_id: UUID, members: dict[UUID, MemberType]
    ) -> None: ...
    async def remove_members(
        self, org_id: UUID, group_id: UUID, member_ids: Iterable[UUID]
    ) -> None: ...
    async def clear_members(self, org_id: UUID, group_id: UUID) -> list[UUID]: ...
    async def remove_from_all_groups(self, org_id: UUID, member_id: UUID) -> None: ...


class AccessRepository(Protocol):
    """Sign-in configuration; connection secrets come and go sealed."""

    async def add_connection(self, record: Connection, sealed: str | None) -> None: ...
    async def update_connection(
        self, record: Connection, sealed: str | None
    ) -> None: ...
    async def get_connection(
        self, org_id: UUID, connection_id: UUID
    ) -> tuple[Connection, str | None] | None: ...
    async def list_connections(
        self, org_id: UUID
    ) -> list[tuple[Connection, str | None]]: ...
    async def delete_connection(self, org_id: UUID, connection_id: UUID) -> bool: ...
    async def add_domain(self, record: Domain) -> None: ...
    async def list_domains(self, org_id: UUID) -> list[Domain]: ...
    async def set_domain_verified(
        self, org_id: UUID, domain: str, verified: bool
    ) -> bool: ...
    async def delete_domain(self, org_id: UUID, domain: str) -> bool: ...
    async def org_of_verified_domain(self, domain: str) -> UUID | None: ...
    async def get_policy(self, org_id: UUID) -> LoginPolicy | None: ...
    async def put_policy(self, policy: LoginPolicy, when: datetime) -> None: ...
    async def find_identity(
        self, org_id: UUID, connection_id: UUID, issuer: str, subject: str
    ) -> LoginIdentity | None: ...
    async def add_identity(self, record: LoginIdentity) -> None: ...
    async def touch_identity(self, record: LoginIdentity, when: datetime) -> None: ...
    async def add_role(self, role: Role) -> None: ...
    async def list_roles(self, org_id: UUID) -> list[Role]: ...
    async def delete_role(self, org_id: UUID, role_id: UUID) -> bool: ...
    async def add_mapping(self, mapping: RoleMapping) -> None: ...
    async def list_mappings(self, org_id: UUID) -> list[RoleMapping]: ...
    async def delete_mapping(self, org_id: UUID, mapping_id: UUID) -> bool: ...


class DirectoryUnit(Protocol):
    """The repositories of one database transaction."""

    orgs: OrganizationRepository
    tokens: TokenRepository
    admin_tokens: TokenRepository
    users: UserRepository
    groups: GroupRepository
    access: AccessRepository


class DirectoryStore(Protocol):
    def transaction(
        self, *, write: bool = False, single_statement: bool = False
    ) -> AbstractAsyncContextManager[DirectoryUnit]:
        """Open a transaction that commits on normal exit and rolls back on error.

        ``write`` declares that the transaction will write, so that stores
        without row locks can serialize writers from the start.
        ``single_statement`` declares that the unit sends one statement, which
        a store may then run without an explicit transaction.
        """
        ...
