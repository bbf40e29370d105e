"""Redis details of the session store: key layout, TTLs, expiry and errors."""

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from scimbridge.sessions.redis_store import RedisSessionStore
from scimbridge.sessions.store import (
    SessionStoreUnavailable,
    new_session_id,
)
from tests.sessions.conftest import (
    REDIS_URL,
    SKIP_WITHOUT_REDIS,
    FakeClock,
    delete_keys,
    make_session,
    new_key_prefix,
)

pytestmark = [pytest.mark.anyio, SKIP_WITHOUT_REDIS]

# PTTL counts from the server's clock, the expected value from the fake clock.
TTL_TOLERANCE_MS = 2000


def assert_ttl_near(actual_ms: int, expected: timedelta) -> None:
    expected_ms = expected / timedelta(milliseconds=1)
    assert actual_ms > 0, "the key has no TTL or does not exist"
    assert abs(actual_ms - expected_ms) <= TTL_TOLERANCE_MS, (actual_ms, expected_ms)


async def test_session_key_ttl(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """The session key expires at expires_at, the earliest end without idle."""
    session = make_session(clock, lifetime=timedelta(hours=2))
    await redis_store.create(session)

    ttl = await redis_client.pttl(redis_store.session_key(session.id))

    assert_ttl_near(ttl, timedelta(hours=2))


async def test_idle_session_key_ttl(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """With an idle expiry the key expires at it, and touch moves the TTL."""
    session = make_session(clock, idle=timedelta(minutes=30))
    await redis_store.create(session)
    key = redis_store.session_key(session.id)
    assert_ttl_near(await redis_client.pttl(key), timedelta(minutes=30))

    await redis_store.touch(session.id, clock() + timedelta(hours=1))

    assert_ttl_near(await redis_client.pttl(key), timedelta(hours=1))


async def test_member_index_ttl_follows_longest_session(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """The member index lives as long as the member's longest session."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    index = redis_store.member_key(org_id, member_id)
    for hours in (1, 8, 2):
        session = make_session(
            clock, org_id=org_id, member_id=member_id, lifetime=timedelta(hours=hours)
        )
        await redis_store.create(session)

    assert_ttl_near(await redis_client.pttl(index), timedelta(hours=8))
    assert await redis_client.zcard(index) == 3


async def test_member_index_drops_expired_ids(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """create drops the ids of the member's expired sessions from the index."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    index = redis_store.member_key(org_id, member_id)
    old = make_session(
        clock, org_id=org_id, member_id=member_id, lifetime=timedelta(minutes=1)
    )
    await redis_store.create(old)

    clock.advance(minutes=2)
    new = make_session(clock, org_id=org_id, member_id=member_id)
    await redis_store.create(new)

    assert await redis_client.zrange(index, 0, -1) == [new.id.encode()]


async def test_delete_removes_index_entry(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """delete removes the session id from the member index."""
    session = make_session(clock)
    await redis_store.create(session)

    await redis_store.delete(session.id)

    index = redis_store.member_key(session.org_id, session.member_id)
    assert await redis_client.zscore(index, session.id) is None
    assert not await redis_client.exists(redis_store.session_key(session.id))


async def test_revoke_deletes_member_index(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """revoke_member leaves neither session keys nor the index behind."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    for _ in range(3):
        await redis_store.create(
            make_session(clock, org_id=org_id, member_id=member_id)
        )

    await redis_store.revoke_member(org_id, member_id)

    keys = [key async for key in redis_client.scan_iter(f"{redis_store.key_prefix}*")]
    assert keys == []


async def test_every_key_has_ttl(
    redis_store: RedisSessionStore, redis_client: Redis, clock: FakeClock
) -> None:
    """Sessions, indexes, one-time values, replay entries and counters all expire."""
    await redis_store.create(make_session(clock))
    await redis_store.create(make_session(clock, idle=timedelta(minutes=5)))
    await redis_store.put_once("oidc-state", "s1", "v", 600)
    await redis_store.remember("saml-assertion", "_a1", 300)
    await redis_store.hit("login", "203.0.113.7", 5, 60)

    keys = [key async for key in redis_client.scan_iter(f"{redis_store.key_prefix}*")]

    assert len(keys) == 7
    for key in keys:
        assert await redis_client.pttl(key) > 0, key


async def test_one_time_value_ttls(
    redis_store: RedisSessionStore, redis_client: Redis
) -> None:
    """put_once and remember keys carry the requested TTL, and counters the window."""
    await redis_store.put_once("oidc-state", "s1", "v", 600)
    await redis_store.remember("saml-assertion", "_a1", 300)
    await redis_store.hit("login", "client", 5, 60)
    prefix = redis_store.key_prefix

    assert_ttl_near(
        await redis_client.pttl(f"{prefix}o:oidc-state:s1"), timedelta(seconds=600)
    )
    assert_ttl_near(
        await redis_client.pttl(f"{prefix}r:saml-assertion:_a1"), timedelta(seconds=300)
    )
    [counter] = [key async for key in redis_client.scan_iter(f"{prefix}h:login:*")]
    assert 0 < await redis_client.pttl(counter) <= 60_000


async def test_session_expires_in_redis(redis_client: Redis) -> None:
    """Redis removes the session key at valid_until, without any read."""
    assert REDIS_URL is not None
    prefix = new_key_prefix()
    # This store reads the real clock, because the key's PXAT is real time.
    store = RedisSessionStore.from_url(REDIS_URL, key_prefix=prefix)
    try:
        session = make_session(FakeClock(), lifetime=timedelta(milliseconds=300))
        await store.create(session)
        assert await redis_client.exists(store.session_key(session.id))

        await asyncio.sleep(0.4)

        assert not await redis_client.exists(store.session_key(session.id))
        assert await store.get(session.id) is None
    finally:
        await store.close()
        await delete_keys(redis_client, prefix)


async def test_malformed_value_reads_as_missing(
    redis_store: RedisSessionStore,
    redis_client: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value that is not a session returns None and logs a warning without the id."""
    session_id = new_session_id()
    await redis_client.set(redis_store.session_key(session_id), b"{not json", ex=60)

    with caplog.at_level(logging.WARNING, logger="scimbridge.sessions"):
        assert await redis_store.get(session_id) is None

    assert "malformed session value" in caplog.text
    assert session_id not in caplog.text


async def test_unreachable_redis_raises_unavailable(clock: FakeClock) -> None:
    """A refused connection raises SessionStoreUnavailable, not a redis-py error."""
    # Port 1 on the loopback interface has no listener.
    store = RedisSessionStore.from_url(
        "redis://127.0.0.1:1/0?socket_connect_timeout=1", clock=clock
    )
    try:
        with pytest.raises(SessionStoreUnavailable, match="Redis is unavailable"):
            await store.get(new_session_id())
    finally:
        await store.close()
