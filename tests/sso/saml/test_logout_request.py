"""IdP LogoutRequests by HTTP-Redirect: what read_logout_request accepts and rejects."""

from datetime import timedelta

import pytest
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.bindings import build_redirect_url
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.logout_request import IdpLogoutRequest, read_logout_request
from tests.sso.saml.idp import IDP_ENTITY_ID, NOW, idp_config, idp_key

SLO_URL = "https://sso.scimbridge.example/sso/saml/acme/1/slo"
SKEW = timedelta(minutes=2)


def _request(
    *,
    tag: str = "LogoutRequest",
    destination: str | None = SLO_URL,
    not_on_or_after: str | None = None,
    name_id_tag: str = "NameID",
    session_indexes: tuple[str, ...] = ("_s1",),
    issue_instant: str = "2025-03-14T11:59:58Z",
) -> bytes:
    request = etree.Element(
        f"{{{names.SAMLP}}}{tag}",
        nsmap={"samlp": names.SAMLP, "saml": names.SAML},
        ID="_logout-1",
        Version="2.0",
        IssueInstant=issue_instant,
    )
    if destination is not None:
        request.set("Destination", destination)
    if not_on_or_after is not None:
        request.set("NotOnOrAfter", not_on_or_after)
    etree.SubElement(request, names.ISSUER).text = IDP_ENTITY_ID
    etree.SubElement(request, f"{{{names.SAML}}}{name_id_tag}").text = "jane@corp"
    for index in session_indexes:
        etree.SubElement(request, f"{{{names.SAMLP}}}SessionIndex").text = index
    return etree.tostring(request)


def _query(xml: bytes, *, signed: bool = True) -> str:
    url = build_redirect_url(
        SLO_URL,
        xml,
        relay_state="r1",
        signing_key_pem=idp_key().key_pem if signed else None,
    )
    return url.partition("?")[2]


def _read(query: str) -> IdpLogoutRequest:
    return read_logout_request(
        query, idp=idp_config(), slo_url=SLO_URL, now=NOW, clock_skew=SKEW
    )


def _expect(query: str, code: ErrorCode) -> None:
    with pytest.raises(SamlError) as caught:
        _read(query)
    assert caught.value.code == code


def test_signed_request_read() -> None:
    request = _read(_query(_request(session_indexes=("_s1", "_s2"))))

    assert request.id == "_logout-1"
    assert request.name_id == "jane@corp"
    assert request.session_indexes == ("_s1", "_s2")


def test_unsigned_request_rejected() -> None:
    _expect(_query(_request(), signed=False), ErrorCode.REDIRECT_SIGNATURE_INVALID)


def test_changed_query_rejected() -> None:
    query = _query(_request()).replace("RelayState=r1", "RelayState=r2")

    _expect(query, ErrorCode.REDIRECT_SIGNATURE_INVALID)


def test_expired_request_rejected() -> None:
    query = _query(_request(not_on_or_after="2025-03-14T11:55:00Z"))

    _expect(query, ErrorCode.EXPIRED)


def test_other_destination_rejected() -> None:
    query = _query(_request(destination="https://other.example/slo"))

    _expect(query, ErrorCode.DESTINATION_MISMATCH)


def test_encrypted_id_rejected() -> None:
    _expect(_query(_request(name_id_tag="EncryptedID")), ErrorCode.SUBJECT_INVALID)


def test_other_message_rejected() -> None:
    _expect(_query(_request(tag="AuthnRequest")), ErrorCode.SCHEMA_INVALID)


def test_signed_relay_state_read() -> None:
    request = _read(_query(_request()))

    assert request.relay_state == "r1"


def test_encoded_relay_state_rejected() -> None:
    """A RelayState name in percent-encoding escapes the signature, so it fails."""
    query = _query(_request()) + "&Relay%53tate=https%3A%2F%2Fevil.example"

    _expect(query, ErrorCode.REDIRECT_SIGNATURE_INVALID)


def test_old_request_rejected() -> None:
    """A request without NotOnOrAfter still expires, so its ID need not live on."""
    query = _query(_request(issue_instant="2025-03-14T11:50:00Z"))

    _expect(query, ErrorCode.EXPIRED)


def test_request_expiry_includes_skew() -> None:
    request = _read(_query(_request(not_on_or_after="2025-03-14T12:01:00Z")))

    assert request.expires_at == NOW + timedelta(minutes=1) + SKEW
