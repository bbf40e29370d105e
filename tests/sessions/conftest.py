"""Fixtures that run one protocol suite against both session stores.

The in-process store always runs. The Redis store runs when
``SCIMBRIDGE_TEST_REDIS_URL`` names a server, such as
``redis://127.0.0.1:6379/15``. Each test then uses a key prefix of its own,
made from a random id per test run, and deletes its keys afterwards, so
parallel runs on one Redis database do not collide.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from redis.asyncio import Redis

from scimbridge.sessions.memory_store import EmbeddedSessionStore
from scimbridge.sessions.redis_store import RedisSessionStore
from scimbridge.sessions.store import Session, SessionStore, new_session_id

REDIS_URL = os.environ.get("SCIMBRIDGE_TEST_REDIS_URL") or None
SKIP_WITHOUT_REDIS = pytest.mark.skipif(
    REDIS_URL is None,
    reason="SCIMBRIDGE_TEST_REDIS_URL is not set, so the Redis store is not tested",
)
RUN_ID = uuid.uuid4().hex[:12]
_test_numbers = count()


class FakeClock:
    """A clock that starts at the real time and moves only when advanced."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class StoreUnderTest:
    """A session store, the clock it reads, and its backend name."""

    backend: str
    store: SessionStore
    clock: FakeClock


def make_session(
    clock: FakeClock,
    *,
    org_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    lifetime: timedelta = timedelta(hours=8),
    idle: timedelta | None = None,
    **fields: Any,
) -> Session:
    """Return a session created now, ending after ``lifetime``."""
    now = clock()
    session = Session(
        id=new_session_id(),
        org_id=org_id or uuid.uuid4(),
        member_id=member_id or uuid.uuid4(),
        connection_id=uuid.uuid4(),
        created_at=now,
        expires_at=now + lifetime,
        auth_time=now - timedelta(seconds=5),
        roles=("admin", "member"),
        amr=("pwd", "mfa"),
        upstream={"session_index": "_be9967abd904ddcae3c0eb4189adbe3f71e327cf93"},
        idle_expires_at=None if idle is None else now + idle,
    )
    return replace(session, **fields)


def new_key_prefix() -> str:
    return f"sbtest:{RUN_ID}:{next(_test_numbers)}:"


async def delete_keys(client: "Redis", prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await client.unlink(*keys)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def redis_client() -> AsyncIterator["Redis"]:
    """A plain client on the test database, to inspect keys and TTLs."""
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@asynccontextmanager
async def open_redis_store(clock: FakeClock) -> AsyncIterator[RedisSessionStore]:
    """Open a Redis store under a new key prefix, and delete its keys afterwards."""
    assert REDIS_URL is not None
    prefix = new_key_prefix()
    store = RedisSessionStore.from_url(REDIS_URL, key_prefix=prefix, clock=clock)
    try:
        yield store
    finally:
        await store.close()
        client = Redis.from_url(REDIS_URL)
        try:
            await delete_keys(client, prefix)
        finally:
            await client.aclose()


@pytest.fixture
async def redis_store(clock: FakeClock) -> AsyncIterator[RedisSessionStore]:
    """A Redis store on the fake clock, for tests of Redis details."""
    async with open_redis_store(clock) as store:
        yield store


@pytest.fixture(params=["memory", pytest.param("redis", marks=SKIP_WITHOUT_REDIS)])
async def harness(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[StoreUnderTest]:
    """Each session store in turn, on a fake clock."""
    if request.param == "memory":
        yield StoreUnderTest("memory", EmbeddedSessionStore(clock=clock), clock)
        return
    async with open_redis_store(clock) as store:
        yield StoreUnderTest("redis", store, clock)
