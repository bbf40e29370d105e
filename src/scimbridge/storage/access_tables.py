"""Tables of sign-in configuration: connections, domains, roles, policies, links.

Every key and index leads with ``org_id``, except the one that routes a
login to an organization: a verified email domain is unique across
organizations, like an organization slug.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from scimbridge.storage.tables import Base


class ConnectionRow(Base):
    __tablename__ = "connections"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "org_id", "kind"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    settings: Mapped[dict[str, Any]]
    secrets: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DomainRow(Base):
    __tablename__ = "org_domains"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(
            "uq_org_domains_verified_domain",
            "domain",
            unique=True,
            sqlite_where=text("verified"),
            postgresql_where=text("verified"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    verified: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class LoginPolicyRow(Base):
    __tablename__ = "login_policies"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    link_by: Mapped[str] = mapped_column(String(16))
    jit_provisioning: Mapped[bool] = mapped_column(Boolean)
    session_lifetime_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class LoginIdentityRow(Base):
    __tablename__ = "login_identities"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "connection_id"],
            ["connections.org_id", "connections.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["org_id", "member_id"], ["users.org_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "org_id", "member_id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(1024), primary_key=True)
    subject: Mapped[str] = mapped_column(String(1024), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class RoleRow(Base):
    __tablename__ = "roles"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        UniqueConstraint("org_id", "name"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    permissions: Mapped[dict[str, Any]]
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class RoleMappingRow(Base):
    __tablename__ = "role_mappings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "role_id"], ["roles.org_id", "roles.id"], ondelete="CASCADE"
        ),
        Index(None, "org_id", "source"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    role_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source: Mapped[str] = mapped_column(String(16))
    attribute: Mapped[str | None] = mapped_column(String(256))
    value: Mapped[str] = mapped_column(String(1024))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime]


class AdminTokenRow(Base):
    """An organization admin token: manages one organization's configuration."""

    __tablename__ = "org_admin_tokens"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        UniqueConstraint("org_id", "token_hash"),
        UniqueConstraint("org_id", "prefix"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
