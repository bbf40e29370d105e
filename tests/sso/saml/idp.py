"""A test IdP: throw-away keys, Responses built with lxml, signed and encrypted with
xmlsec, and the attack variants made from them.

The IdP side uses xmlsec's own signing and encryption, not scimbridge code, so a
round trip tests scimbridge against an independent implementation.
"""

import base64
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeAlias

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.config import IdpConfig, SpConfig
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.replay import InMemoryReplayGuard, ReplayGuard
from scimbridge.sso.saml.response import SamlLogin, validate_response

IDP_ENTITY_ID = "https://idp.example.com/saml/metadata"
SP_ENTITY_ID = "https://sso.scimbridge.example/saml/acme"
ACS_URL = "https://sso.scimbridge.example/saml/acme/acs"
REQUEST_ID = "_request-5d4c3b2a1f"
NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
USER = "jane.doe@corp.example"
ATTACKER = "mallory@evil.example"

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
XS = "http://www.w3.org/2001/XMLSchema"

T = xmlsec.constants
# xmlsec's stubs do not export the type of its transform constants.
Transform: TypeAlias = Any
SIGNATURE_TRANSFORMS: dict[str, Transform] = {
    "rsa-sha256": T.TransformRsaSha256,
    "rsa-sha1": T.TransformRsaSha1,
    "rsa-sha512": T.TransformRsaSha512,
    "ecdsa-sha256": T.TransformEcdsaSha256,
    "hmac-sha256": T.TransformHmacSha256,
}
DIGEST_TRANSFORMS: dict[str, Transform] = {
    "sha256": T.TransformSha256,
    "sha1": T.TransformSha1,
    "sha512": T.TransformSha512,
}


@dataclass(frozen=True)
class KeyPair:
    key_pem: str
    cert_pem: str


def make_key_pair(common_name: str, key_size: int = 2048) -> KeyPair:
    """Generate an RSA key and a self-signed certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return KeyPair(
        key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()
    )


@cache
def idp_key() -> KeyPair:
    return make_key_pair("idp.example.com")


@cache
def idp_next_key() -> KeyPair:
    return make_key_pair("idp.example.com next")


@cache
def attacker_key() -> KeyPair:
    return make_key_pair("idp.example.com")


@cache
def sp_key() -> KeyPair:
    return make_key_pair("sso.scimbridge.example")


@cache
def sp_next_key() -> KeyPair:
    return make_key_pair("sso.scimbridge.example next")


def idp_config(**changes: object) -> IdpConfig:
    config = IdpConfig(
        entity_id=IDP_ENTITY_ID,
        sso_url="https://idp.example.com/saml/sso",
        signing_certificates=(idp_key().cert_pem,),
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def sp_config(**changes: object) -> SpConfig:
    config = SpConfig(
        entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        decryption_keys=(sp_key().key_pem,),
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ResponseSpec:
    """The values of one Response; None leaves an optional part out."""

    response_id: str = "_response-0a1b2c"
    assertion_id: str = "_assertion-3d4e5f"
    issue_instant: datetime = NOW - timedelta(seconds=5)
    destination: str | None = ACS_URL
    in_response_to: str | None = REQUEST_ID
    response_issuer: str | None = IDP_ENTITY_ID
    issuer: str = IDP_ENTITY_ID
    status: str = names.STATUS_SUCCESS
    name_id: str = USER
    name_id_format: str | None = EMAIL_FORMAT
    confirmation_method: str = names.BEARER
    recipient: str | None = ACS_URL
    confirmation_in_response_to: str | None = REQUEST_ID
    confirmation_not_on_or_after: datetime | None = NOW + timedelta(minutes=5)
    not_before: datetime | None = NOW - timedelta(minutes=1)
    not_on_or_after: datetime | None = NOW + timedelta(minutes=5)
    audiences: Sequence[str] | None = (SP_ENTITY_ID,)
    authn_instant: datetime = NOW - timedelta(seconds=30)
    session_index: str | None = "_session-77"
    session_not_on_or_after: datetime | None = NOW + timedelta(hours=8)
    attributes: dict[str, list[str]] = field(
        default_factory=lambda: {
            "email": [USER],
            "groups": ["engineering", "admins"],
        }
    )
    assertion_prefix: str | None = "saml"
    """None puts the Assertion in a default namespace, as ADFS does."""


def build_response(spec: ResponseSpec | None = None) -> etree._Element:
    """Build an unsigned Response tree."""
    spec = spec or ResponseSpec()
    nsmap = {"samlp": names.SAMLP, "saml": names.SAML}
    response = etree.Element(names.RESPONSE, nsmap=nsmap)
    response.set("ID", spec.response_id)
    response.set("Version", "2.0")
    response.set("IssueInstant", instant(spec.issue_instant))
    if spec.destination is not None:
        response.set("Destination", spec.destination)
    if spec.in_response_to is not None:
        response.set("InResponseTo", spec.in_response_to)
    if spec.response_issuer is not None:
        _text(response, names.ISSUER, spec.response_issuer)
    status = etree.SubElement(response, names.STATUS)
    etree.SubElement(status, names.STATUS_CODE, Value=spec.status)
    response.append(build_assertion(spec))
    return response


def build_assertion(spec: ResponseSpec) -> etree._Element:
    nsmap = {spec.assertion_prefix: names.SAML, "xs": XS, "xsi": names.XSI}
    assertion = etree.Element(names.ASSERTION, nsmap=nsmap)
    assertion.set("ID", spec.assertion_id)
    assertion.set("Version", "2.0")
    assertion.set("IssueInstant", instant(spec.issue_instant))
    _text(assertion, names.ISSUER, spec.issuer)
    _subject(assertion, spec)

    conditions = etree.SubElement(assertion, names.CONDITIONS)
    if spec.not_before is not None:
        conditions.set("NotBefore", instant(spec.not_before))
    if spec.not_on_or_after is not None:
        conditions.set("NotOnOrAfter", instant(spec.not_on_or_after))
    if spec.audiences is not None:
        restriction = etree.SubElement(conditions, names.AUDIENCE_RESTRICTION)
        for audience in spec.audiences:
            _text(restriction, names.AUDIENCE, audience)

    statement = etree.SubElement(
        assertion, names.AUTHN_STATEMENT, AuthnInstant=instant(spec.authn_instant)
    )
    if spec.session_index is not None:
        statement.set("SessionIndex", spec.session_index)
    if spec.session_not_on_or_after is not None:
        statement.set("SessionNotOnOrAfter", instant(spec.session_not_on_or_after))
    context = etree.SubElement(statement, names.tag(names.SAML, "AuthnContext"))
    _text(context, names.tag(names.SAML, "AuthnContextClassRef"), PASSWORD_CONTEXT)

    if spec.attributes:
        attributes = etree.SubElement(assertion, names.ATTRIBUTE_STATEMENT)
        for name, values in spec.attributes.items():
            attribute = etree.SubElement(attributes, names.ATTRIBUTE, Name=name)
            for value in values:
                element = _text(attribute, names.ATTRIBUTE_VALUE, value)
                element.set(f"{{{names.XSI}}}type", "xs:string")
    return assertion


def _subject(assertion: etree._Element, spec: ResponseSpec) -> None:
    subject = etree.SubElement(assertion, names.SUBJECT)
    name_id = _text(subject, names.NAME_ID, spec.name_id)
    if spec.name_id_format is not None:
        name_id.set("Format", spec.name_id_format)
    confirmation = etree.SubElement(
        subject, names.SUBJECT_CONFIRMATION, Method=spec.confirmation_method
    )
    data = etree.SubElement(confirmation, names.SUBJECT_CONFIRMATION_DATA)
    if spec.recipient is not None:
        data.set("Recipient", spec.recipient)
    if spec.confirmation_not_on_or_after is not None:
        data.set("NotOnOrAfter", instant(spec.confirmation_not_on_or_after))
    if spec.confirmation_in_response_to is not None:
        data.set("InResponseTo", spec.confirmation_in_response_to)


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def sign(
    element: etree._Element,
    key: KeyPair | None = None,
    *,
    method: str = "rsa-sha256",
    digest: str = "sha256",
    c14n: Transform = T.TransformExclC14N,
    transforms: Sequence[Transform] = (
        T.TransformEnveloped,
        T.TransformExclC14N,
    ),
    reference_uri: str | None = None,
    embed_certificate: bool = True,
    hmac_secret: bytes | None = None,
    customize: Callable[[etree._Element], None] | None = None,
) -> etree._Element:
    """Sign ``element`` with an enveloped signature placed after its Issuer.

    ``customize`` may change the Signature template (add transforms or
    references) before xmlsec signs it.
    """
    key = key or idp_key()
    signature = xmlsec.template.create(
        element, c14n, SIGNATURE_TRANSFORMS[method], ns="ds"
    )
    issuer = element.find(names.ISSUER)
    element.insert(0 if issuer is None else 1, signature)
    uri = "#" + element.get("ID", "") if reference_uri is None else reference_uri
    reference = xmlsec.template.add_reference(
        signature, DIGEST_TRANSFORMS[digest], uri=uri
    )
    for transform in transforms:
        xmlsec.template.add_transform(reference, transform)
    if embed_certificate:
        key_info = xmlsec.template.ensure_key_info(signature)
        x509_data = xmlsec.template.add_x509_data(key_info)
        xmlsec.template.x509_data_add_certificate(x509_data)
    if customize is not None:
        customize(signature)
    context = xmlsec.SignatureContext()
    if hmac_secret is not None:
        context.key = xmlsec.Key.from_binary_data(T.KeyDataHmac, hmac_secret)
    else:
        signing_key = xmlsec.Key.from_memory(key.key_pem, T.KeyDataFormatPem)
        signing_key.load_cert_from_memory(key.cert_pem, T.KeyDataFormatCertPem)
        context.key = signing_key
    xmlsec.tree.add_ids(element.getroottree().getroot(), ["ID"])
    context.sign(signature)
    return signature


def assertion_of(response: etree._Element) -> etree._Element:
    assertion = response.find(names.ASSERTION)
    assert assertion is not None
    return assertion


def signed_response(
    spec: ResponseSpec | None = None,
    *,
    sign_assertion: bool = True,
    sign_response: bool = False,
    **sign_options: object,
) -> etree._Element:
    """Build a Response and sign its Assertion, the Response, or both."""
    response = build_response(spec)
    if sign_assertion:
        sign(assertion_of(response), **sign_options)  # type: ignore[arg-type]
    if sign_response:
        sign(response, **sign_options)  # type: ignore[arg-type]
    return response


def encrypt_assertion(
    response: etree._Element,
    certificate_pem: str | None = None,
    *,
    content: Transform = T.TransformAes256Gcm,
    key_transport: Transform = T.TransformRsaOaep,
    xmlenc11_oaep: bool = False,
    key_outside_key_info: bool = False,
) -> etree._Element:
    """Replace the Assertion with an EncryptedAssertion for the SP certificate."""
    assertion = assertion_of(response)
    encrypted_assertion = etree.Element(names.ENCRYPTED_ASSERTION)
    assertion.addprevious(encrypted_assertion)
    encrypted_assertion.append(assertion)

    template = xmlsec.template.encrypted_data_create(
        response, content, type=T.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, key_transport)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    if xmlenc11_oaep:
        method = encrypted_key.find(names.ENCRYPTION_METHOD)
        assert method is not None
        method.set("Algorithm", "http://www.w3.org/2009/xmlenc11#rsa-oaep")
        etree.SubElement(
            method, names.MGF, Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"
        )
        etree.SubElement(
            method,
            names.DIGEST_METHOD,
            Algorithm="http://www.w3.org/2001/04/xmlenc#sha256",
        )

    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(
            certificate_pem or sp_key().cert_pem, T.KeyDataFormatCertPem
        )
    )
    context = xmlsec.EncryptionContext(manager)
    size = {T.TransformAes128Gcm: 128, T.TransformAes128Cbc: 128}.get(content, 256)
    context.key = xmlsec.Key.generate(T.KeyDataAes, size, T.KeyDataTypeSession)
    encrypted_data = context.encrypt_xml(template, assertion)
    if key_outside_key_info:
        # The form Shibboleth uses: EncryptedKey beside EncryptedData, found
        # through a RetrievalMethod.
        # xmlsec creates names outside lxml's dictionary, which lxml's find()
        # does not match, so compare tags directly.
        key_info_element = _child(encrypted_data, names.KEY_INFO)
        key_element = _child(key_info_element, names.ENCRYPTED_KEY)
        key_element.set("Id", "_key-1")
        key_info_element.remove(key_element)
        encrypted_assertion.append(key_element)
        etree.SubElement(
            key_info_element,
            names.RETRIEVAL_METHOD,
            URI="#_key-1",
            Type=names.ENCRYPTED_KEY_TYPE,
        )
    return encrypted_assertion


def _child(element: etree._Element, tag: str) -> etree._Element:
    return next(child for child in element if child.tag == tag)


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element)


def to_base64(element: etree._Element) -> bytes:
    return base64.b64encode(to_bytes(element))


def reparse(data: bytes) -> etree._Element:
    """Parse test output back into a tree, to build attacks from it."""
    return etree.fromstring(data, etree.XMLParser(remove_blank_text=False))


# Signature wrapping (XSW) variants, numbered XSW1 to XSW8 as the published SAML
# attacks number them. Each takes a signed Response and returns a forged one whose
# attacker NameID must never be accepted.


def _evil_copy(element: etree._Element, new_id: str | None = "_evil") -> etree._Element:
    """Copy ``element``, drop its own Signature, rename it and change the NameID."""
    evil = copy.deepcopy(element)
    for signature in evil.findall(names.SIGNATURE):
        evil.remove(signature)
    if new_id is not None:
        evil.set("ID", new_id)
    for name_id in evil.iter(names.NAME_ID):
        name_id.text = ATTACKER
    return evil


def _without_signature(element: etree._Element) -> etree._Element:
    clean = copy.deepcopy(element)
    for signature in clean.findall(names.SIGNATURE):
        clean.remove(signature)
    return clean


def _signature_of(element: etree._Element) -> etree._Element:
    signature = element.find(names.SIGNATURE)
    assert signature is not None
    return signature


def xsw1(response: etree._Element) -> etree._Element:
    """Evil Response keeps the signature; the original hides inside the Signature."""
    evil = _evil_copy(response)
    evil.insert(1, copy.deepcopy(_signature_of(response)))
    _signature_of(evil).append(_without_signature(response))
    return evil


def xsw2(response: etree._Element) -> etree._Element:
    """Evil Response keeps the signature; the original sits before the Signature."""
    evil = _evil_copy(response)
    signature = copy.deepcopy(_signature_of(response))
    evil.insert(1, signature)
    signature.addprevious(_without_signature(response))
    return evil


def xsw3(response: etree._Element) -> etree._Element:
    """An unsigned evil Assertion is inserted before the signed one."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    original.addprevious(_evil_copy(original))
    return forged


def xsw4(response: etree._Element) -> etree._Element:
    """The evil Assertion wraps the signed Assertion as its child."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    evil = _evil_copy(original)
    original.addprevious(evil)
    evil.append(original)
    return forged


def xsw5(response: etree._Element) -> etree._Element:
    """The evil Assertion keeps the Signature; an unsigned original copy follows."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    evil = _evil_copy(original)
    evil.insert(1, copy.deepcopy(_signature_of(original)))
    original.addprevious(evil)
    original.getparent().replace(original, _without_signature(original))  # type: ignore[union-attr]
    return forged


def xsw6(response: etree._Element) -> etree._Element:
    """The evil Assertion keeps the Signature, which hides the original copy."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    evil = _evil_copy(original)
    signature = copy.deepcopy(_signature_of(original))
    evil.insert(1, signature)
    signature.append(_without_signature(original))
    forged.replace(original, evil)
    return forged


def xsw7(response: etree._Element) -> etree._Element:
    """An Extensions element before the signed Assertion contains an evil copy."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    extensions = etree.Element(names.EXTENSIONS)
    extensions.append(_evil_copy(original))
    status = forged.find(names.STATUS)
    assert status is not None
    status.addprevious(extensions)
    return forged


def xsw7_moved(response: etree._Element) -> etree._Element:
    """The signed Assertion moves into Extensions; the evil one takes its place."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    evil = _evil_copy(original, new_id=None)
    evil.insert(1, copy.deepcopy(_signature_of(original)))
    extensions = etree.Element(names.EXTENSIONS)
    status = forged.find(names.STATUS)
    assert status is not None
    status.addprevious(extensions)
    forged.replace(original, evil)
    extensions.append(original)
    return forged


def xsw8(response: etree._Element) -> etree._Element:
    """The evil Assertion keeps the Signature; the original hides in a ds:Object."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    evil = _evil_copy(original, new_id=None)
    signature = copy.deepcopy(_signature_of(original))
    evil.insert(1, signature)
    holder = etree.SubElement(signature, names.OBJECT)
    holder.append(_without_signature(original))
    forged.replace(original, evil)
    return forged


def duplicate_id(response: etree._Element) -> etree._Element:
    """An evil Assertion with the signed Assertion's ID sits in Extensions."""
    forged = copy.deepcopy(response)
    original = assertion_of(forged)
    extensions = etree.Element(names.EXTENSIONS)
    extensions.append(_evil_copy(original, new_id=None))
    status = forged.find(names.STATUS)
    assert status is not None
    status.addprevious(extensions)
    return forged


ASSERTION_WRAPPINGS = {
    "xsw3": xsw3,
    "xsw4": xsw4,
    "xsw5": xsw5,
    "xsw6": xsw6,
    "xsw7": xsw7,
    "xsw7_moved": xsw7_moved,
    "xsw8": xsw8,
    "duplicate_id": duplicate_id,
}
RESPONSE_WRAPPINGS = {"xsw1": xsw1, "xsw2": xsw2}


def validate(
    message: etree._Element | bytes | str,
    *,
    idp: IdpConfig | None = None,
    sp: SpConfig | None = None,
    now: datetime = NOW,
    expected_request_id: str | None = REQUEST_ID,
    allow_idp_initiated: bool = False,
    replay: ReplayGuard | None = None,
) -> SamlLogin:
    """Run validate_response with the test connection's configuration."""
    if isinstance(message, etree._Element):
        message = to_bytes(message)
    return validate_response(
        message,
        idp=idp or idp_config(),
        sp=sp or sp_config(),
        now=now,
        expected_request_id=expected_request_id,
        allow_idp_initiated=allow_idp_initiated,
        replay=replay or InMemoryReplayGuard(clock=lambda: now),
    )


def expect_error(
    message: etree._Element | bytes | str, code: ErrorCode, **options: Any
) -> SamlError:
    """Check that validation fails with ``code`` and return the error."""
    try:
        login = validate(message, **options)
    except SamlError as exc:
        assert exc.code == code, f"expected {code}, got {exc}"
        return exc
    raise AssertionError(f"expected {code}, but {login.name_id!r} signed in")


def idp_metadata(
    certificates: Sequence[str] | None = None,
    *,
    entity_id: str = IDP_ENTITY_ID,
    sso_url: str = "https://idp.example.com/saml/sso",
    encryption_certificate: str | None = None,
) -> bytes:
    """IdP metadata as an IdP publishes it, with signing certificates."""
    keys = ""
    for index, certificate in enumerate(certificates or [idp_key().cert_pem]):
        # The first KeyDescriptor has use="signing", the others have no use.
        use = ' use="signing"' if index == 0 else ""
        keys += _key_descriptor(certificate, use)
    if encryption_certificate is not None:
        keys += _key_descriptor(encryption_certificate, ' use="encryption"')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}
    <md:SingleLogoutService
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://idp.example.com/saml/slo"/>
    <md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://idp.example.com/saml/sso/post"/>
    <md:SingleSignOnService
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""".encode()


def _key_descriptor(certificate_pem: str, use: str) -> str:
    body = "".join(
        line
        for line in certificate_pem.strip().splitlines()
        if not line.startswith("-----")
    )
    return f"""    <md:KeyDescriptor{use}>
      <ds:KeyInfo><ds:X509Data>
        <ds:X509Certificate>
{body}
        </ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
"""
