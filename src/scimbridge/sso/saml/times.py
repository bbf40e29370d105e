"""xs:dateTime values of SAML messages, read strictly and compared with clock skew."""

import re
from datetime import datetime, timedelta
from functools import lru_cache

from lxml import etree

from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import local_name

# xs:dateTime with a required time zone. SAML Core requires UTC, written with
# "Z", and numeric offsets are accepted too because they are unambiguous.
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)


# Values longer than this are parsed without the cache. The fraction has no length
# limit in xs:dateTime, and the cache must not keep long attacker-chosen strings.
_MAX_CACHED_LENGTH = 40


def parse_datetime(value: str) -> datetime:
    """Parse an xs:dateTime with a time zone; fractions beyond microseconds are cut.

    :raises ValueError: when ``value`` is not such a date and time.
    """
    if len(value) <= _MAX_CACHED_LENGTH:
        return _parse_cached(value)
    return _parse(value)


def _parse(value: str) -> datetime:
    match = _DATETIME.fullmatch(value)
    if match is None:
        raise ValueError(value)
    seconds, fraction, zone = match.groups()
    text = seconds
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    text += "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(text)


# A Response repeats the same few instants. The cache is safe because datetime
# objects are immutable and lru_cache does not store a call that raises.
_parse_cached = lru_cache(maxsize=1024)(_parse)


def read_time(element: etree._Element, attribute: str) -> datetime | None:
    """Return an optional time attribute of ``element``.

    :raises SamlError: ``saml.time_invalid`` when it is present but unparseable.
    """
    value = element.get(attribute)
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise SamlError(
            ErrorCode.TIME_INVALID,
            f"{local_name(element)} {attribute} is not an xs:dateTime in UTC: "
            f"{value[:40]!r}",
        ) from exc


def require_time(element: etree._Element, attribute: str) -> datetime:
    """Return a required time attribute of ``element``.

    :raises SamlError: ``saml.time_invalid`` when it is missing or unparseable.
    """
    value = read_time(element, attribute)
    if value is None:
        raise SamlError(
            ErrorCode.TIME_INVALID,
            f"{local_name(element)} has no {attribute} attribute",
        )
    return value


def check_not_before(
    not_before: datetime | None, now: datetime, skew: timedelta, what: str
) -> None:
    """Reject a message used before ``not_before`` minus the skew."""
    if not_before is not None and now + skew < not_before:
        raise SamlError(
            ErrorCode.NOT_YET_VALID,
            f"{what} is not valid before {not_before.isoformat()}; it is "
            f"{now.isoformat()} (check the IdP's and this server's clocks)",
        )


def check_not_on_or_after(
    not_on_or_after: datetime | None, now: datetime, skew: timedelta, what: str
) -> None:
    """Reject a message used at or after ``not_on_or_after`` plus the skew."""
    if not_on_or_after is not None and now - skew >= not_on_or_after:
        raise SamlError(
            ErrorCode.EXPIRED,
            f"{what} expired at {not_on_or_after.isoformat()}; it is {now.isoformat()}",
        )
