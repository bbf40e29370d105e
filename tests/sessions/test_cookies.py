"""Set-Cookie values for the session cookie, and parsing of Cookie headers."""

from datetime import timedelta

import pytest

from scimbridge.sessions.cookies import (
    CookieSettings,
    clear_session_cookie,
    session_cookie,
    session_id_from_cookie_header,
)
from scimbridge.sessions.store import new_session_id
from tests.sessions.conftest import FakeClock, make_session

SECURE = CookieSettings()
LOCAL_HTTP = CookieSettings(secure=False)


def test_secure_cookie_header(clock: FakeClock) -> None:
    """The default cookie is __Host- prefixed, Secure, HttpOnly and SameSite=Lax."""
    session = make_session(clock, lifetime=timedelta(hours=1))

    header = session_cookie(session, SECURE, now=clock())

    assert header == (
        f"__Host-scimbridge_session={session.id}; Max-Age=3600; Path=/; "
        "Secure; HttpOnly; SameSite=Lax"
    )


def test_insecure_cookie_header(clock: FakeClock) -> None:
    """Without Secure the name has no __Host- prefix, and HttpOnly stays."""
    session = make_session(clock, lifetime=timedelta(minutes=10))

    header = session_cookie(session, LOCAL_HTTP, now=clock())

    assert header == (
        f"scimbridge_session={session.id}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax"
    )


def test_same_site_strict(clock: FakeClock) -> None:
    """SameSite is configurable."""
    session = make_session(clock)

    header = session_cookie(session, CookieSettings(same_site="Strict"), now=clock())

    assert header.endswith("; SameSite=Strict")


def test_same_site_none_requires_secure() -> None:
    """SameSite=None without Secure is rejected, as browsers would drop it."""
    assert CookieSettings(same_site="None").same_site == "None"
    with pytest.raises(ValueError, match="requires secure"):
        CookieSettings(secure=False, same_site="None")


def test_same_site_invalid() -> None:
    """Only Lax, Strict and None are SameSite values."""
    with pytest.raises(ValueError, match="expected Lax, Strict or None"):
        CookieSettings(same_site="lax")  # type: ignore[arg-type]


def test_max_age_counts_to_expires_at(clock: FakeClock) -> None:
    """Max-Age is the whole seconds left until expires_at, ignoring idle expiry."""
    session = make_session(
        clock, lifetime=timedelta(hours=8), idle=timedelta(minutes=30)
    )

    header = session_cookie(session, SECURE, now=clock() + timedelta(seconds=0.5))

    assert "; Max-Age=28799;" in header


def test_max_age_of_ended_session(clock: FakeClock) -> None:
    """A session past expires_at gets Max-Age=0, so the browser drops the cookie."""
    session = make_session(clock, lifetime=timedelta(hours=1))

    header = session_cookie(session, SECURE, now=clock() + timedelta(hours=2))

    assert "; Max-Age=0;" in header


def test_clear_cookie_header() -> None:
    """The clearing header empties the value with the same name and attributes."""
    assert clear_session_cookie(SECURE) == (
        "__Host-scimbridge_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    )
    assert clear_session_cookie(LOCAL_HTTP) == (
        "scimbridge_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    )


def test_cookie_round_trip(clock: FakeClock) -> None:
    """The id in a Set-Cookie value is parsed back from a Cookie header."""
    session = make_session(clock)
    pair = session_cookie(session, SECURE, now=clock()).split(";")[0]

    assert session_id_from_cookie_header(pair, SECURE) == session.id


def test_parse_among_other_cookies() -> None:
    """The session cookie is found among others, with or without spaces."""
    session_id = new_session_id()

    for header in (
        f"theme=dark; __Host-scimbridge_session={session_id}; lang=en",
        f"theme=dark;__Host-scimbridge_session={session_id}",
        f'__Host-scimbridge_session="{session_id}"',
    ):
        assert session_id_from_cookie_header(header, SECURE) == session_id


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "theme=dark",
        "__Host-scimbridge_session=",
        "__Host-scimbridge_session=not-a-session-id",
        "__host-scimbridge_session=" + "a" * 43,
        "scimbridge_session=" + "a" * 43,
        "__Host-scimbridge_session",
    ],
)
def test_parse_without_session_id(header: str | None) -> None:
    """Headers without a well-formed session cookie of the exact name give None."""
    assert session_id_from_cookie_header(header, SECURE) is None


def test_parse_insecure_name() -> None:
    """Settings without Secure read the unprefixed name only."""
    session_id = new_session_id()

    assert (
        session_id_from_cookie_header(f"scimbridge_session={session_id}", LOCAL_HTTP)
        == session_id
    )
    assert (
        session_id_from_cookie_header(
            f"__Host-scimbridge_session={session_id}", LOCAL_HTTP
        )
        is None
    )


def test_parse_repeated_cookie() -> None:
    """Of repeated cookies, the first well-formed value is returned."""
    first, second = new_session_id(), new_session_id()
    header = (
        "scimbridge_session=garbage; "
        f"scimbridge_session={first}; scimbridge_session={second}"
    )

    assert session_id_from_cookie_header(header, LOCAL_HTTP) == first
