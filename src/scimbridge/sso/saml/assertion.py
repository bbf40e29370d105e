"""Checks of a verified Assertion, and the claims read from it.

Every function here takes the Assertion that a verified signature covers (see
``response.trusted_assertion``), never one found by searching the document. Most
take it as a ``Children`` index, so its children are listed once for all checks.
Values are read with ``xml.text_content``, so a comment inside a NameID or an
attribute value cannot shorten it.
"""

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.config import IdpConfig, SpConfig
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.times import (
    check_not_before,
    check_not_on_or_after,
    read_time,
    require_time,
)
from scimbridge.sso.saml.xml import (
    Children,
    child_elements,
    find_child,
    find_children,
    local_name,
    require_attribute,
    text_content,
)

_KNOWN_CONDITIONS = {
    names.AUDIENCE_RESTRICTION,
    # Replay protection already makes every assertion one-time.
    names.ONE_TIME_USE,
    # scimbridge never passes assertions on, so a proxy limit has nothing to limit.
    names.PROXY_RESTRICTION,
}
_DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_URL_LENGTH = 2048
"""Longest URL that :func:`same_url` parses; a longer one never matches.

Destination is compared before any signature check, so neither the cache below
nor urlsplit's own may keep long attacker-chosen text. An ACS URL is the public
base URL plus a path of 87 characters.
"""
_XSI_NIL = f"{{{names.XSI}}}nil"


# The results of single checks are named tuples: they are immutable like frozen
# dataclasses, and a tuple costs a fraction of a dataclass to create.
class Subject(NamedTuple):
    """The NameID of the Subject."""

    name_id: str
    name_id_format: str | None


class Confirmation(NamedTuple):
    """The bearer SubjectConfirmationData that passed."""

    in_response_to: str | None
    not_on_or_after: datetime
    latest_not_on_or_after: datetime
    """The latest NotOnOrAfter of any bearer confirmation, this one included."""


class Authentication(NamedTuple):
    """The login session as the AuthnStatement describes it."""

    authn_instant: datetime
    session_index: str | None
    session_not_on_or_after: datetime | None


def same_url(received: str, configured: str) -> bool:
    """Compare URLs exactly, except for scheme and host case and a default port.

    ``https://SP.example:443/acs`` equals ``https://sp.example/acs``, but a longer
    path, another port or http for https never matches.
    """
    expected = _normalize_url(configured)
    return expected is not None and _normalize_url(received) == expected


def _normalize_url(url: str) -> tuple[str, str, str, str, str] | None:
    if len(url) > MAX_URL_LENGTH:
        return None
    return _normalize_cached(url)


@lru_cache(maxsize=1024)
def _normalize_cached(url: str) -> tuple[str, str, str, str, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return scheme, netloc, parts.path or "/", parts.query, parts.fragment


def check_assertion_element(
    assertion: etree._Element, now: datetime, sp: SpConfig
) -> str:
    """Check Version, ID and IssueInstant, and return the Assertion ID."""
    if assertion.get("Version") != names.VERSION_2_0:
        raise SamlError(
            ErrorCode.VERSION_UNSUPPORTED,
            f"the Assertion Version is {assertion.get('Version')!r}, not '2.0'",
        )
    assertion_id = require_attribute(assertion, "ID")
    issue_instant = require_time(assertion, "IssueInstant")
    check_not_before(issue_instant, now, sp.clock_skew, "the Assertion (IssueInstant)")
    return assertion_id


def check_assertion_issuer(assertion: Children, idp: IdpConfig) -> str:
    """Require the Assertion Issuer to be the configured IdP entity ID."""
    issuer = assertion.require(names.ISSUER)
    if assertion.elements[0] is not issuer:
        raise SamlError(
            ErrorCode.SCHEMA_INVALID,
            "the Issuer must be the first child of the Assertion",
        )
    return check_issuer(issuer, idp, "Assertion")


def check_issuer(issuer: etree._Element, idp: IdpConfig, owner: str) -> str:
    """Require ``issuer`` to name the configured IdP, in the entity format."""
    value = text_content(issuer)
    issuer_format = issuer.get("Format")
    if issuer_format not in (None, names.ENTITY_FORMAT):
        raise SamlError(
            ErrorCode.ISSUER_MISMATCH,
            f"the {owner} Issuer Format is {issuer_format!r}; it must be the entity "
            "format or absent",
        )
    if value != idp.entity_id:
        raise SamlError(
            ErrorCode.ISSUER_MISMATCH,
            f"the {owner} Issuer is {value[:200]!r}, but this connection expects the "
            f"IdP entity ID {idp.entity_id!r}",
        )
    return value


def check_conditions(
    assertion: Children, now: datetime, sp: SpConfig
) -> datetime | None:
    """Check the Conditions time window and condition types; return NotOnOrAfter."""
    conditions = assertion.one(names.CONDITIONS)
    if conditions is None:
        raise SamlError(ErrorCode.SCHEMA_INVALID, "the Assertion has no Conditions")
    for condition in conditions.iterchildren(etree.Element):
        if condition.tag not in _KNOWN_CONDITIONS:
            raise SamlError(
                ErrorCode.CONDITION_UNSUPPORTED,
                f"the Assertion has a {local_name(condition)} condition, which "
                "scimbridge cannot evaluate, so the assertion cannot be valid "
                "here",
            )
    not_before = read_time(conditions, "NotBefore")
    not_on_or_after = read_time(conditions, "NotOnOrAfter")
    check_not_before(not_before, now, sp.clock_skew, "the Assertion")
    check_not_on_or_after(not_on_or_after, now, sp.clock_skew, "the Assertion")
    return not_on_or_after


def check_audience(assertion: Children, sp: SpConfig) -> None:
    """Require every AudienceRestriction to contain the SP entity ID.

    SAML Core: the assertion is valid only for a member of each
    AudienceRestriction. A missing restriction is rejected, so an assertion made
    for any SP cannot be used here.
    """
    conditions = assertion.require(names.CONDITIONS)
    restrictions = find_children(conditions, names.AUDIENCE_RESTRICTION)
    if not restrictions:
        raise SamlError(
            ErrorCode.AUDIENCE_MISMATCH,
            "the Assertion has no AudienceRestriction; configure the IdP with this "
            f"connection's SP entity ID {sp.entity_id!r} as the audience",
        )
    for restriction in restrictions:
        audiences = [
            text_content(audience).strip()
            for audience in find_children(restriction, names.AUDIENCE)
        ]
        if sp.entity_id not in audiences:
            raise SamlError(
                ErrorCode.AUDIENCE_MISMATCH,
                f"the Assertion audience is {audiences!r}, but this connection's SP "
                f"entity ID is {sp.entity_id!r}",
            )


def read_subject(assertion: Children, sp: SpConfig) -> Subject:
    """Return the NameID value and format."""
    subject = assertion.require(names.SUBJECT)
    if next(subject.iterchildren(names.ENCRYPTED_ID, names.BASE_ID), None) is not None:
        raise SamlError(
            ErrorCode.SUBJECT_INVALID,
            "the Subject has an EncryptedID or BaseID, which scimbridge does not "
            "support; configure the IdP to send a plain NameID",
        )
    name_id = find_child(subject, names.NAME_ID)
    if name_id is None:
        raise SamlError(ErrorCode.SUBJECT_INVALID, "the Subject has no NameID")
    value = text_content(name_id)
    if not value.strip():
        raise SamlError(ErrorCode.SUBJECT_INVALID, "the NameID is empty")
    qualifier = name_id.get("SPNameQualifier")
    if qualifier is not None and qualifier != sp.entity_id:
        raise SamlError(
            ErrorCode.SUBJECT_INVALID,
            f"the NameID SPNameQualifier is {qualifier!r}, but this connection's SP "
            f"entity ID is {sp.entity_id!r}",
        )
    return Subject(value, name_id.get("Format"))


def check_subject_confirmation(
    assertion: Children,
    sp: SpConfig,
    now: datetime,
    expected_request_id: str | None,
) -> Confirmation:
    """Return the first bearer SubjectConfirmation whose data passes every check.

    In the Web Browser SSO profile, Recipient is the ACS URL, NotOnOrAfter is
    required, and InResponseTo, when present, is the ID of the AuthnRequest.
    """
    subject = assertion.require(names.SUBJECT)
    bearers = [
        confirmation
        for confirmation in subject.iterchildren(names.SUBJECT_CONFIRMATION)
        if confirmation.get("Method") == names.BEARER
    ]
    if not bearers:
        raise SamlError(
            ErrorCode.SUBJECT_CONFIRMATION_INVALID,
            "the Subject has no SubjectConfirmation with the bearer method",
        )
    first_error: SamlError | None = None
    for bearer in bearers:
        try:
            confirmation = _check_bearer(bearer, sp, now, expected_request_id)
        except SamlError as exc:
            first_error = first_error or exc
            continue
        if len(bearers) == 1:
            return confirmation
        # Another bearer confirmation may pass later than this one, so a replay
        # must fail until the latest NotOnOrAfter among them all.
        expiries = [_bearer_expiry(other) for other in bearers]
        latest = max(expiry for expiry in expiries if expiry is not None)
        return confirmation._replace(latest_not_on_or_after=latest)
    assert first_error is not None
    raise first_error


def _bearer_expiry(confirmation: etree._Element) -> datetime | None:
    """Return the NotOnOrAfter of a bearer confirmation, or None if it has none."""
    try:
        data = find_child(confirmation, names.SUBJECT_CONFIRMATION_DATA)
        return None if data is None else read_time(data, "NotOnOrAfter")
    except SamlError:
        return None


def _check_bearer(
    confirmation: etree._Element,
    sp: SpConfig,
    now: datetime,
    expected_request_id: str | None,
) -> Confirmation:
    data = find_child(confirmation, names.SUBJECT_CONFIRMATION_DATA)
    if data is None:
        raise SamlError(
            ErrorCode.SUBJECT_CONFIRMATION_INVALID,
            "the bearer SubjectConfirmation has no SubjectConfirmationData",
        )
    recipient = data.get("Recipient")
    if recipient is None or not same_url(recipient, sp.acs_url):
        raise SamlError(
            ErrorCode.RECIPIENT_MISMATCH,
            f"the SubjectConfirmationData Recipient is {recipient!r}, but this "
            f"connection's ACS URL is {sp.acs_url!r}",
        )
    not_on_or_after = require_time(data, "NotOnOrAfter")
    check_not_on_or_after(
        not_on_or_after, now, sp.clock_skew, "the bearer SubjectConfirmationData"
    )
    check_not_before(
        read_time(data, "NotBefore"), now, sp.clock_skew, "the SubjectConfirmationData"
    )
    in_response_to = data.get("InResponseTo")
    if in_response_to is not None and in_response_to != expected_request_id:
        expected = (
            f"this sign-in expects {expected_request_id!r}"
            if expected_request_id is not None
            else "this browser session has no pending request (it may have "
            "expired, or belong to another browser)"
        )
        raise SamlError(
            ErrorCode.IN_RESPONSE_TO_MISMATCH,
            f"the SubjectConfirmationData answers request "
            f"{in_response_to[:200]!r}, but {expected}",
        )
    return Confirmation(in_response_to, not_on_or_after, not_on_or_after)


def read_authentication(
    assertion: Children, now: datetime, sp: SpConfig
) -> Authentication:
    """Return the AuthnStatement's instant, session index and session end."""
    statement = assertion.one(names.AUTHN_STATEMENT)
    if statement is None:
        raise SamlError(
            ErrorCode.AUTHN_STATEMENT_MISSING, "the Assertion has no AuthnStatement"
        )
    session_not_on_or_after = read_time(statement, "SessionNotOnOrAfter")
    if (
        session_not_on_or_after is not None
        and now - sp.clock_skew >= session_not_on_or_after
    ):
        raise SamlError(
            ErrorCode.SESSION_EXPIRED,
            f"the IdP session ended at {session_not_on_or_after.isoformat()} "
            "(AuthnStatement SessionNotOnOrAfter)",
        )
    return Authentication(
        authn_instant=require_time(statement, "AuthnInstant"),
        session_index=statement.get("SessionIndex"),
        session_not_on_or_after=session_not_on_or_after,
    )


def read_attributes(assertion: Children) -> dict[str, list[str]]:
    """Return the attribute values by Name, rejecting duplicate and encrypted ones."""
    attributes: dict[str, list[str]] = {}
    for statement in assertion.all(names.ATTRIBUTE_STATEMENT):
        for attribute in statement.iterchildren(etree.Element):
            if attribute.tag != names.ATTRIBUTE:
                raise SamlError(
                    ErrorCode.ATTRIBUTE_INVALID,
                    f"the AttributeStatement has a {local_name(attribute)}; "
                    "scimbridge reads only plain Attribute elements",
                )
            name = require_attribute(attribute, "Name")
            if name in attributes:
                raise SamlError(
                    ErrorCode.ATTRIBUTE_INVALID,
                    f"the attribute {name[:200]!r} appears twice; send one "
                    "Attribute with several values instead",
                )
            attributes[name] = _attribute_values(attribute, name)
    return attributes


def _attribute_values(attribute: etree._Element, name: str) -> list[str]:
    values = []
    for value in attribute.iterchildren(names.ATTRIBUTE_VALUE):
        if value.get(_XSI_NIL) in ("true", "1"):
            continue
        if len(value) == 0:
            # No child nodes at all, so the text is the whole value.
            values.append(value.text or "")
            continue
        children = child_elements(value)
        if not children:
            values.append(text_content(value))
        elif len(children) == 1 and children[0].tag == names.NAME_ID:
            # Some IdPs send a NameID as an attribute value (eduPersonTargetedID).
            values.append(text_content(children[0]))
        else:
            raise SamlError(
                ErrorCode.ATTRIBUTE_INVALID,
                f"a value of attribute {name[:200]!r} contains XML elements; only "
                "text values and a single NameID are supported",
            )
    return values
