"""Request and response bodies of the admin API, reused by `scimbridge --json`."""

from datetime import datetime
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from scimbridge.directory.models import Organization, OrgStatus, ScimToken
from scimbridge.directory.tokens import IssuedToken

NAME_MAX_LENGTH = 200
"""The length of ``organizations.name`` in the schema."""


class OrganizationCreate(BaseModel):
    """A new organization. The name defaults to the slug."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(
        description="1 to 63 lowercase letters, digits and inner hyphens.",
        examples=["acme"],
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=NAME_MAX_LENGTH, examples=["Acme Inc."]
    )


class OrganizationOut(BaseModel):
    """An organization as the admin API shows it."""

    id: UUID
    slug: str
    name: str
    status: OrgStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, org: Organization) -> "OrganizationOut":
        return cls(
            id=org.id,
            slug=org.slug,
            name=org.name,
            status=org.status,
            created_at=org.created_at,
            updated_at=org.updated_at,
        )


class OrganizationList(BaseModel):
    organizations: list[OrganizationOut]


class ScimTokenOut(BaseModel):
    """A SCIM token's prefix and usage, without the secret."""

    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ScimToken) -> Self:
        return cls(
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class ScimTokenList(BaseModel):
    tokens: list[ScimTokenOut]


class IssuedScimToken(BaseModel):
    """A new SCIM token, with the secret that this response alone contains."""

    token: str = Field(description="The bearer token for the IdP, shown only here.")
    prefix: str
    org_id: UUID
    created_at: datetime

    @classmethod
    def of(cls, issued: IssuedToken) -> Self:
        return cls(
            token=issued.secret,
            prefix=issued.record.prefix,
            org_id=issued.record.org_id,
            created_at=issued.record.created_at,
        )


class AdminTokenOut(ScimTokenOut):
    """An org admin token's prefix and usage, without the secret."""


class AdminTokenList(BaseModel):
    tokens: list[AdminTokenOut]


class IssuedAdminToken(IssuedScimToken):
    """A new org admin token, with the secret that this response alone contains."""

    token: str = Field(
        description="The bearer token for the organization's admin API, shown "
        "only here."
    )
