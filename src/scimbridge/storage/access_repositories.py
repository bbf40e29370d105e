"""Repositories of sign-in configuration, on the transaction's connection."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scimbridge.directory.access import (
    Connection,
    ConnectionKind,
    Domain,
    LinkBy,
    LoginIdentity,
    LoginPolicy,
    MappingSource,
    Role,
    RoleMapping,
)
from scimbridge.directory.errors import UniquenessConflict
from scimbridge.storage.access_tables import (
    ConnectionRow,
    DomainRow,
    LoginIdentityRow,
    LoginPolicyRow,
    RoleMappingRow,
    RoleRow,
)

connections = ConnectionRow.__table__
domains = DomainRow.__table__
policies = LoginPolicyRow.__table__
identities = LoginIdentityRow.__table__
roles = RoleRow.__table__
role_mappings = RoleMappingRow.__table__


class SqlAccess:
    """Connections, domains, policies, login links and roles of organizations.

    Secrets arrive and leave sealed, because the service seals and opens
    them, so this class never handles a plaintext secret.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    # Connections

    async def add_connection(self, record: Connection, sealed: str | None) -> None:
        await self._c.execute(
            insert(connections).values(
                org_id=record.org_id,
                id=record.id,
                kind=record.kind.value,
                name=record.name,
                enabled=record.enabled,
                settings=record.settings,
                secrets=sealed,
                created_at=record.created_at,
                updated_at=record.updated_at,
            )
        )

    async def update_connection(self, record: Connection, sealed: str | None) -> None:
        await self._c.execute(
            update(connections)
            .where(connections.c.org_id == record.org_id, connections.c.id == record.id)
            .values(
                name=record.name,
                enabled=record.enabled,
                settings=record.settings,
                secrets=sealed,
                updated_at=record.updated_at,
            )
        )

    async def get_connection(
        self, org_id: uuid.UUID, connection_id: uuid.UUID
    ) -> tuple[Connection, str | None] | None:
        row = (
            await self._c.execute(
                select(connections).where(
                    connections.c.org_id == org_id, connections.c.id == connection_id
                )
            )
        ).first()
        return None if row is None else (_connection(row), row.secrets)

    async def list_connections(
        self, org_id: uuid.UUID
    ) -> list[tuple[Connection, str | None]]:
        rows = await self._c.execute(
            select(connections)
            .where(connections.c.org_id == org_id)
            .order_by(connections.c.created_at, connections.c.id)
        )
        return [(_connection(row), row.secrets) for row in rows]

    async def delete_connection(
        self, org_id: uuid.UUID, connection_id: uuid.UUID
    ) -> bool:
        result = await self._c.execute(
            delete(connections).where(
                connections.c.org_id == org_id, connections.c.id == connection_id
            )
        )
        return bool(result.rowcount)

    # Domains

    async def add_domain(self, record: Domain) -> None:
        try:
            async with self._c.begin_nested():
                await self._c.execute(
                    insert(domains).values(
                        org_id=record.org_id,
                        domain=record.domain,
                        verified=record.verified,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError as exc:
            raise UniquenessConflict("domain", "by an organization") from exc

    async def list_domains(self, org_id: uuid.UUID) -> list[Domain]:
        rows = await self._c.execute(
            select(domains).where(domains.c.org_id == org_id).order_by(domains.c.domain)
        )
        return [_domain(row) for row in rows]

    async def set_domain_verified(
        self, org_id: uuid.UUID, domain: str, verified: bool
    ) -> bool:
        try:
            async with self._c.begin_nested():
                result = await self._c.execute(
                    update(domains)
                    .where(domains.c.org_id == org_id, domains.c.domain == domain)
                    .values(verified=verified)
                )
        except IntegrityError as exc:
            raise UniquenessConflict(
                "domain", "verified by another organization"
            ) from exc
        return bool(result.rowcount)

    async def delete_domain(self, org_id: uuid.UUID, domain: str) -> bool:
        result = await self._c.execute(
            delete(domains).where(
                domains.c.org_id == org_id, domains.c.domain == domain
            )
        )
        return bool(result.rowcount)

    async def org_of_verified_domain(self, domain: str) -> uuid.UUID | None:
        """Return the organization that verified ``domain``; the routing lookup."""
        row = (
            await self._c.execute(
                select(domains.c.org_id).where(
                    domains.c.domain == domain, domains.c.verified.is_(True)
                )
            )
        ).first()
        return None if row is None else row.org_id

    # Login policy

    async def get_policy(self, org_id: uuid.UUID) -> LoginPolicy | None:
        row = (
            await self._c.execute(select(policies).where(policies.c.org_id == org_id))
        ).first()
        if row is None:
            return None
        return LoginPolicy(
            org_id=row.org_id,
            link_by=LinkBy(row.link_by),
            jit_provisioning=row.jit_provisioning,
            session_lifetime_seconds=row.session_lifetime_seconds,
        )

    async def put_policy(self, policy: LoginPolicy, when: datetime) -> None:
        values = {
            "link_by": policy.link_by.value,
            "jit_provisioning": policy.jit_provisioning,
            "session_lifetime_seconds": policy.session_lifetime_seconds,
            "updated_at": when,
        }
        result = await self._c.execute(
            update(policies).where(policies.c.org_id == policy.org_id).values(**values)
        )
        if not result.rowcount:
            await self._c.execute(
                insert(policies).values(org_id=policy.org_id, **values)
            )

    # Login identities

    async def find_identity(
        self, org_id: uuid.UUID, connection_id: uuid.UUID, issuer: str, subject: str
    ) -> LoginIdentity | None:
        row = (
            await self._c.execute(
                select(identities).where(
                    identities.c.org_id == org_id,
                    identities.c.connection_id == connection_id,
                    identities.c.issuer == issuer,
                    identities.c.subject == subject,
                )
            )
        ).first()
        if row is None:
            return None
        return LoginIdentity(
            org_id=row.org_id,
            connection_id=row.connection_id,
            issuer=row.issuer,
            subject=row.subject,
            member_id=row.member_id,
            created_at=row.created_at,
            last_login_at=row.last_login_at,
        )

    async def add_identity(self, record: LoginIdentity) -> None:
        await self._c.execute(
            insert(identities).values(
                org_id=record.org_id,
                connection_id=record.connection_id,
                issuer=record.issuer,
                subject=record.subject,
                member_id=record.member_id,
                created_at=record.created_at,
                last_login_at=record.last_login_at,
            )
        )

    async def touch_identity(self, record: LoginIdentity, when: datetime) -> None:
        await self._c.execute(
            update(identities)
            .where(
                identities.c.org_id == record.org_id,
                identities.c.connection_id == record.connection_id,
                identities.c.issuer == record.issuer,
                identities.c.subject == record.subject,
            )
            .values(last_login_at=when)
        )

    # Roles

    async def add_role(self, role: Role) -> None:
        try:
            async with self._c.begin_nested():
                await self._c.execute(
                    insert(roles).values(
                        org_id=role.org_id,
                        id=role.id,
                        name=role.name,
                        description=role.description,
                        permissions={"permissions": list(role.permissions)},
                        is_default=role.is_default,
                        created_at=role.created_at,
                    )
                )
        except IntegrityError as exc:
            raise UniquenessConflict("role name") from exc

    async def list_roles(self, org_id: uuid.UUID) -> list[Role]:
        rows = await self._c.execute(
            select(roles).where(roles.c.org_id == org_id).order_by(roles.c.name)
        )
        return [_role(row) for row in rows]

    async def delete_role(self, org_id: uuid.UUID, role_id: uuid.UUID) -> bool:
        result = await self._c.execute(
            delete(roles).where(roles.c.org_id == org_id, roles.c.id == role_id)
        )
        return bool(result.rowcount)

    async def add_mapping(self, mapping: RoleMapping) -> None:
        await self._c.execute(
            insert(role_mappings).values(
                org_id=mapping.org_id,
                id=mapping.id,
                role_id=mapping.role_id,
                source=mapping.source.value,
                attribute=mapping.attribute,
                value=mapping.value,
                connection_id=mapping.connection_id,
                created_at=mapping.created_at,
            )
        )

    async def list_mappings(self, org_id: uuid.UUID) -> list[RoleMapping]:
        rows = await self._c.execute(
            select(role_mappings)
            .where(role_mappings.c.org_id == org_id)
            .order_by(role_mappings.c.created_at, role_mappings.c.id)
        )
        return [
            RoleMapping(
                org_id=row.org_id,
                id=row.id,
                role_id=row.role_id,
                source=MappingSource(row.source),
                value=row.value,
                attribute=row.attribute,
                connection_id=row.connection_id,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def delete_mapping(self, org_id: uuid.UUID, mapping_id: uuid.UUID) -> bool:
        result = await self._c.execute(
            delete(role_mappings).where(
                role_mappings.c.org_id == org_id, role_mappings.c.id == mapping_id
            )
        )
        return bool(result.rowcount)


def _connection(row: Any) -> Connection:
    return Connection(
        org_id=row.org_id,
        id=row.id,
        kind=ConnectionKind(row.kind),
        name=row.name,
        enabled=row.enabled,
        settings=row.settings,
        secrets={},
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _domain(row: Any) -> Domain:
    return Domain(
        org_id=row.org_id,
        domain=row.domain,
        verified=row.verified,
        created_at=row.created_at,
    )


def _role(row: Any) -> Role:
    permissions = row.permissions.get("permissions", []) if row.permissions else []
    return Role(
        org_id=row.org_id,
        id=row.id,
        name=row.name,
        description=row.description,
        permissions=tuple(permissions),
        is_default=row.is_default,
        created_at=row.created_at,
    )
