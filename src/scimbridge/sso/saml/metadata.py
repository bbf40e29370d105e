"""IdP metadata in, SP metadata out (SAML Metadata 2.0).

IdP metadata is untrusted input from an organization's admin, so it goes through
the same hardened parser as messages. Its signature and validUntil are not
checked: the admin uploads the file, and the certificates in it become the trust
anchors of the connection.
"""

import base64
import binascii
from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from scimbridge.sso.saml import algorithms, names
from scimbridge.sso.saml.config import IdpConfig
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import (
    XmlLimits,
    find_child,
    find_children,
    parse_xml,
    text_content,
)

METADATA_LIMITS = XmlLimits(max_xml_bytes=1024 * 1024, max_depth=32)
"""Limits for one entity's metadata; federation aggregates are not supported."""

# Encryption algorithms that scimbridge decrypts, advertised in SP metadata in
# order of preference.
_ENCRYPTION_METHODS = (
    algorithms.AES256_GCM,
    algorithms.AES128_GCM,
    algorithms.AES256_CBC,
    algorithms.AES128_CBC,
    algorithms.RSA_OAEP_MGF1P,
    algorithms.RSA_OAEP,
)


def parse_idp_metadata(
    xml: bytes,
    *,
    entity_id: str | None = None,
    allow_http: bool = False,
    allow_sha1: bool = False,
    require_signed_assertion: bool = False,
    limits: XmlLimits = METADATA_LIMITS,
) -> IdpConfig:
    """Read an IdP's entity ID, endpoints, signing certificates and NameID formats.

    :param entity_id: the entity to read from an EntitiesDescriptor; needed only
        when it lists several.
    :param allow_http: accept http:// endpoints, for local test IdPs only.
    :raises SamlError: ``saml.doctype``, ``saml.metadata_invalid``,
        ``saml.metadata_no_signing_certificate`` or ``saml.metadata_insecure_url``.
    """
    root = parse_xml(xml, limits)
    entity = _select_entity(root, entity_id)
    found_id = entity.get("entityID") or ""
    if not found_id:
        raise _invalid("the EntityDescriptor has no entityID")
    descriptor = _idp_descriptor(entity)

    sso_url = _endpoint(
        descriptor, names.SINGLE_SIGN_ON_SERVICE, names.BINDING_REDIRECT
    )
    if sso_url is None:
        raise _invalid(
            "the IDPSSODescriptor has no SingleSignOnService with the HTTP-Redirect "
            "binding, which scimbridge uses to send AuthnRequests"
        )
    sso_post_url = _endpoint(
        descriptor, names.SINGLE_SIGN_ON_SERVICE, names.BINDING_POST
    )
    slo_url = _endpoint(
        descriptor, names.SINGLE_LOGOUT_SERVICE, names.BINDING_REDIRECT
    ) or _endpoint(descriptor, names.SINGLE_LOGOUT_SERVICE, names.BINDING_POST)
    for url in (sso_url, sso_post_url, slo_url):
        if url is not None:
            _check_url(url, allow_http)

    return IdpConfig(
        entity_id=found_id,
        sso_url=sso_url,
        sso_post_url=sso_post_url,
        slo_url=slo_url,
        signing_certificates=_signing_certificates(descriptor),
        name_id_formats=tuple(
            text_content(element).strip()
            for element in find_children(descriptor, names.NAME_ID_FORMAT)
        ),
        allow_sha1=allow_sha1,
        require_signed_assertion=require_signed_assertion,
    )


def _select_entity(root: etree._Element, entity_id: str | None) -> etree._Element:
    if root.tag == names.ENTITY_DESCRIPTOR:
        entities = [root]
    elif root.tag == names.ENTITIES_DESCRIPTOR:
        entities = find_children(root, names.ENTITY_DESCRIPTOR)
    else:
        raise _invalid(f"the root element is {root.tag!r}, not an EntityDescriptor")
    if entity_id is not None:
        entities = [
            entity for entity in entities if entity.get("entityID") == entity_id
        ]
    if len(entities) != 1:
        raise _invalid(
            f"the metadata has {len(entities)} matching EntityDescriptor elements; "
            "pass the IdP entity ID to choose one"
        )
    return entities[0]


def _idp_descriptor(entity: etree._Element) -> etree._Element:
    descriptors = [
        descriptor
        for descriptor in find_children(entity, names.IDP_SSO_DESCRIPTOR)
        if names.PROTOCOL_SUPPORT
        in descriptor.get("protocolSupportEnumeration", "").split()
    ]
    if len(descriptors) != 1:
        raise _invalid(
            f"the entity has {len(descriptors)} IDPSSODescriptor elements for SAML "
            "2.0, but must have one"
        )
    return descriptors[0]


def _endpoint(descriptor: etree._Element, tag: str, binding: str) -> str | None:
    for endpoint in find_children(descriptor, tag):
        if endpoint.get("Binding") == binding:
            location = endpoint.get("Location")
            if not location:
                raise _invalid(f"a {etree.QName(tag).localname} has no Location")
            return location
    return None


def _check_url(url: str, allow_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if allow_http and parts.scheme == "http" and parts.hostname:
        return
    raise SamlError(
        ErrorCode.METADATA_INSECURE_URL,
        f"the endpoint {url[:200]!r} is not an https:// URL",
    )


def _signing_certificates(descriptor: etree._Element) -> tuple[str, ...]:
    certificates: list[str] = []
    for key_descriptor in find_children(descriptor, names.KEY_DESCRIPTOR):
        if key_descriptor.get("use") not in (None, "signing"):
            continue
        key_info = find_child(key_descriptor, names.KEY_INFO)
        if key_info is None:
            continue
        for x509_data in find_children(key_info, names.X509_DATA):
            for element in find_children(x509_data, names.X509_CERTIFICATE):
                pem = _certificate_pem(text_content(element))
                if pem not in certificates:
                    certificates.append(pem)
    if not certificates:
        raise SamlError(
            ErrorCode.METADATA_NO_SIGNING_CERTIFICATE,
            "the IDPSSODescriptor has no X509Certificate for signing, so no "
            "signature from this IdP could be verified",
        )
    return tuple(certificates)


def _certificate_pem(text: str) -> str:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(
            "an X509Certificate is not a valid base64 DER certificate"
        ) from exc
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def build_sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    certificates: Sequence[str],
    slo_url: str | None = None,
    name_id_formats: Sequence[str] = (),
    authn_requests_signed: bool = True,
    want_assertions_signed: bool = True,
) -> bytes:
    """Return the SP metadata of a connection, to give to the IdP's admin.

    :param certificates: PEM certificates, current first. Each is published for
        signing and for encryption, so during a key rollover the IdP accepts
        either and may encrypt to either.
    """
    if not certificates:
        raise ValueError("SP metadata needs at least one certificate")
    nsmap = {"md": names.MD, "ds": names.DS}
    entity = etree.Element(names.ENTITY_DESCRIPTOR, nsmap=nsmap, entityID=entity_id)
    descriptor = etree.SubElement(
        entity,
        names.SP_SSO_DESCRIPTOR,
        AuthnRequestsSigned=_boolean(authn_requests_signed),
        WantAssertionsSigned=_boolean(want_assertions_signed),
        protocolSupportEnumeration=names.PROTOCOL_SUPPORT,
    )
    for use in ("signing", "encryption"):
        for certificate in certificates:
            _key_descriptor(descriptor, certificate, use)
    if slo_url is not None:
        etree.SubElement(
            descriptor,
            names.SINGLE_LOGOUT_SERVICE,
            Binding=names.BINDING_REDIRECT,
            Location=slo_url,
        )
    for name_id_format in name_id_formats:
        etree.SubElement(descriptor, names.NAME_ID_FORMAT).text = name_id_format
    etree.SubElement(
        descriptor,
        names.ASSERTION_CONSUMER_SERVICE,
        Binding=names.BINDING_POST,
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return etree.tostring(entity, xml_declaration=True, encoding="UTF-8")


def _key_descriptor(descriptor: etree._Element, certificate_pem: str, use: str) -> None:
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    der = certificate.public_bytes(serialization.Encoding.DER)
    key_descriptor = etree.SubElement(descriptor, names.KEY_DESCRIPTOR, use=use)
    key_info = etree.SubElement(key_descriptor, names.KEY_INFO)
    x509_data = etree.SubElement(key_info, names.X509_DATA)
    etree.SubElement(x509_data, names.X509_CERTIFICATE).text = base64.b64encode(
        der
    ).decode()
    if use == "encryption":
        for method in _ENCRYPTION_METHODS:
            etree.SubElement(
                key_descriptor,
                names.tag(names.MD, "EncryptionMethod"),
                Algorithm=method,
            )


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _invalid(detail: str) -> SamlError:
    return SamlError(ErrorCode.METADATA_INVALID, detail)
