"""Bodies of the sign-in configuration endpoints, reused by `scimbridge --json`.

Domains, the login policy, roles and role mappings of one organization.
"""

from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from scimbridge.directory.access import (
    Domain,
    LinkBy,
    LoginPolicy,
    MappingSource,
    Role,
    RoleMapping,
)

DESCRIPTION_MAX_LENGTH = 1000
PERMISSION_MAX_LENGTH = 200
PERMISSIONS_MAX_COUNT = 100
MAPPING_VALUE_MAX_LENGTH = 1024
"""The length of ``role_mappings.value`` in the schema."""
MAPPING_ATTRIBUTE_MAX_LENGTH = 256
"""The length of ``role_mappings.attribute`` in the schema."""

Permission = Annotated[
    str, StringConstraints(min_length=1, max_length=PERMISSION_MAX_LENGTH)
]


# Domains


class DomainCreate(BaseModel):
    """An email domain the organization claims."""

    model_config = ConfigDict(extra="forbid")

    domain: str = Field(
        max_length=254,
        description="A DNS name; stored in lowercase without a trailing dot.",
        examples=["acme.example"],
    )
    verified: StrictBool = Field(
        default=False,
        description="Only the platform admin may add a domain as verified.",
    )


class DomainOut(BaseModel):
    """A domain of the organization; only verified domains route logins."""

    domain: str
    verified: bool
    created_at: datetime

    @classmethod
    def of(cls, domain: Domain) -> Self:
        return cls(
            domain=domain.domain,
            verified=domain.verified,
            created_at=domain.created_at,
        )


class DomainList(BaseModel):
    domains: list[DomainOut]


# Login policy


class LoginPolicyBody(BaseModel):
    """An organization's sign-in rules; a PUT sends every field."""

    model_config = ConfigDict(extra="forbid")

    link_by: LinkBy = Field(
        description="The member attribute a first login is matched on."
    )
    jit_provisioning: StrictBool = Field(
        description="Create a member at first login when none matches."
    )
    session_lifetime_seconds: StrictInt = Field(
        description="Lifetime of a sign-in session, 60 seconds to 30 days."
    )

    @classmethod
    def of(cls, policy: LoginPolicy) -> Self:
        return cls(
            link_by=policy.link_by,
            jit_provisioning=policy.jit_provisioning,
            session_lifetime_seconds=policy.session_lifetime_seconds,
        )

    def to_policy(self, org_id: UUID) -> LoginPolicy:
        return LoginPolicy(
            org_id=org_id,
            link_by=self.link_by,
            jit_provisioning=self.jit_provisioning,
            session_lifetime_seconds=self.session_lifetime_seconds,
        )


# Roles


class RoleCreate(BaseModel):
    """A new role of the organization."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="Lowercase letters, digits and . _ : -, up to 100 characters, "
        "unique in the organization.",
        examples=["billing-manager"],
    )
    description: str = Field(default="", max_length=DESCRIPTION_MAX_LENGTH)
    permissions: list[Permission] = Field(
        default_factory=list,
        max_length=PERMISSIONS_MAX_COUNT,
        description="Permission names the app interprets, without whitespace.",
        examples=[["invoices:read", "invoices:pay"]],
    )
    is_default: StrictBool = Field(
        default=False, description="Grant the role to every member."
    )

    @field_validator("permissions")
    @classmethod
    def _check_permissions(cls, permissions: list[str]) -> list[str]:
        spaced = [p for p in permissions if any(c.isspace() for c in p)]
        if spaced:
            raise ValueError(f"permission {spaced[0]!r} contains whitespace")
        repeated = sorted({p for p in permissions if permissions.count(p) > 1})
        if repeated:
            raise ValueError(f"repeated permissions: {', '.join(repeated)}")
        return permissions


class RoleOut(BaseModel):
    """A role as the admin API shows it."""

    id: UUID
    name: str
    description: str
    permissions: list[str]
    is_default: bool
    created_at: datetime

    @classmethod
    def of(cls, role: Role) -> Self:
        return cls(
            id=role.id,
            name=role.name,
            description=role.description,
            permissions=list(role.permissions),
            is_default=role.is_default,
            created_at=role.created_at,
        )


class RoleList(BaseModel):
    roles: list[RoleOut]


# Role mappings


class RoleMappingCreate(BaseModel):
    """A rule granting a role when a member's group, SAML attribute or claim matches.

    A ``scim_group`` mapping matches a SCIM group's id or displayName and
    takes neither ``attribute`` nor ``connection_id``. A ``saml_attribute``
    or ``oidc_claim`` mapping needs ``attribute``, the name of the attribute
    or claim, and may be limited to one connection of the matching kind.
    """

    model_config = ConfigDict(extra="forbid")

    role_id: UUID
    source: MappingSource
    value: str = Field(
        min_length=1, max_length=MAPPING_VALUE_MAX_LENGTH, examples=["Finance"]
    )
    attribute: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAPPING_ATTRIBUTE_MAX_LENGTH,
        examples=["groups"],
    )
    connection_id: UUID | None = None

    @model_validator(mode="after")
    def _check_fields_of_source(self) -> Self:
        if self.source is MappingSource.scim_group:
            if self.attribute is not None or self.connection_id is not None:
                raise ValueError(
                    "a scim_group mapping matches a SCIM group's id or displayName, "
                    "so it takes no attribute and no connection_id"
                )
        elif self.attribute is None:
            raise ValueError(
                f"a {self.source.value} mapping needs an attribute: the name of "
                "the SAML attribute or OIDC claim that carries the value"
            )
        return self


class RoleMappingOut(BaseModel):
    """A role mapping as the admin API shows it."""

    id: UUID
    role_id: UUID
    source: MappingSource
    value: str
    attribute: str | None
    connection_id: UUID | None
    created_at: datetime | None

    @classmethod
    def of(cls, mapping: RoleMapping) -> Self:
        return cls(
            id=mapping.id,
            role_id=mapping.role_id,
            source=mapping.source,
            value=mapping.value,
            attribute=mapping.attribute,
            connection_id=mapping.connection_id,
            created_at=mapping.created_at,
        )


class RoleMappingList(BaseModel):
    role_mappings: list[RoleMappingOut]
