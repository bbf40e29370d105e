"""Tables of the OpenID Provider: app clients, signing keys, back-channel logouts.

App clients and signing keys belong to the platform, not to one organization:
the platform admin registers the apps, and one issuer signs every token. A
back-channel logout delivery concerns one member, so its key leads with
``org_id``; the queue index leads with the status because one worker serves
every organization. A delivery outlives its app, as a record of the attempt.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from scimbridge.storage.tables import Base


class AppClientRow(Base):
    __tablename__ = "app_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public: Mapped[bool] = mapped_column(Boolean)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (Index(None, "state"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    algorithm: Mapped[str] = mapped_column(String(8))
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class LogoutDeliveryRow(Base):
    __tablename__ = "logout_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "org_id", "member_id"),
        Index("ix_logout_deliveries_queue", "status", "next_attempt_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
