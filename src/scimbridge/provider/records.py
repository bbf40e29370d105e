"""Records the provider keeps in the database: signing keys and logout deliveries."""

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


class KeyState(enum.StrEnum):
    """A signing key's place in rotation. Only ``current`` signs new tokens.

    ``next`` is published before it signs anything, so apps that cache the
    JWKS already have it when it becomes current. ``retired`` stays published
    until every token it signed has expired.
    """

    current = "current"
    next = "next"
    retired = "retired"


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    state: str
    algorithm: str
    sealed_private_key: str
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One back-channel logout token to send to one app, with its attempts."""

    org_id: UUID
    id: UUID
    client_id: str
    member_id: UUID
    sid: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None = None
