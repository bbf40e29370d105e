"""The in-process store's expiry of one-time values, sweeps and size bound."""

from datetime import timedelta

import pytest

from scimbridge.sessions.memory_store import EmbeddedSessionStore
from scimbridge.sessions.store import SessionStoreFull
from tests.sessions.conftest import FakeClock, make_session

pytestmark = pytest.mark.anyio


async def test_take_after_ttl(clock: FakeClock) -> None:
    """A one-time value is gone once its TTL has passed, and its key is free."""
    store = EmbeddedSessionStore(clock=clock)
    await store.put_once("oidc-state", "s1", "v", 60)

    clock.advance(seconds=60)

    assert await store.take("oidc-state", "s1") is None
    assert await store.put_once("oidc-state", "s1", "again", 60)


async def test_put_once_over_expired_value(clock: FakeClock) -> None:
    """put_once replaces a value whose TTL has passed."""
    store = EmbeddedSessionStore(clock=clock)
    await store.put_once("oidc-state", "s1", "old", 60)

    clock.advance(seconds=61)

    assert await store.put_once("oidc-state", "s1", "new", 60)
    assert await store.take("oidc-state", "s1") == b"new"


async def test_remember_after_ttl(clock: FakeClock) -> None:
    """A replay entry is forgotten once its TTL has passed."""
    store = EmbeddedSessionStore(clock=clock)
    assert await store.remember("saml-assertion", "_a1", 300)

    clock.advance(seconds=299)
    assert not await store.remember("saml-assertion", "_a1", 300)
    clock.advance(seconds=1)
    assert await store.remember("saml-assertion", "_a1", 300)


async def test_full_store_rejects_writes(clock: FakeClock) -> None:
    """At max_entries live entries, a write raises SessionStoreFull."""
    store = EmbeddedSessionStore(max_entries=3, clock=clock)
    await store.create(make_session(clock))
    await store.put_once("oidc-state", "s1", "v", 60)
    await store.remember("saml-assertion", "_a1", 60)

    with pytest.raises(SessionStoreFull, match="full with 3 live entries"):
        await store.create(make_session(clock))
    with pytest.raises(SessionStoreFull):
        await store.put_once("oidc-state", "s2", "v", 60)
    with pytest.raises(SessionStoreFull):
        await store.remember("saml-assertion", "_a2", 60)
    with pytest.raises(SessionStoreFull):
        await store.hit("login", "client", 5, 60)
    assert store.entry_count == 3


async def test_full_store_reuses_expired_entries(clock: FakeClock) -> None:
    """At the bound, expired entries are removed to make room before raising."""
    store = EmbeddedSessionStore(max_entries=2, clock=clock)
    short = make_session(clock, lifetime=timedelta(minutes=1))
    await store.create(short)
    await store.put_once("oidc-state", "s1", "v", 30)

    clock.advance(minutes=1)
    replacement = make_session(clock)
    await store.create(replacement)
    await store.remember("saml-assertion", "_a1", 60)

    assert store.entry_count == 2
    assert await store.get(replacement.id) == replacement
    assert await store.list_member(short.org_id, short.member_id) == []


async def test_writes_sweep_expired_entries(clock: FakeClock) -> None:
    """A write after the sweep interval removes every expired entry."""
    store = EmbeddedSessionStore(sweep_interval=timedelta(minutes=5), clock=clock)
    for number in range(10):
        await store.create(make_session(clock, lifetime=timedelta(minutes=1)))
        await store.put_once("oidc-state", f"s{number}", "v", 60)
        await store.remember("saml-assertion", f"_a{number}", 60)
        await store.hit("login", f"client-{number}", 5, 60)
    assert store.entry_count == 40

    clock.advance(minutes=4)
    await store.remember("saml-assertion", "_before-sweep", 60)
    assert store.entry_count == 41

    clock.advance(minutes=1)
    await store.remember("saml-assertion", "_after-sweep", 600)
    assert store.entry_count == 1


async def test_sweep_returns_removed_count(clock: FakeClock) -> None:
    """sweep removes expired entries only and returns how many."""
    store = EmbeddedSessionStore(clock=clock)
    live = make_session(clock)
    await store.create(live)
    await store.create(make_session(clock, lifetime=timedelta(minutes=1)))
    await store.put_once("oidc-state", "s1", "v", 30)

    clock.advance(minutes=1)

    assert store.sweep() == 2
    assert store.entry_count == 1
    assert await store.get(live.id) == live


async def test_revoke_skips_ended_sessions(clock: FakeClock) -> None:
    """revoke_member counts only sessions that had not ended yet."""
    store = EmbeddedSessionStore(clock=clock)
    live = make_session(clock)
    ended = make_session(
        clock,
        org_id=live.org_id,
        member_id=live.member_id,
        lifetime=timedelta(minutes=1),
    )
    await store.create(live)
    await store.create(ended)

    clock.advance(minutes=1)

    assert await store.revoke_member(live.org_id, live.member_id) == 1
    assert store.entry_count == 0


def test_max_entries_must_be_positive() -> None:
    """A store without room for one entry is a configuration error."""
    with pytest.raises(ValueError, match="max_entries"):
        EmbeddedSessionStore(max_entries=0)
