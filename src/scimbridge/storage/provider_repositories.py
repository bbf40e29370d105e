"""Repositories of the OpenID Provider, on the transaction's connection."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scimbridge.provider.clients import AppClient
from scimbridge.provider.records import Delivery, DeliveryStatus, StoredKey
from scimbridge.storage.provider_tables import (
    AppClientRow,
    LogoutDeliveryRow,
    SigningKeyRow,
)

# Declarative mappings type __table__ as FromClause; these are Tables.
app_clients = cast(Table, AppClientRow.__table__)
signing_keys = cast(Table, SigningKeyRow.__table__)
deliveries = cast(Table, LogoutDeliveryRow.__table__)


def _client(row: Any) -> AppClient:
    settings = row.settings
    org_ids = settings.get("org_ids")
    return AppClient(
        id=row.id,
        name=row.name,
        public=row.public,
        secret_hash=row.secret_hash,
        redirect_uris=tuple(settings.get("redirect_uris", ())),
        post_logout_redirect_uris=tuple(settings.get("post_logout_redirect_uris", ())),
        backchannel_logout_uri=settings.get("backchannel_logout_uri"),
        org_ids=None
        if org_ids is None
        else frozenset(uuid.UUID(value) for value in org_ids),
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _client_settings(client: AppClient) -> dict[str, Any]:
    return {
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "org_ids": None
        if client.org_ids is None
        else sorted(str(org_id) for org_id in client.org_ids),
    }


def _delivery(row: Any) -> Delivery:
    return Delivery(
        org_id=row.org_id,
        id=row.id,
        client_id=row.client_id,
        member_id=row.member_id,
        sid=row.sid,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class SqlProvider:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # App clients

    async def add_client(self, client: AppClient, now: datetime) -> None:
        await self._connection.execute(
            insert(app_clients).values(
                id=client.id,
                name=client.name,
                public=client.public,
                secret_hash=client.secret_hash,
                settings=_client_settings(client),
                enabled=client.enabled,
                created_at=now,
                updated_at=now,
            )
        )

    async def get_client(self, client_id: str) -> AppClient | None:
        result = await self._connection.execute(
            select(app_clients).where(app_clients.c.id == client_id)
        )
        row = result.one_or_none()
        return None if row is None else _client(row)

    async def list_clients(self) -> list[AppClient]:
        result = await self._connection.execute(
            select(app_clients).order_by(app_clients.c.created_at, app_clients.c.id)
        )
        return [_client(row) for row in result]

    async def update_client(self, client: AppClient, now: datetime) -> bool:
        result = await self._connection.execute(
            update(app_clients)
            .where(app_clients.c.id == client.id)
            .values(
                name=client.name,
                secret_hash=client.secret_hash,
                settings=_client_settings(client),
                enabled=client.enabled,
                updated_at=now,
            )
        )
        return result.rowcount == 1

    async def delete_client(self, client_id: str) -> bool:
        result = await self._connection.execute(
            delete(app_clients).where(app_clients.c.id == client_id)
        )
        return result.rowcount == 1

    # Signing keys

    async def list_keys(self) -> list[StoredKey]:
        result = await self._connection.execute(
            select(signing_keys).order_by(signing_keys.c.created_at)
        )
        return [
            StoredKey(
                kid=row.kid,
                state=row.state,
                algorithm=row.algorithm,
                sealed_private_key=row.private_key,
                public_jwk=row.public_jwk,
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
            for row in result
        ]

    async def add_key(self, key: StoredKey) -> None:
        await self._connection.execute(
            insert(signing_keys).values(
                kid=key.kid,
                state=key.state,
                algorithm=key.algorithm,
                private_key=key.sealed_private_key,
                public_jwk=key.public_jwk,
                created_at=key.created_at,
                retired_at=key.retired_at,
            )
        )

    async def set_key_state(
        self, kid: str, state: str, retired_at: datetime | None = None
    ) -> None:
        await self._connection.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(state=state, retired_at=retired_at)
        )

    async def delete_key(self, kid: str) -> None:
        await self._connection.execute(
            delete(signing_keys).where(signing_keys.c.kid == kid)
        )

    # Back-channel logout deliveries

    async def add_delivery(self, delivery: Delivery) -> None:
        await self._connection.execute(
            insert(deliveries).values(
                org_id=delivery.org_id,
                id=delivery.id,
                client_id=delivery.client_id,
                member_id=delivery.member_id,
                sid=delivery.sid,
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                last_error=delivery.last_error,
                created_at=delivery.created_at,
                delivered_at=delivery.delivered_at,
            )
        )

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        result = await self._connection.execute(
            select(deliveries)
            .where(
                deliveries.c.status == DeliveryStatus.pending.value,
                deliveries.c.next_attempt_at <= now,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        )
        return [_delivery(row) for row in result]

    async def claim_delivery(self, delivery: Delivery, lease_until: datetime) -> bool:
        """Move the next attempt forward unless another worker did it first."""
        result = await self._connection.execute(
            update(deliveries)
            .where(
                deliveries.c.org_id == delivery.org_id,
                deliveries.c.id == delivery.id,
                deliveries.c.status == DeliveryStatus.pending.value,
                deliveries.c.next_attempt_at == delivery.next_attempt_at,
            )
            .values(next_attempt_at=lease_until)
        )
        return result.rowcount == 1

    async def record_attempt(self, delivery: Delivery) -> None:
        await self._connection.execute(
            update(deliveries)
            .where(
                deliveries.c.org_id == delivery.org_id, deliveries.c.id == delivery.id
            )
            .values(
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                last_error=delivery.last_error,
                delivered_at=delivery.delivered_at,
            )
        )

    async def member_deliveries(
        self, org_id: uuid.UUID, member_id: uuid.UUID
    ) -> list[Delivery]:
        result = await self._connection.execute(
            select(deliveries)
            .where(deliveries.c.org_id == org_id, deliveries.c.member_id == member_id)
            .order_by(deliveries.c.created_at, deliveries.c.id)
        )
        return [_delivery(row) for row in result]
