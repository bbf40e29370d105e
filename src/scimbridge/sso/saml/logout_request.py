"""IdP-initiated SAML Single Logout over the HTTP-Redirect binding.

When a user signs out at the IdP, or at another SP in the same IdP session, the
IdP sends the browser to each SP's SingleLogoutService with a LogoutRequest.
:func:`read_logout_request` checks that request: the query signature with the
IdP's configured certificates (an unsigned request is rejected, since anyone
could otherwise sign users out), then the message itself. :func:`logout_response`
builds the LogoutResponse that the browser carries back to the IdP.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.assertion import check_issuer, same_url
from scimbridge.sso.saml.authn_request import new_request_id
from scimbridge.sso.saml.bindings import decode_message, verify_redirect_signature
from scimbridge.sso.saml.config import IdpConfig
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.times import (
    check_not_before,
    check_not_on_or_after,
    read_time,
    require_time,
)
from scimbridge.sso.saml.xml import (
    DEFAULT_LIMITS,
    Children,
    XmlLimits,
    parse_xml,
    require_attribute,
    text_content,
)

LOGOUT_REQUEST = names.tag(names.SAMLP, "LogoutRequest")
LOGOUT_RESPONSE = names.tag(names.SAMLP, "LogoutResponse")
SESSION_INDEX = names.tag(names.SAMLP, "SessionIndex")
ENCRYPTED_ID = names.tag(names.SAML, "EncryptedID")
MAX_LOGOUT_REQUEST_AGE = timedelta(minutes=5)
"""Time after its IssueInstant that a LogoutRequest is accepted, without the skew.

The IdP sends the browser on at once, so a few minutes cover slow hops. A
bound is needed because the request ID is remembered to stop replays, and a
request without NotOnOrAfter would otherwise have to be remembered forever.
"""


@dataclass(frozen=True, slots=True)
class IdpLogoutRequest:
    """A verified LogoutRequest: whom the IdP signed out, and which of its sessions."""

    id: str
    name_id: str
    session_indexes: tuple[str, ...]
    """The IdP sessions to end; empty means every session of ``name_id``."""
    expires_at: datetime
    """The time after which the request is rejected anyway, skew included."""
    relay_state: str | None = None
    """The RelayState that the query signature covers."""


def read_logout_request(
    raw_query: str,
    *,
    idp: IdpConfig,
    slo_url: str,
    now: datetime,
    clock_skew: timedelta,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> IdpLogoutRequest:
    """Verify a LogoutRequest sent by HTTP-Redirect and return its NameID and sessions.

    :param raw_query: the query string exactly as received, for the signature.
    :param slo_url: this connection's SingleLogoutService URL.
    :raises SamlError: ``saml.redirect_signature_invalid`` for a missing or wrong
        signature, ``saml.expired`` for a request issued more than
        ``MAX_LOGOUT_REQUEST_AGE`` ago, and the usual codes for a message that
        is not a valid LogoutRequest from the configured IdP.
    """
    signed = verify_redirect_signature(
        raw_query, idp.signing_certificates, allow_sha1=idp.allow_sha1
    )
    root = parse_xml(decode_message(signed.message, limits), limits)
    if root.tag != LOGOUT_REQUEST:
        raise SamlError(
            ErrorCode.SCHEMA_INVALID,
            f"the SAMLRequest is a {etree.QName(root).localname}, not a LogoutRequest",
        )
    if root.get("Version") != names.VERSION_2_0:
        raise SamlError(
            ErrorCode.VERSION_UNSUPPORTED,
            f"the LogoutRequest Version is {root.get('Version')!r}, not '2.0'",
        )
    request_id = require_attribute(root, "ID")
    issue_instant = require_time(root, "IssueInstant")
    check_not_before(issue_instant, now, clock_skew, "the LogoutRequest")
    expires_at = issue_instant + MAX_LOGOUT_REQUEST_AGE
    not_on_or_after = read_time(root, "NotOnOrAfter")
    if not_on_or_after is not None:
        expires_at = min(expires_at, not_on_or_after)
    check_not_on_or_after(expires_at, now, clock_skew, "the LogoutRequest")
    destination = root.get("Destination")
    if destination is not None and not same_url(destination, slo_url):
        raise SamlError(
            ErrorCode.DESTINATION_MISMATCH,
            f"the LogoutRequest Destination is {destination[:200]!r}, but this "
            f"connection's logout URL is {slo_url!r}",
        )

    children = Children(root)
    check_issuer(children.require(names.ISSUER), idp, "LogoutRequest")
    if children.count(ENCRYPTED_ID) or children.count(names.BASE_ID):
        raise SamlError(
            ErrorCode.SUBJECT_INVALID,
            "the LogoutRequest names the user with an EncryptedID or BaseID, which "
            "scimbridge does not support; configure the IdP to send a plain NameID",
        )
    name_id = text_content(children.require(names.NAME_ID))
    if not name_id.strip():
        raise SamlError(ErrorCode.SUBJECT_INVALID, "the LogoutRequest NameID is empty")
    session_indexes = tuple(
        text_content(index) for index in children.all(SESSION_INDEX)
    )
    return IdpLogoutRequest(
        request_id,
        name_id,
        session_indexes,
        expires_at=expires_at + clock_skew,
        relay_state=signed.relay_state,
    )


def logout_response(request_id: str, *, destination: str, issuer: str) -> bytes:
    """Return a LogoutResponse with status Success for the request ``request_id``."""
    response = etree.Element(
        LOGOUT_RESPONSE, nsmap={"samlp": names.SAMLP, "saml": names.SAML}
    )
    response.set("ID", new_request_id())
    response.set("Version", names.VERSION_2_0)
    response.set("IssueInstant", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    response.set("Destination", destination)
    response.set("InResponseTo", request_id)
    etree.SubElement(response, names.ISSUER).text = issuer
    status = etree.SubElement(response, names.STATUS)
    etree.SubElement(status, names.STATUS_CODE, Value=names.STATUS_SUCCESS)
    return etree.tostring(response)
