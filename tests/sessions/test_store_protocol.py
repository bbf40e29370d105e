"""The SessionStore protocol, run against the in-process and the Redis store."""

import asyncio
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta

import pytest

from scimbridge.sessions.store import Session, SessionStoreError, new_session_id
from tests.sessions.conftest import StoreUnderTest, make_session

pytestmark = pytest.mark.anyio


def _ids(sessions: Iterable[Session]) -> set[str]:
    return {session.id for session in sessions}


async def test_get_returns_created_session(harness: StoreUnderTest) -> None:
    """A stored session comes back equal, field by field."""
    session = make_session(harness.clock, idle=timedelta(minutes=30))
    await harness.store.create(session)

    loaded = await harness.store.get(session.id)

    assert loaded == session
    assert loaded is not None
    assert loaded.upstream == session.upstream
    assert loaded.roles == ("admin", "member")


async def test_get_unknown_or_malformed_id(harness: StoreUnderTest) -> None:
    """Ids never stored, and values without the shape of an id, return None."""
    assert await harness.store.get(new_session_id()) is None
    assert await harness.store.get("") is None
    assert await harness.store.get("x" * 10_000) is None
    assert await harness.store.get("sb:s:*") is None


async def test_create_rejects_duplicate_id(harness: StoreUnderTest) -> None:
    """A second session with the same id raises and leaves the first intact."""
    session = make_session(harness.clock)
    await harness.store.create(session)

    with pytest.raises(SessionStoreError):
        await harness.store.create(make_session(harness.clock, id=session.id))

    assert await harness.store.get(session.id) == session


async def test_create_rejects_ended_session(harness: StoreUnderTest) -> None:
    """A session whose expires_at has passed is not stored."""
    session = make_session(harness.clock, lifetime=timedelta(minutes=1))
    harness.clock.advance(minutes=2)

    with pytest.raises(ValueError, match="already ended"):
        await harness.store.create(session)


async def test_get_after_expires_at(harness: StoreUnderTest) -> None:
    """A session is returned until expires_at and not from then on."""
    session = make_session(harness.clock, lifetime=timedelta(hours=1))
    await harness.store.create(session)

    harness.clock.advance(minutes=59, seconds=59, milliseconds=999)
    assert await harness.store.get(session.id) == session

    harness.clock.advance(milliseconds=1)
    assert await harness.store.get(session.id) is None


async def test_get_after_idle_expiry(harness: StoreUnderTest) -> None:
    """An idle expiry earlier than expires_at ends the session."""
    session = make_session(harness.clock, idle=timedelta(minutes=30))
    await harness.store.create(session)

    harness.clock.advance(minutes=30)

    assert await harness.store.get(session.id) is None


async def test_touch_moves_idle_expiry(harness: StoreUnderTest) -> None:
    """touch keeps an idle session alive past its first idle expiry."""
    session = make_session(harness.clock, idle=timedelta(minutes=30))
    await harness.store.create(session)

    harness.clock.advance(minutes=20)
    idle_until = harness.clock() + timedelta(minutes=30)
    assert await harness.store.touch(session.id, idle_until)
    harness.clock.advance(minutes=20)

    loaded = await harness.store.get(session.id)
    assert loaded is not None
    assert loaded.idle_expires_at == idle_until


async def test_touch_capped_at_expires_at(harness: StoreUnderTest) -> None:
    """touch never moves the session's end past expires_at."""
    session = make_session(
        harness.clock, lifetime=timedelta(hours=1), idle=timedelta(minutes=30)
    )
    await harness.store.create(session)

    assert await harness.store.touch(session.id, harness.clock() + timedelta(days=1))

    loaded = await harness.store.get(session.id)
    assert loaded is not None
    assert loaded.idle_expires_at == session.expires_at
    harness.clock.advance(hours=1)
    assert await harness.store.get(session.id) is None


async def test_touch_missing_session(harness: StoreUnderTest) -> None:
    """touch returns False for an unknown, deleted or ended session."""
    later = harness.clock() + timedelta(minutes=10)
    assert not await harness.store.touch(new_session_id(), later)

    session = make_session(harness.clock, idle=timedelta(minutes=5))
    await harness.store.create(session)
    await harness.store.delete(session.id)
    assert not await harness.store.touch(session.id, later)
    assert await harness.store.get(session.id) is None

    ended = make_session(harness.clock, idle=timedelta(minutes=5))
    await harness.store.create(ended)
    harness.clock.advance(minutes=6)
    assert not await harness.store.touch(ended.id, harness.clock() + timedelta(hours=1))


async def test_set_roles_keeps_expiry(harness: StoreUnderTest) -> None:
    """set_roles replaces the roles and leaves the id and expiry as they were."""
    session = make_session(harness.clock, idle=timedelta(minutes=30))
    await harness.store.create(session)

    assert await harness.store.set_roles(session.id, ("billing",))

    loaded = await harness.store.get(session.id)
    assert loaded is not None
    assert loaded.roles == ("billing",)
    assert loaded.idle_expires_at == session.idle_expires_at
    assert loaded.expires_at == session.expires_at
    harness.clock.advance(minutes=31)
    assert await harness.store.get(session.id) is None


async def test_set_roles_missing_session(harness: StoreUnderTest) -> None:
    """set_roles returns False for an unknown or deleted session, and stores none."""
    assert not await harness.store.set_roles(new_session_id(), ("admin",))

    session = make_session(harness.clock)
    await harness.store.create(session)
    await harness.store.delete(session.id)
    assert not await harness.store.set_roles(session.id, ("admin",))
    assert await harness.store.get(session.id) is None


async def test_set_roles_with_concurrent_touch(harness: StoreUnderTest) -> None:
    """Concurrent touch and set_roles calls both take effect."""
    session = make_session(harness.clock, idle=timedelta(minutes=30))
    await harness.store.create(session)
    idle_until = harness.clock() + timedelta(minutes=45)

    results = await asyncio.gather(
        *(harness.store.touch(session.id, idle_until) for _ in range(10)),
        harness.store.set_roles(session.id, ("viewer",)),
        *(harness.store.touch(session.id, idle_until) for _ in range(10)),
    )

    assert all(results)
    loaded = await harness.store.get(session.id)
    assert loaded is not None
    assert loaded.roles == ("viewer",)
    assert loaded.idle_expires_at == idle_until


async def test_touch_rejects_past_idle_until(harness: StoreUnderTest) -> None:
    """idle_until must lie in the future."""
    session = make_session(harness.clock, idle=timedelta(minutes=5))
    await harness.store.create(session)

    with pytest.raises(ValueError, match="future"):
        await harness.store.touch(session.id, harness.clock())


async def test_delete_session(harness: StoreUnderTest) -> None:
    """delete ends one session and reports whether it existed."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    kept = make_session(harness.clock, org_id=org_id, member_id=member_id)
    deleted = make_session(harness.clock, org_id=org_id, member_id=member_id)
    await harness.store.create(kept)
    await harness.store.create(deleted)

    assert await harness.store.delete(deleted.id)
    assert not await harness.store.delete(deleted.id)
    assert not await harness.store.delete("not-a-session-id")

    assert await harness.store.get(deleted.id) is None
    assert await harness.store.get(kept.id) == kept
    assert await harness.store.list_member(org_id, member_id) == [kept]


async def test_list_member_oldest_first(harness: StoreUnderTest) -> None:
    """list_member returns live sessions by creation time, without ended ones."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    first = make_session(harness.clock, org_id=org_id, member_id=member_id)
    harness.clock.advance(seconds=1)
    short = make_session(
        harness.clock, org_id=org_id, member_id=member_id, lifetime=timedelta(hours=1)
    )
    harness.clock.advance(seconds=1)
    last = make_session(harness.clock, org_id=org_id, member_id=member_id)
    for session in (last, short, first):
        await harness.store.create(session)

    assert await harness.store.list_member(org_id, member_id) == [first, short, last]

    harness.clock.advance(hours=1)
    assert await harness.store.list_member(org_id, member_id) == [first, last]
    assert await harness.store.list_member(org_id, uuid.uuid4()) == []


async def test_revoke_member_scope(harness: StoreUnderTest) -> None:
    """revoke_member ends that member's sessions in that organization only."""
    org_id, other_org_id = uuid.uuid4(), uuid.uuid4()
    member_id, colleague_id = uuid.uuid4(), uuid.uuid4()
    revoked = [
        make_session(harness.clock, org_id=org_id, member_id=member_id)
        for _ in range(3)
    ]
    colleague = [
        make_session(harness.clock, org_id=org_id, member_id=colleague_id)
        for _ in range(2)
    ]
    # The same member id under another organization is a different member.
    elsewhere = [
        make_session(harness.clock, org_id=other_org_id, member_id=member_id)
        for _ in range(2)
    ]
    for session in revoked + colleague + elsewhere:
        await harness.store.create(session)

    assert await harness.store.revoke_member(org_id, member_id) == 3

    for session in revoked:
        assert await harness.store.get(session.id) is None
    for session in colleague + elsewhere:
        assert await harness.store.get(session.id) == session
    assert await harness.store.list_member(org_id, member_id) == []
    listed_colleague = await harness.store.list_member(org_id, colleague_id)
    assert _ids(listed_colleague) == _ids(colleague)
    listed_elsewhere = await harness.store.list_member(other_org_id, member_id)
    assert _ids(listed_elsewhere) == _ids(elsewhere)
    assert await harness.store.revoke_member(org_id, member_id) == 0


async def test_revoke_member_after_delete(harness: StoreUnderTest) -> None:
    """A session deleted earlier is not counted by revoke_member."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    sessions = [
        make_session(harness.clock, org_id=org_id, member_id=member_id)
        for _ in range(2)
    ]
    for session in sessions:
        await harness.store.create(session)
    await harness.store.delete(sessions[0].id)

    assert await harness.store.revoke_member(org_id, member_id) == 1


async def test_login_after_revoke(harness: StoreUnderTest) -> None:
    """A member can sign in again after a revoke, and only the new session lives."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    old = make_session(harness.clock, org_id=org_id, member_id=member_id)
    await harness.store.create(old)
    await harness.store.revoke_member(org_id, member_id)

    new = make_session(harness.clock, org_id=org_id, member_id=member_id)
    await harness.store.create(new)

    assert await harness.store.list_member(org_id, member_id) == [new]
    assert await harness.store.get(old.id) is None


async def test_revoke_thousand_sessions(harness: StoreUnderTest) -> None:
    """revoke_member ends 1,000 sessions of one member; the time is printed."""
    org_id, member_id = uuid.uuid4(), uuid.uuid4()
    sessions = [
        make_session(harness.clock, org_id=org_id, member_id=member_id)
        for _ in range(1000)
    ]
    bystander = make_session(harness.clock, org_id=org_id)
    for session in sessions + [bystander]:
        await harness.store.create(session)

    started = time.perf_counter()
    revoked = await harness.store.revoke_member(org_id, member_id)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\n{harness.backend}: revoke_member of 1,000 sessions: {elapsed_ms:.2f} ms")

    assert revoked == 1000
    loaded = await asyncio.gather(*(harness.store.get(s.id) for s in sessions))
    assert loaded == [None] * 1000
    assert await harness.store.list_member(org_id, member_id) == []
    assert await harness.store.get(bystander.id) == bystander


async def test_take_returns_value_once(harness: StoreUnderTest) -> None:
    """A value stored with put_once is returned by the first take only."""
    assert await harness.store.put_once("oidc-state", "abc", b"\x00payload", 60)

    assert await harness.store.take("oidc-state", "abc") == b"\x00payload"
    assert await harness.store.take("oidc-state", "abc") is None
    assert await harness.store.take("oidc-state", "never-stored") is None


async def test_put_once_keeps_first_value(harness: StoreUnderTest) -> None:
    """put_once returns False for an existing key and keeps the first value."""
    assert await harness.store.put_once("oidc-state", "abc", "first", 60)
    assert not await harness.store.put_once("oidc-state", "abc", "second", 60)

    assert await harness.store.take("oidc-state", "abc") == b"first"


async def test_put_once_after_take(harness: StoreUnderTest) -> None:
    """A key becomes free again once its value was taken."""
    await harness.store.put_once("oidc-state", "abc", "first", 60)
    await harness.store.take("oidc-state", "abc")

    assert await harness.store.put_once("oidc-state", "abc", "second", 60)
    assert await harness.store.take("oidc-state", "abc") == b"second"


async def test_namespaces_are_separate(harness: StoreUnderTest) -> None:
    """One key in two namespaces stores two separate values."""
    assert await harness.store.put_once("oidc-state", "k", "state", 60)
    assert await harness.store.put_once("saml-relay", "k", "relay", 60)

    assert await harness.store.take("saml-relay", "k") == b"relay"
    assert await harness.store.take("oidc-state", "k") == b"state"


async def test_concurrent_take_has_one_winner(harness: StoreUnderTest) -> None:
    """Of 50 concurrent takes of one value, exactly one receives it."""
    await harness.store.put_once("oidc-state", "race", b"value", 60)

    results = await asyncio.gather(
        *(harness.store.take("oidc-state", "race") for _ in range(50))
    )

    assert results.count(b"value") == 1
    assert results.count(None) == 49


async def test_concurrent_put_once_has_one_winner(harness: StoreUnderTest) -> None:
    """Of 50 concurrent put_once calls for one key, exactly one stores its value."""
    results = await asyncio.gather(
        *(
            harness.store.put_once("oidc-state", "race", f"value-{i}", 60)
            for i in range(50)
        )
    )

    assert results.count(True) == 1
    winner = results.index(True)
    assert await harness.store.take("oidc-state", "race") == f"value-{winner}".encode()


async def test_remember_detects_replay(harness: StoreUnderTest) -> None:
    """remember returns True for a new key and False for a replayed one."""
    assert await harness.store.remember("saml-assertion", "_id-1", 300)
    assert not await harness.store.remember("saml-assertion", "_id-1", 300)
    assert await harness.store.remember("saml-assertion", "_id-2", 300)
    assert await harness.store.remember("oidc-nonce", "_id-1", 300)


async def test_concurrent_remember_has_one_winner(harness: StoreUnderTest) -> None:
    """Of 50 concurrent remember calls for one key, exactly one returns True."""
    results = await asyncio.gather(
        *(harness.store.remember("saml-assertion", "_id", 300) for _ in range(50))
    )

    assert results.count(True) == 1


async def test_hit_limits_each_window(harness: StoreUnderTest) -> None:
    """hit allows limit requests per key and window, then rejects."""
    # Start at a window boundary so the three hits share one window.
    epoch_seconds = harness.clock().timestamp()
    harness.clock.advance(seconds=60 - epoch_seconds % 60)

    results = [await harness.store.hit("login", "203.0.113.7", 3, 60) for _ in range(4)]
    assert results == [True, True, True, False]
    assert await harness.store.hit("login", "198.51.100.2", 3, 60)
    assert await harness.store.hit("token", "203.0.113.7", 3, 60)

    harness.clock.advance(seconds=60)
    assert await harness.store.hit("login", "203.0.113.7", 3, 60)


async def test_concurrent_hits_counted_once_each(harness: StoreUnderTest) -> None:
    """50 concurrent hits against a limit of 10 allow exactly 10."""
    epoch_seconds = harness.clock().timestamp()
    harness.clock.advance(seconds=3600 - epoch_seconds % 3600)

    results = await asyncio.gather(
        *(harness.store.hit("login", "client", 10, 3600) for _ in range(50))
    )

    assert results.count(True) == 10


@pytest.mark.parametrize(
    ("namespace", "key", "message"),
    [
        ("", "k", "invalid namespace"),
        ("Upper", "k", "invalid namespace"),
        ("has:colon", "k", "invalid namespace"),
        ("n" * 65, "k", "invalid namespace"),
        ("ok", "", "key is 0 characters"),
        ("ok", "k" * 1025, "key is 1025 characters"),
    ],
)
async def test_invalid_namespace_or_key(
    harness: StoreUnderTest, namespace: str, key: str, message: str
) -> None:
    """Every keyed operation rejects a bad namespace or key before storing."""
    with pytest.raises(ValueError, match=message):
        await harness.store.put_once(namespace, key, "v", 60)
    with pytest.raises(ValueError, match=message):
        await harness.store.take(namespace, key)
    with pytest.raises(ValueError, match=message):
        await harness.store.remember(namespace, key, 60)
    with pytest.raises(ValueError, match=message):
        await harness.store.hit(namespace, key, 1, 60)


async def test_invalid_durations_and_limits(harness: StoreUnderTest) -> None:
    """TTLs and windows are whole seconds of at least 1, and limits at least 1."""
    with pytest.raises(ValueError, match="ttl_seconds"):
        await harness.store.put_once("ns", "k", "v", 0)
    with pytest.raises(ValueError, match="ttl_seconds"):
        await harness.store.remember("ns", "k", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window_seconds"):
        await harness.store.hit("ns", "k", 1, 0)
    with pytest.raises(ValueError, match="limit"):
        await harness.store.hit("ns", "k", 0, 60)
