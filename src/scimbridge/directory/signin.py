"""Sign-in use cases: an organization's configuration, and linking a login to a member.

A login arrives as an :class:`UpstreamLogin` from a SAML or OIDC connection.
:meth:`SignIn.resolve_member` finds its member strictly inside the
connection's organization and links the IdP identity to it on first use.
When the organization allows it, the member is created just in time through
the same :class:`~scimbridge.directory.service.Directory` write path as SCIM.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from uuid import UUID

from scim2_models.path import AttrPath, CompareOperator, Comparison

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
from scimbridge.directory.clock import Clock, utc_now
from scimbridge.directory.errors import DirectoryError, InvalidRecord, NotFound
from scimbridge.directory.ids import new_id
from scimbridge.directory.models import UserDraft, UserRecord, user_name_key
from scimbridge.directory.ports import DirectoryStore, ResourceQuery
from scimbridge.directory.service import Directory

logger = logging.getLogger(__name__)

DOMAIN_PATTERN = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


class SecretSealer(Protocol):
    """Encrypts connection secrets at rest; implemented by storage."""

    def seal(self, secrets: dict[str, Any]) -> str | None: ...
    def open(self, sealed: str | None) -> dict[str, Any]: ...


class LoginRejected(DirectoryError):
    """A login that maps to no member the organization allows to sign in.

    ``code`` is stable and goes to the log; the browser gets a generic page.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class UpstreamLogin:
    """The claims a connection asserted about a user, after full validation."""

    connection: Connection
    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    user_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    groups: tuple[str, ...] = ()
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResolvedLogin:
    """The member a login belongs to, and the roles it holds for this login."""

    member: UserRecord
    roles: tuple[str, ...]
    created: bool
    linked: bool
    claim_roles: tuple[str, ...] = ()
    """The roles in ``roles`` that only the login's attributes or claims grant."""


def normalize_domain(domain: str) -> str:
    value = domain.strip().lower().rstrip(".")
    if not DOMAIN_PATTERN.fullmatch(value):
        raise InvalidRecord(
            f"invalid domain {domain!r}: use a name such as example.com"
        )
    return value


def email_domain(email: str) -> str | None:
    _, at, domain = email.rpartition("@")
    return domain.lower() if at and domain else None


class SignIn:
    """Use cases on sign-in configuration and on resolving logins."""

    def __init__(
        self,
        store: DirectoryStore,
        directory: Directory,
        sealer: SecretSealer,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._directory = directory
        self._sealer = sealer
        self._clock = clock

    # Connections

    async def add_connection(
        self,
        org_id: UUID,
        kind: ConnectionKind,
        name: str,
        settings: dict[str, Any],
        secrets: dict[str, Any],
        *,
        enabled: bool = True,
        connection_id: UUID | None = None,
    ) -> Connection:
        if not name.strip() or len(name) > 200:
            raise InvalidRecord("connection name must be 1 to 200 characters long")
        now = self._clock()
        record = Connection(
            org_id=org_id,
            id=connection_id or new_id(),
            kind=kind,
            name=name,
            enabled=enabled,
            settings=settings,
            secrets=secrets,
            created_at=now,
            updated_at=now,
        )
        sealed = self._sealer.seal(secrets)
        async with self._store.transaction(write=True) as unit:
            await unit.access.add_connection(record, sealed)
        logger.info(
            "connection created org_id=%s connection_id=%s kind=%s",
            org_id,
            record.id,
            kind.value,
        )
        return record

    async def get_connection(self, org_id: UUID, connection_id: UUID) -> Connection:
        async with self._store.transaction() as unit:
            found = await unit.access.get_connection(org_id, connection_id)
        if found is None:
            raise NotFound("Connection", connection_id)
        record, sealed = found
        return replace(record, secrets=self._sealer.open(sealed))

    async def list_connections(self, org_id: UUID) -> list[Connection]:
        """List the organization's connections, without their secrets."""
        async with self._store.transaction() as unit:
            found = await unit.access.list_connections(org_id)
        return [record for record, _ in found]

    async def update_connection(
        self,
        org_id: UUID,
        connection_id: UUID,
        *,
        name: str | None = None,
        enabled: bool | None = None,
        settings: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> Connection:
        """Change a connection; fields left as None keep their value."""
        async with self._store.transaction(write=True) as unit:
            found = await unit.access.get_connection(org_id, connection_id)
            if found is None:
                raise NotFound("Connection", connection_id)
            record, sealed = found
            current_secrets = self._sealer.open(sealed)
            updated = replace(
                record,
                name=record.name if name is None else name,
                enabled=record.enabled if enabled is None else enabled,
                settings=record.settings if settings is None else settings,
                secrets=current_secrets if secrets is None else secrets,
                updated_at=self._clock(),
            )
            await unit.access.update_connection(
                updated, self._sealer.seal(updated.secrets)
            )
        logger.info(
            "connection updated org_id=%s connection_id=%s enabled=%s",
            org_id,
            connection_id,
            updated.enabled,
        )
        return updated

    async def delete_connection(self, org_id: UUID, connection_id: UUID) -> None:
        async with self._store.transaction(write=True) as unit:
            deleted = await unit.access.delete_connection(org_id, connection_id)
        if not deleted:
            raise NotFound("Connection", connection_id)
        logger.info(
            "connection deleted org_id=%s connection_id=%s", org_id, connection_id
        )

    # Domains

    async def add_domain(
        self, org_id: UUID, domain: str, *, verified: bool = False
    ) -> Domain:
        record = Domain(
            org_id=org_id,
            domain=normalize_domain(domain),
            verified=verified,
            created_at=self._clock(),
        )
        async with self._store.transaction(write=True) as unit:
            await unit.access.add_domain(record)
        return record

    async def list_domains(self, org_id: UUID) -> list[Domain]:
        async with self._store.transaction() as unit:
            return await unit.access.list_domains(org_id)

    async def set_domain_verified(
        self, org_id: UUID, domain: str, verified: bool
    ) -> None:
        """Mark a domain verified; a domain verified by another org is rejected."""
        async with self._store.transaction(write=True) as unit:
            changed = await unit.access.set_domain_verified(
                org_id, normalize_domain(domain), verified
            )
        if not changed:
            raise NotFound("Domain", domain)

    async def delete_domain(self, org_id: UUID, domain: str) -> None:
        async with self._store.transaction(write=True) as unit:
            deleted = await unit.access.delete_domain(org_id, normalize_domain(domain))
        if not deleted:
            raise NotFound("Domain", domain)

    async def org_for_email(self, email: str) -> UUID | None:
        """Return the organization that verified the email's domain, if any."""
        domain = email_domain(email)
        if domain is None:
            return None
        async with self._store.transaction() as unit:
            return await unit.access.org_of_verified_domain(domain)

    # Login policy

    async def policy(self, org_id: UUID) -> LoginPolicy:
        async with self._store.transaction() as unit:
            found = await unit.access.get_policy(org_id)
        return found or LoginPolicy(org_id=org_id)

    async def set_policy(self, policy: LoginPolicy) -> LoginPolicy:
        if not 60 <= policy.session_lifetime_seconds <= 30 * 24 * 3600:
            raise InvalidRecord("session lifetime must be 60 s to 30 days")
        async with self._store.transaction(write=True) as unit:
            await unit.access.put_policy(policy, self._clock())
        return policy

    # Roles

    async def add_role(
        self,
        org_id: UUID,
        name: str,
        *,
        description: str = "",
        permissions: Sequence[str] = (),
        is_default: bool = False,
    ) -> Role:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._:-]{0,99}", name):
            raise InvalidRecord(
                f"invalid role name {name!r}: use lowercase letters, digits, "
                "and . _ : - (up to 100 characters)"
            )
        role = Role(
            org_id=org_id,
            id=new_id(),
            name=name,
            description=description,
            permissions=tuple(permissions),
            is_default=is_default,
            created_at=self._clock(),
        )
        async with self._store.transaction(write=True) as unit:
            await unit.access.add_role(role)
        return role

    async def list_roles(self, org_id: UUID) -> list[Role]:
        async with self._store.transaction() as unit:
            return await unit.access.list_roles(org_id)

    async def delete_role(self, org_id: UUID, role_id: UUID) -> None:
        async with self._store.transaction(write=True) as unit:
            deleted = await unit.access.delete_role(org_id, role_id)
        if not deleted:
            raise NotFound("Role", role_id)

    async def add_mapping(
        self,
        org_id: UUID,
        role_id: UUID,
        source: MappingSource,
        value: str,
        *,
        attribute: str | None = None,
        connection_id: UUID | None = None,
    ) -> RoleMapping:
        if source is not MappingSource.scim_group and not attribute:
            raise InvalidRecord(f"a {source.value} mapping needs an attribute name")
        mapping = RoleMapping(
            org_id=org_id,
            id=new_id(),
            role_id=role_id,
            source=source,
            value=value,
            attribute=attribute,
            connection_id=connection_id,
            created_at=self._clock(),
        )
        async with self._store.transaction(write=True) as unit:
            roles = {role.id for role in await unit.access.list_roles(org_id)}
            if role_id not in roles:
                raise NotFound("Role", role_id)
            await unit.access.add_mapping(mapping)
        return mapping

    async def list_mappings(self, org_id: UUID) -> list[RoleMapping]:
        async with self._store.transaction() as unit:
            return await unit.access.list_mappings(org_id)

    async def delete_mapping(self, org_id: UUID, mapping_id: UUID) -> None:
        async with self._store.transaction(write=True) as unit:
            deleted = await unit.access.delete_mapping(org_id, mapping_id)
        if not deleted:
            raise NotFound("RoleMapping", mapping_id)

    async def roles_of(
        self, org_id: UUID, member_id: UUID, login: UpstreamLogin | None = None
    ) -> tuple[str, ...]:
        """Compute a member's roles: defaults, SCIM groups, and the login's claims."""
        directory, claims = await self.role_sources(org_id, member_id, login)
        return tuple(sorted(set(directory) | set(claims)))

    async def role_sources(
        self, org_id: UUID, member_id: UUID, login: UpstreamLogin | None = None
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return the directory's roles and, apart, the roles only the login grants.

        The directory's roles are the defaults and those mapped from SCIM
        groups. The others come from the login's SAML attributes or OIDC claims.
        """
        async with self._store.transaction() as unit:
            roles = await unit.access.list_roles(org_id)
            mappings = await unit.access.list_mappings(org_id)
            groups = (await unit.users.groups_of(org_id, [member_id])).get(
                member_id, []
            )
        group_values = {str(group.id) for group in groups}
        group_values |= {group.display.lower() for group in groups}

        directory = {role.id for role in roles if role.is_default}
        claims: set[UUID] = set()
        for mapping in mappings:
            if mapping.source is MappingSource.scim_group:
                if _mapping_applies(mapping, group_values, login):
                    directory.add(mapping.role_id)
            elif _mapping_applies(mapping, group_values, login):
                claims.add(mapping.role_id)
        claims -= directory
        return (
            tuple(sorted(role.name for role in roles if role.id in directory)),
            tuple(sorted(role.name for role in roles if role.id in claims)),
        )

    # Logins

    async def resolve_member(self, login: UpstreamLogin) -> ResolvedLogin:
        """Find, link or create the member of ``login``; raise LoginRejected if none.

        Every lookup is scoped to the connection's organization, so an IdP of
        one organization can never reach a member of another, whatever email
        it asserts.
        """
        org_id = login.connection.org_id
        policy = await self.policy(org_id)
        created = linked = False

        async with self._store.transaction() as unit:
            identity = await unit.access.find_identity(
                org_id, login.connection.id, login.issuer, login.subject
            )
        member = None
        if identity is not None:
            member = await self._member(org_id, identity.member_id)
            if member is None:
                raise LoginRejected(
                    "login.member_deleted", "the linked member no longer exists"
                )
        else:
            member = await self._find_by_policy(org_id, policy, login)
            if member is None and policy.jit_provisioning:
                member = await self._create_just_in_time(org_id, login)
                created = True
            if member is None:
                raise LoginRejected(
                    "login.no_member",
                    f"no member matches this login by {policy.link_by.value}, and "
                    "just-in-time provisioning is off",
                )

        if not member.active:
            raise LoginRejected("login.member_inactive", "the member is deactivated")

        now = self._clock()
        async with self._store.transaction(write=True) as unit:
            if identity is None:
                await unit.access.add_identity(
                    LoginIdentity(
                        org_id=org_id,
                        connection_id=login.connection.id,
                        issuer=login.issuer,
                        subject=login.subject,
                        member_id=member.id,
                        created_at=now,
                        last_login_at=now,
                    )
                )
                linked = True
            else:
                await unit.access.touch_identity(identity, now)

        directory_roles, claim_roles = await self.role_sources(org_id, member.id, login)
        logger.info(
            "login resolved org_id=%s connection_id=%s member_id=%s created=%s",
            org_id,
            login.connection.id,
            member.id,
            created,
        )
        return ResolvedLogin(
            member=member,
            roles=tuple(sorted(set(directory_roles) | set(claim_roles))),
            created=created,
            linked=linked,
            claim_roles=claim_roles,
        )

    async def member(self, org_id: UUID, member_id: UUID) -> UserRecord | None:
        """Return the member, or None when it was deleted."""
        return await self._member(org_id, member_id)

    async def _member(self, org_id: UUID, member_id: UUID) -> UserRecord | None:
        try:
            return await self._directory.get_user(org_id, member_id)
        except NotFound:
            return None

    async def _find_by_policy(
        self, org_id: UUID, policy: LoginPolicy, login: UpstreamLogin
    ) -> UserRecord | None:
        if policy.link_by is LinkBy.external_id:
            return await self._find_one(org_id, "externalId", login.subject)
        if policy.link_by is LinkBy.user_name:
            candidate = login.user_name or login.email or login.subject
            return await self._find_one(org_id, "userName", candidate)

        email = login.email
        if email is None or email_domain(email) is None:
            return None
        if login.connection.kind is ConnectionKind.oidc and not login.email_verified:
            return None
        verified = {d.domain for d in await self.list_domains(org_id) if d.verified}
        if email_domain(email) not in verified:
            return None
        return await self._find_one(org_id, "emails.value", email)

    async def _find_one(
        self, org_id: UUID, attribute: str, value: str
    ) -> UserRecord | None:
        name, _, sub = attribute.partition(".")
        node = Comparison(
            AttrPath(attr=name, sub_attr=sub or None), CompareOperator.eq, value
        )
        page = await self._directory.query_users(
            org_id, ResourceQuery(filter=node, limit=2)
        )
        if page.total > 1:
            raise LoginRejected(
                "login.ambiguous_member",
                f"{page.total} members match this login by {attribute}",
            )
        return page.items[0] if page.items else None

    async def _create_just_in_time(
        self, org_id: UUID, login: UpstreamLogin
    ) -> UserRecord:
        user_name = login.user_name or login.email or login.subject
        attributes: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": True,
        }
        name = {
            key: value
            for key, value in (
                ("givenName", login.given_name),
                ("familyName", login.family_name),
            )
            if value
        }
        if name:
            attributes["name"] = name
        if login.email:
            attributes["emails"] = [
                {"value": login.email, "type": "work", "primary": True}
            ]
        draft = UserDraft(
            user_name=user_name,
            external_id=None,
            display_name=None,
            active=True,
            attributes=attributes,
        )
        return await self._directory.create_user(org_id, draft)


def _mapping_applies(
    mapping: RoleMapping, group_values: set[str], login: UpstreamLogin | None
) -> bool:
    if mapping.source is MappingSource.scim_group:
        return mapping.value.lower() in group_values or mapping.value in group_values
    if login is None:
        return False
    if (
        mapping.connection_id is not None
        and mapping.connection_id != login.connection.id
    ):
        return False
    expected_kind = (
        ConnectionKind.saml
        if mapping.source is MappingSource.saml_attribute
        else ConnectionKind.oidc
    )
    if login.connection.kind is not expected_kind:
        return False
    values = login.attributes.get(mapping.attribute or "", ())
    return mapping.value in values


__all__ = [
    "LoginRejected",
    "ResolvedLogin",
    "SignIn",
    "UpstreamLogin",
    "user_name_key",
]
