"""Back-channel logout to apps (OpenID Connect Back-Channel Logout 1.0).

When a member's grants are revoked, each app with a back-channel logout URI
that held one gets a signed logout token by a direct POST. Deliveries are
rows in the database: a failed POST is retried with exponential backoff,
and every attempt's outcome is recorded, so an operator can see which app
missed a logout and why.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

import httpx

from scimbridge.directory.clock import utc_now
from scimbridge.directory.ids import new_id
from scimbridge.provider.clients import AppClient
from scimbridge.provider.grants import Grant
from scimbridge.provider.records import Delivery, DeliveryStatus
from scimbridge.provider.tokens import TokenIssuer
from scimbridge.storage.db import SqlStore

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
"""With the delays below, the last attempt comes about 47 minutes after the first."""
FIRST_RETRY = timedelta(seconds=2)
MAX_RETRY = timedelta(minutes=10)
ATTEMPT_TIMEOUT_SECONDS = 5.0
LEASE = timedelta(seconds=30)
"""How long a claimed delivery stays hidden from other workers while it is sent."""
POLL_SECONDS = 5.0
BATCH = 50


def retry_delay(attempts: int) -> timedelta:
    """Backoff after ``attempts`` failed attempts: 2 s, 4 s, 8 s... up to 10 min."""
    delay: timedelta = FIRST_RETRY * (2 ** (attempts - 1))
    return min(delay, MAX_RETRY)


class BackChannelLogout:
    def __init__(
        self,
        store: SqlStore,
        tokens: TokenIssuer,
        http_client: httpx.AsyncClient,
        issuer: Callable[[], str],
        clients: Callable[[str], Awaitable[AppClient | None]],
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._http = http_client
        self._issuer = issuer
        self._clients = clients
        self._wake = asyncio.Event()

    async def enqueue(self, grants: Iterable[Grant]) -> list[Delivery]:
        """Record one delivery per (app, browser session) among ``grants``."""
        now = utc_now()
        created: list[Delivery] = []
        seen: set[tuple[str, str]] = set()
        for grant in grants:
            if (grant.client_id, grant.sid) in seen:
                continue
            seen.add((grant.client_id, grant.sid))
            client = await self._clients(grant.client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            created.append(
                Delivery(
                    org_id=grant.org_id,
                    id=new_id(),
                    client_id=grant.client_id,
                    member_id=grant.member_id,
                    sid=grant.sid,
                    status=DeliveryStatus.pending,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                    created_at=now,
                )
            )
        if created:
            async with self._store.transaction(write=True) as unit:
                for delivery in created:
                    await unit.provider.add_delivery(delivery)
            self._wake.set()
        return created

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send every delivery that is due and return how many were attempted."""
        now = now or utc_now()
        async with self._store.transaction() as unit:
            due = await unit.provider.due_deliveries(now, BATCH)
        attempted = 0
        for delivery in due:
            async with self._store.transaction(write=True) as unit:
                claimed = await unit.provider.claim_delivery(delivery, now + LEASE)
            if not claimed:
                continue
            attempted += 1
            outcome = await self._attempt(delivery)
            async with self._store.transaction(write=True) as unit:
                await unit.provider.record_attempt(outcome)
        return attempted

    async def _attempt(self, delivery: Delivery) -> Delivery:
        attempts = delivery.attempts + 1
        client = await self._clients(delivery.client_id)
        error: str | None
        if client is None or not client.backchannel_logout_uri:
            error = "the app no longer has a back-channel logout URI"
        else:
            error = await self._post(client, delivery)
        now = utc_now()
        if error is None:
            logger.info(
                "back-channel logout delivered org_id=%s member_id=%s client_id=%s "
                "attempts=%d",
                delivery.org_id,
                delivery.member_id,
                delivery.client_id,
                attempts,
            )
            return replace(
                delivery,
                status=DeliveryStatus.delivered,
                attempts=attempts,
                delivered_at=now,
                last_error=None,
            )
        give_up = attempts >= MAX_ATTEMPTS or client is None
        logger.warning(
            "back-channel logout failed org_id=%s member_id=%s client_id=%s "
            "attempts=%d final=%s error=%s",
            delivery.org_id,
            delivery.member_id,
            delivery.client_id,
            attempts,
            give_up,
            error,
        )
        return replace(
            delivery,
            status=DeliveryStatus.failed if give_up else DeliveryStatus.pending,
            attempts=attempts,
            next_attempt_at=now + retry_delay(attempts),
            last_error=error[:1000],
        )

    async def _post(self, client: AppClient, delivery: Delivery) -> str | None:
        assert client.backchannel_logout_uri is not None
        token = await self._tokens.logout_token(
            self._issuer(), client.id, str(delivery.member_id), delivery.sid
        )
        try:
            response = await self._http.post(
                client.backchannel_logout_uri,
                data={"logout_token": token},
                timeout=ATTEMPT_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in (200, 204):
            return None
        return f"the app answered HTTP {response.status_code}"

    async def member_deliveries(self, org_id: UUID, member_id: UUID) -> list[Delivery]:
        async with self._store.transaction() as unit:
            return await unit.provider.member_deliveries(org_id, member_id)

    async def run_once(self) -> None:
        """Deliver what is due, then wait for a new delivery or a few seconds."""
        try:
            await self.deliver_due()
        except Exception:
            logger.exception("back-channel logout worker failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
        self._wake.clear()
