"""IdP metadata parsing and SP metadata generation."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.metadata import build_sp_metadata, parse_idp_metadata
from scimbridge.sso.saml.xml import parse_xml
from tests.sso.saml.idp import (
    ACS_URL,
    EMAIL_FORMAT,
    IDP_ENTITY_ID,
    SP_ENTITY_ID,
    USER,
    idp_key,
    idp_metadata,
    idp_next_key,
    signed_response,
    sp_key,
    sp_next_key,
    validate,
)


def metadata_error(xml: bytes, **options: bool) -> SamlError:
    with pytest.raises(SamlError) as raised:
        parse_idp_metadata(xml, **options)  # type: ignore[arg-type]
    return raised.value


def test_idp_metadata_parsed() -> None:
    config = parse_idp_metadata(
        idp_metadata(
            [idp_key().cert_pem, idp_next_key().cert_pem],
            encryption_certificate=sp_key().cert_pem,
        )
    )
    assert config.entity_id == IDP_ENTITY_ID
    assert config.sso_url == "https://idp.example.com/saml/sso"
    assert config.sso_post_url == "https://idp.example.com/saml/sso/post"
    assert config.slo_url == "https://idp.example.com/saml/slo"
    assert config.name_id_formats == (
        EMAIL_FORMAT,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    )
    assert config.allow_sha1 is False
    assert config.require_signed_assertion is False


def test_signing_certificates_with_and_without_use() -> None:
    """use="signing" and unmarked KeyDescriptors count; use="encryption" does not."""
    config = parse_idp_metadata(
        idp_metadata(
            [idp_key().cert_pem, idp_next_key().cert_pem],
            encryption_certificate=sp_key().cert_pem,
        )
    )
    loaded = [
        x509.load_pem_x509_certificate(pem.encode())
        for pem in config.signing_certificates
    ]
    expected = [
        x509.load_pem_x509_certificate(pem.encode())
        for pem in (idp_key().cert_pem, idp_next_key().cert_pem)
    ]
    assert loaded == expected


def test_duplicate_certificate_listed_once() -> None:
    config = parse_idp_metadata(idp_metadata([idp_key().cert_pem] * 2))
    assert len(config.signing_certificates) == 1


def test_parsed_metadata_verifies_responses() -> None:
    config = parse_idp_metadata(idp_metadata())
    assert validate(signed_response(), idp=config).name_id == USER


def test_policy_flags_passed_through() -> None:
    config = parse_idp_metadata(
        idp_metadata(), allow_sha1=True, require_signed_assertion=True
    )
    assert config.allow_sha1
    assert config.require_signed_assertion


def test_metadata_doctype_rejected() -> None:
    xml = b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + idp_metadata()
    assert metadata_error(xml).code == ErrorCode.DOCTYPE


def test_metadata_without_signing_certificate() -> None:
    xml = idp_metadata(encryption_certificate=sp_key().cert_pem)
    body = xml.replace(b'<md:KeyDescriptor use="signing">', b"<md:Unused>", 1)
    body = body.replace(b"</md:KeyDescriptor>", b"</md:Unused>", 1)
    error = metadata_error(body)
    assert error.code == ErrorCode.METADATA_NO_SIGNING_CERTIFICATE


def test_http_sso_url_rejected() -> None:
    xml = idp_metadata(sso_url="http://idp.example.com/saml/sso")
    assert metadata_error(xml).code == ErrorCode.METADATA_INSECURE_URL


def test_http_sso_url_allowed_for_testing() -> None:
    xml = idp_metadata(sso_url="http://127.0.0.1:8080/sso")
    config = parse_idp_metadata(xml, allow_http=True)
    assert config.sso_url == "http://127.0.0.1:8080/sso"


def test_missing_redirect_binding() -> None:
    xml = idp_metadata().replace(b"HTTP-Redirect", b"HTTP-Artifact")
    error = metadata_error(xml)
    assert error.code == ErrorCode.METADATA_INVALID
    assert "HTTP-Redirect" in error.detail


def test_invalid_certificate() -> None:
    xml = idp_metadata().replace(
        b"<ds:X509Certificate>", b"<ds:X509Certificate>AAAA", 1
    )
    assert metadata_error(xml).code == ErrorCode.METADATA_INVALID


def test_not_metadata() -> None:
    assert metadata_error(b"<html/>").code == ErrorCode.METADATA_INVALID


def test_entities_descriptor_needs_entity_id() -> None:
    first = idp_metadata().split(b"?>", 1)[1]
    second = idp_metadata(entity_id="https://other.example").split(b"?>", 1)[1]
    xml = (
        b'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
        + first
        + second
        + b"</md:EntitiesDescriptor>"
    )
    assert metadata_error(xml).code == ErrorCode.METADATA_INVALID
    config = parse_idp_metadata(xml, entity_id="https://other.example")
    assert config.entity_id == "https://other.example"


def test_sp_metadata() -> None:
    xml = build_sp_metadata(
        entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        slo_url="https://sso.scimbridge.example/saml/acme/slo",
        certificates=[sp_key().cert_pem, sp_next_key().cert_pem],
        name_id_formats=[EMAIL_FORMAT],
    )
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    entity = parse_xml(xml)
    assert entity.tag == names.ENTITY_DESCRIPTOR
    assert entity.get("entityID") == SP_ENTITY_ID
    descriptor = entity.find(names.SP_SSO_DESCRIPTOR)
    assert descriptor is not None
    assert descriptor.get("AuthnRequestsSigned") == "true"
    assert descriptor.get("WantAssertionsSigned") == "true"
    assert descriptor.get("protocolSupportEnumeration") == names.SAMLP

    acs = descriptor.find(names.ASSERTION_CONSUMER_SERVICE)
    assert acs is not None
    assert acs.get("Binding") == names.BINDING_POST
    assert acs.get("Location") == ACS_URL
    slo = descriptor.find(names.SINGLE_LOGOUT_SERVICE)
    assert slo is not None
    assert slo.get("Location") == "https://sso.scimbridge.example/saml/acme/slo"
    assert descriptor.findtext(names.NAME_ID_FORMAT) == EMAIL_FORMAT

    order = [etree.QName(child).localname for child in descriptor]
    assert order == [
        "KeyDescriptor",
        "KeyDescriptor",
        "KeyDescriptor",
        "KeyDescriptor",
        "SingleLogoutService",
        "NameIDFormat",
        "AssertionConsumerService",
    ]


def test_sp_metadata_publishes_current_and_next_certificates() -> None:
    xml = build_sp_metadata(
        entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        certificates=[sp_key().cert_pem, sp_next_key().cert_pem],
    )
    descriptor = parse_xml(xml).find(names.SP_SSO_DESCRIPTOR)
    assert descriptor is not None
    published: dict[str, list[bytes]] = {"signing": [], "encryption": []}
    for key_descriptor in descriptor.iter(names.KEY_DESCRIPTOR):
        text = key_descriptor.findtext(
            f"{names.KEY_INFO}/{names.X509_DATA}/{names.X509_CERTIFICATE}"
        )
        assert text is not None
        published[key_descriptor.get("use", "")].append(base64.b64decode(text))
    expected = [
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
        for pem in (sp_key().cert_pem, sp_next_key().cert_pem)
    ]
    assert published["signing"] == expected
    assert published["encryption"] == expected


def test_sp_metadata_advertises_encryption_methods() -> None:
    xml = build_sp_metadata(
        entity_id=SP_ENTITY_ID, acs_url=ACS_URL, certificates=[sp_key().cert_pem]
    )
    assert b"xmlenc11#aes256-gcm" in xml
    assert b"rsa-oaep-mgf1p" in xml
    assert b"rsa-1_5" not in xml


def test_sp_metadata_needs_a_certificate() -> None:
    with pytest.raises(ValueError):
        build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, certificates=[])
