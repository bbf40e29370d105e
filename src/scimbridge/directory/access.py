"""Records an organization's admins configure for sign-in.

Connections to the organization's IdPs, its email domains, its roles and the
rules mapping IdP groups and claims to roles, its login policy, and the
links between an IdP identity and a member.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


class ConnectionKind(enum.StrEnum):
    saml = "saml"
    oidc = "oidc"


@dataclass(frozen=True, slots=True)
class Connection:
    """One SAML 2.0 or OIDC connection of an organization to its IdP.

    ``settings`` contains the non-secret configuration (IdP entity id and
    certificates, OIDC issuer and client id). ``secrets`` contains client
    secrets and private keys, which storage encrypts at rest.
    """

    org_id: UUID
    id: UUID
    kind: ConnectionKind
    name: str
    enabled: bool
    settings: dict[str, Any]
    secrets: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Domain:
    """An email domain an organization claims; only verified ones route logins."""

    org_id: UUID
    domain: str
    verified: bool
    created_at: datetime


class LinkBy(enum.StrEnum):
    """The attribute a first login is matched on to find its SCIM-provisioned member."""

    external_id = "externalId"
    user_name = "userName"
    email = "email"


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """An organization's sign-in rules."""

    org_id: UUID
    link_by: LinkBy = LinkBy.user_name
    jit_provisioning: bool = False
    session_lifetime_seconds: int = 8 * 3600


@dataclass(frozen=True, slots=True)
class LoginIdentity:
    """The link from an IdP identity (connection, issuer, subject) to a member."""

    org_id: UUID
    connection_id: UUID
    issuer: str
    subject: str
    member_id: UUID
    created_at: datetime
    last_login_at: datetime


@dataclass(frozen=True, slots=True)
class Role:
    """An organization-defined role, such as ``billing-manager``."""

    org_id: UUID
    id: UUID
    name: str
    description: str
    permissions: tuple[str, ...]
    is_default: bool
    created_at: datetime


class MappingSource(enum.StrEnum):
    """The source of the values a role mapping matches."""

    scim_group = "scim_group"
    """A SCIM group of the organization, by id or displayName."""

    saml_attribute = "saml_attribute"
    """A value of a SAML attribute in the assertion."""

    oidc_claim = "oidc_claim"
    """A value of an ID token claim, such as ``groups``."""


@dataclass(frozen=True, slots=True)
class RoleMapping:
    """A rule granting ``role_id`` when the source carries ``value``."""

    org_id: UUID
    id: UUID
    role_id: UUID
    source: MappingSource
    value: str
    attribute: str | None = None
    connection_id: UUID | None = None
    created_at: datetime | None = field(default=None, compare=False)
