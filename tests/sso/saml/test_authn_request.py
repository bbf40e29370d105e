"""AuthnRequests, the HTTP-Redirect binding and its query-string signatures."""

import base64
from datetime import UTC
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scimbridge.sso.saml import names
from scimbridge.sso.saml.authn_request import (
    build_authn_request,
    new_request_id,
    redirect_url,
)
from scimbridge.sso.saml.bindings import (
    build_redirect_url,
    decode_message,
    verify_redirect_signature,
)
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import parse_xml
from tests.sso.saml.idp import (
    ACS_URL,
    EMAIL_FORMAT,
    NOW,
    SP_ENTITY_ID,
    idp_config,
    idp_key,
    sp_config,
    sp_key,
)

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def test_authn_request_fields() -> None:
    request = build_authn_request(idp=idp_config(), sp=sp_config(), now=NOW)
    root = parse_xml(request.xml)
    assert root.tag == names.AUTHN_REQUEST
    assert root.get("ID") == request.id
    assert root.get("Version") == "2.0"
    assert root.get("IssueInstant") == "2025-03-14T12:00:00Z"
    assert root.get("Destination") == "https://idp.example.com/saml/sso"
    assert root.get("AssertionConsumerServiceURL") == ACS_URL
    assert root.get("ProtocolBinding") == names.BINDING_POST
    assert root.get("ForceAuthn") is None
    assert root.findtext(names.ISSUER) == SP_ENTITY_ID
    assert root.find(names.NAME_ID_POLICY) is None
    assert request.issue_instant == NOW


def test_authn_request_options() -> None:
    request = build_authn_request(
        idp=idp_config(),
        sp=sp_config(),
        now=NOW,
        name_id_format=EMAIL_FORMAT,
        force_authn=True,
    )
    root = parse_xml(request.xml)
    assert root.get("ForceAuthn") == "true"
    policy = root.find(names.NAME_ID_POLICY)
    assert policy is not None
    assert policy.get("Format") == EMAIL_FORMAT


def test_request_ids_are_random_xml_ids() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    for request_id in ids:
        assert request_id.startswith("_")
        assert len(request_id) == 41


def test_naive_time_refused() -> None:
    with pytest.raises(ValueError):
        build_authn_request(
            idp=idp_config(), sp=sp_config(), now=NOW.replace(tzinfo=None)
        )


def test_redirect_url_round_trip() -> None:
    request = build_authn_request(idp=idp_config(), sp=sp_config(), now=NOW)
    url = redirect_url(request, relay_state="k3y")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == idp_config().sso_url
    query = parse_qs(parts.query)
    assert decode_message(query["SAMLRequest"][0]) == request.xml
    assert query["RelayState"] == ["k3y"]
    assert "Signature" not in query


def test_signed_redirect_url_verifies_with_sp_certificate() -> None:
    """An IdP verifies over the query as sent, with the SP certificate."""
    request = build_authn_request(idp=idp_config(), sp=sp_config(), now=NOW)
    url = redirect_url(request, relay_state="k3y", signing_key_pem=sp_key().key_pem)
    raw_query = urlsplit(url).query
    signed, _, signature_parameter = raw_query.rpartition("&Signature=")
    assert signed.startswith("SAMLRequest=")
    assert "&RelayState=k3y&SigAlg=" in signed
    assert unquote(signed.split("&SigAlg=")[1]) == RSA_SHA256
    public_key = x509.load_pem_x509_certificate(sp_key().cert_pem.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        base64.b64decode(unquote(signature_parameter)),
        signed.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    verify_redirect_signature(raw_query, [sp_key().cert_pem])


def test_redirect_url_keeps_existing_query() -> None:
    url = build_redirect_url("https://idp.example.com/sso?tenant=7", b"<x/>")
    assert url.startswith("https://idp.example.com/sso?tenant=7&SAMLRequest=")


def test_relay_state_limit() -> None:
    request = build_authn_request(idp=idp_config(), sp=sp_config(), now=NOW)
    with pytest.raises(ValueError):
        redirect_url(request, relay_state="x" * 81)


def idp_signed_query(
    xml: bytes = b"<samlp:LogoutRequest/>",
    *,
    sig_alg: str = RSA_SHA256,
    lowercase: bool = False,
    relay_state: str | None = "state/1",
) -> str:
    """A query signed by the IdP, percent-encoded its own way."""
    url = build_redirect_url("https://sp.example/slo", xml, parameter="SAMLResponse")
    message = urlsplit(url).query.split("=", 1)[1]

    def encode(value: str) -> str:
        encoded = quote(value, safe="")
        return _lowercase_escapes(encoded) if lowercase else encoded

    if lowercase:
        message = _lowercase_escapes(message)
    query = f"SAMLResponse={message}"
    if relay_state is not None:
        query += f"&RelayState={encode(relay_state)}"
    query += f"&SigAlg={encode(sig_alg)}"
    key = serialization.load_pem_private_key(idp_key().key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    return query + "&Signature=" + encode(base64.b64encode(signature).decode())


def _lowercase_escapes(value: str) -> str:
    parts = value.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def test_verify_uppercase_encoding() -> None:
    verify_redirect_signature(idp_signed_query(), [idp_key().cert_pem])


def test_verify_lowercase_encoding() -> None:
    """Entra ID and ADFS percent-encode in lowercase; the raw bytes are verified."""
    query = idp_signed_query(lowercase=True)
    assert "%2f" in query
    verify_redirect_signature(query, [idp_key().cert_pem])


def test_verify_without_relay_state() -> None:
    verify_redirect_signature(idp_signed_query(relay_state=None), [idp_key().cert_pem])


def test_verify_tampered_relay_state() -> None:
    query = idp_signed_query().replace("RelayState=state", "RelayState=evil")
    with pytest.raises(SamlError) as raised:
        verify_redirect_signature(query, [idp_key().cert_pem])
    assert raised.value.code == ErrorCode.REDIRECT_SIGNATURE_INVALID


def test_verify_wrong_certificate() -> None:
    with pytest.raises(SamlError) as raised:
        verify_redirect_signature(idp_signed_query(), [sp_key().cert_pem])
    assert raised.value.code == ErrorCode.REDIRECT_SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("sig_alg", "code"),
    [
        ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", ErrorCode.SHA1_REJECTED),
        ("http://www.w3.org/2000/09/xmldsig#hmac-sha1", ErrorCode.ALGORITHM_REJECTED),
        ("http://www.w3.org/2000/09/xmldsig#dsa-sha1", ErrorCode.ALGORITHM_REJECTED),
    ],
)
def test_verify_sig_alg_allowlist(sig_alg: str, code: ErrorCode) -> None:
    with pytest.raises(SamlError) as raised:
        verify_redirect_signature(
            idp_signed_query(sig_alg=sig_alg), [idp_key().cert_pem]
        )
    assert raised.value.code == code


def test_verify_duplicate_parameter() -> None:
    query = idp_signed_query() + "&RelayState=again"
    with pytest.raises(SamlError) as raised:
        verify_redirect_signature(query, [idp_key().cert_pem])
    assert raised.value.code == ErrorCode.REDIRECT_SIGNATURE_INVALID


def test_verify_missing_signature() -> None:
    query = idp_signed_query().split("&Signature=")[0]
    with pytest.raises(SamlError) as raised:
        verify_redirect_signature(query, [idp_key().cert_pem])
    assert raised.value.code == ErrorCode.REDIRECT_SIGNATURE_INVALID


def test_issue_instant_in_utc() -> None:
    request = build_authn_request(
        idp=idp_config(), sp=sp_config(), now=NOW.astimezone(UTC)
    )
    assert request.issue_instant.tzinfo is not None
