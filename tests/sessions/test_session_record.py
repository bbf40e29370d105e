"""The Session record's checks, its JSON form, and the store factory."""

import uuid
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from scimbridge.sessions import build_session_store
from scimbridge.sessions.codec import decode_session, encode_session
from scimbridge.sessions.memory_store import EmbeddedSessionStore
from scimbridge.sessions.redis_store import RedisSessionStore
from scimbridge.sessions.store import Session, is_session_id, new_session_id
from tests.sessions.conftest import FakeClock, make_session


def test_session_ids_are_random_and_url_safe() -> None:
    """new_session_id returns 43 URL-safe characters (256 bits), never repeated."""
    ids = {new_session_id() for _ in range(1000)}

    assert len(ids) == 1000
    for session_id in ids:
        assert is_session_id(session_id)
        assert len(session_id) == 43


@pytest.mark.parametrize(
    "value",
    ["", "short", "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "/", "a" * 42 + ";"],
)
def test_is_session_id_rejects(value: str) -> None:
    """Values of another length or alphabet are not session ids."""
    assert not is_session_id(value)


def test_session_rejects_foreign_id(clock: FakeClock) -> None:
    """A session id must come from new_session_id."""
    with pytest.raises(ValueError, match="new_session_id"):
        make_session(clock, id="admin")


def test_session_rejects_naive_datetime(clock: FakeClock) -> None:
    """Times without a timezone are rejected, by field name."""
    session = make_session(clock)
    naive = session.expires_at.replace(tzinfo=None)

    with pytest.raises(ValueError, match="expires_at must be a timezone-aware"):
        replace(session, expires_at=naive)


def test_session_rejects_end_before_start(clock: FakeClock) -> None:
    """expires_at must come after created_at."""
    with pytest.raises(ValueError, match="expires_at must be after created_at"):
        make_session(clock, lifetime=timedelta(0))


def test_session_rejects_idle_after_end(clock: FakeClock) -> None:
    """idle_expires_at may not lie after expires_at."""
    with pytest.raises(ValueError, match="idle_expires_at"):
        make_session(clock, lifetime=timedelta(hours=1), idle=timedelta(hours=2))


def test_session_valid_until(clock: FakeClock) -> None:
    """valid_until is the earlier of expires_at and idle_expires_at."""
    plain = make_session(clock)
    idle = make_session(clock, idle=timedelta(minutes=30))

    assert plain.valid_until == plain.expires_at
    assert idle.valid_until == idle.idle_expires_at


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ({f"k{i}": "v" for i in range(17)}, "17 entries"),
        ({"": "v"}, "1 to 64 characters"),
        ({"k" * 65: "v"}, "1 to 64 characters"),
        ({"id_token_hint": "x" * 4097}, "4097 characters"),
    ],
)
def test_session_rejects_large_upstream(
    clock: FakeClock, upstream: dict[str, str], message: str
) -> None:
    """upstream is limited to 16 entries of short keys and values up to 4096."""
    with pytest.raises(ValueError, match=message):
        make_session(clock, upstream=upstream)


def test_codec_round_trip(clock: FakeClock) -> None:
    """A session survives encoding, with and without idle expiry."""
    for session in (
        make_session(clock),
        make_session(clock, idle=timedelta(minutes=15), roles=(), amr=()),
    ):
        assert decode_session(encode_session(session)) == session


def test_codec_keeps_instant_of_other_timezones(clock: FakeClock) -> None:
    """A time in another offset decodes to the same instant in UTC."""
    plus_two = timezone(timedelta(hours=2))
    session = make_session(clock)
    session = replace(session, created_at=session.created_at.astimezone(plus_two))

    decoded = decode_session(encode_session(session))

    assert decoded.created_at == session.created_at
    assert decoded.created_at.utcoffset() == timedelta(0)


def test_codec_is_compact(clock: FakeClock) -> None:
    """The JSON has no whitespace and stays well under 1 KB for a typical session."""
    data = encode_session(make_session(clock))

    assert b" " not in data
    assert len(data) < 600


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "malformed session value"),
        (b"[]", "malformed session value"),
        (b'{"v": 1}', "malformed session value"),
        (b'{"v": 2}', "unsupported session format version 2"),
    ],
)
def test_codec_rejects_malformed(data: bytes, message: str) -> None:
    """Values that are not sessions of format 1 raise ValueError."""
    with pytest.raises(ValueError, match=message):
        decode_session(data)


def test_codec_rejects_invalid_record(clock: FakeClock) -> None:
    """A decoded record still passes the Session checks."""
    data = encode_session(make_session(clock)).replace(b'"id":"', b'"id":"x')

    with pytest.raises(ValueError, match="new_session_id"):
        decode_session(data)


def test_factory_without_url() -> None:
    """No Redis URL, or an empty one, selects the in-process store."""
    assert isinstance(build_session_store(None), EmbeddedSessionStore)
    assert isinstance(build_session_store(""), EmbeddedSessionStore)


@pytest.mark.anyio
async def test_factory_with_url() -> None:
    """A Redis URL selects the Redis store, which connects on first use only."""
    store = build_session_store("redis://127.0.0.1:6379/15", key_prefix="sbtest:")

    assert isinstance(store, RedisSessionStore)
    assert store.key_prefix == "sbtest:"
    await store.close()


def test_factory_rejects_other_scheme() -> None:
    """A URL of another scheme raises ValueError without echoing the password."""
    with pytest.raises(ValueError, match="invalid Redis URL") as raised:
        build_session_store("http://user:hunter2@127.0.0.1:6379/0")

    assert "hunter2" not in str(raised.value)


def test_session_fields_default(clock: FakeClock) -> None:
    """roles, amr and upstream default to empty, idle expiry to None."""
    now = clock()
    minimal = Session(
        id=new_session_id(),
        org_id=uuid.uuid4(),
        member_id=uuid.uuid4(),
        connection_id=uuid.uuid4(),
        created_at=now,
        expires_at=now + timedelta(hours=1),
        auth_time=now,
    )

    assert minimal.roles == ()
    assert minimal.amr == ()
    assert minimal.upstream == {}
    assert minimal.idle_expires_at is None
