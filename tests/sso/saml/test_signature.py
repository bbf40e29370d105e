"""Signature checks one rule at a time, on signatures that xmlsec alone would accept.

Most documents here carry a cryptographically valid signature, so each test fails
if the rule it names is removed: xmlsec by itself would verify the document.
"""

import copy
from collections.abc import Callable
from datetime import timedelta

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from scimbridge.sso.saml import algorithms, names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.signature import (
    VerifiedSignature,
    _transforms_named,
    _verify_with_xmlsec,
    find_id_attributes,
    find_signature,
    verify_signature,
)
from scimbridge.sso.saml.xml import parse_xml
from tests.sso.saml.idp import (
    ATTACKER,
    NOW,
    KeyPair,
    T,
    assertion_of,
    attacker_key,
    build_response,
    idp_key,
    idp_next_key,
    sign,
    signed_response,
    to_bytes,
)

DS_XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"


def parsed(response: etree._Element) -> etree._Element:
    """Serialize and parse with scimbridge's parser, as the ACS receives it."""
    return parse_xml(to_bytes(response))


def parsed_assertion(response: etree._Element) -> etree._Element:
    return assertion_of(parsed(response))


def verify(
    element: etree._Element,
    certificates: list[str] | None = None,
    allow_sha1: bool = False,
) -> VerifiedSignature:
    signature = find_signature(element)
    assert signature is not None
    return verify_signature(
        element,
        signature,
        certificates=certificates or [idp_key().cert_pem],
        allow_sha1=allow_sha1,
    )


def verify_error(element: etree._Element, code: ErrorCode, **options: bool) -> str:
    with pytest.raises(SamlError) as raised:
        verify(element, **options)  # type: ignore[arg-type]
    assert raised.value.code == code, str(raised.value)
    return raised.value.detail


def xmlsec_accepts(signature: etree._Element) -> bool:
    """Verify with a plain xmlsec context, as a control: is the crypto valid?"""
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(idp_key().cert_pem, T.KeyDataFormatCertPem)
    xmlsec.tree.add_ids(signature.getroottree().getroot(), ["ID"])
    try:
        context.verify(signature)
    except xmlsec.Error:
        return False
    return True


def signed_with(**options: object) -> etree._Element:
    """A Response whose Assertion is signed with these sign() options, parsed."""
    return parsed_assertion(signed_response(**options))  # type: ignore[arg-type]


def signature_part(element: etree._Element, tag: str) -> etree._Element:
    # Compare tags directly: lxml's iter(tag) misses nodes that xmlsec templates
    # create, because their names are not in lxml's dictionary.
    found = next((child for child in element.iter() if child.tag == tag), None)
    assert found is not None
    return found


# Trust comes from the configured certificates only


def test_valid_assertion_signature() -> None:
    assertion = signed_with()
    verified = verify(assertion)
    assert verified.element is assertion
    assert verified.certificate_index == 0
    assert verified.signature_method.endswith("rsa-sha256")


def test_rollover_second_certificate_verifies() -> None:
    assertion = signed_with()
    verified = verify(assertion, [idp_next_key().cert_pem, idp_key().cert_pem])
    assert verified.certificate_index == 1


def test_next_key_signs_after_rollover() -> None:
    assertion = signed_with(key=idp_next_key())
    verify_error(assertion, ErrorCode.SIGNATURE_INVALID)
    assert verify(assertion, [idp_key().cert_pem, idp_next_key().cert_pem])


def test_attacker_key_with_embedded_certificate() -> None:
    """A signature by another key fails, whatever certificate KeyInfo carries."""
    assertion = signed_with(key=attacker_key())
    certificate = signature_part(assertion, names.X509_CERTIFICATE)
    assert certificate.text
    verify_error(assertion, ErrorCode.SIGNATURE_INVALID)


def test_embedded_certificate_ignored() -> None:
    """KeyInfo naming the attacker's certificate does not stop the configured one."""
    assertion = signed_with()
    attacker_der = x509.load_pem_x509_certificate(
        attacker_key().cert_pem.encode()
    ).public_bytes(serialization.Encoding.DER)
    signature_part(assertion, names.X509_CERTIFICATE).text = (
        __import__("base64").b64encode(attacker_der).decode()
    )
    assert verify(assertion).certificate_index == 0


def test_key_info_retrieval_method_not_followed() -> None:
    """KeyInfo pointing at a remote key is ignored; the configured key verifies."""
    assertion = signed_with(embed_certificate=False)
    signature = find_signature(assertion)
    assert signature is not None
    key_info = etree.SubElement(signature, names.KEY_INFO)
    etree.SubElement(
        key_info, names.RETRIEVAL_METHOD, URI="http://127.0.0.1:9/attacker-key"
    )
    assert verify(assertion).certificate_index == 0


def test_no_configured_certificate() -> None:
    assertion = signed_with()
    signature = find_signature(assertion)
    assert signature is not None
    with pytest.raises(SamlError) as raised:
        verify_signature(assertion, signature, certificates=[])
    assert raised.value.code == ErrorCode.SIGNATURE_INVALID


def test_invalid_configured_certificate() -> None:
    assertion = signed_with()
    detail = verify_error_with(assertion, ["not a certificate"])
    assert "configured IdP signing certificate" in detail


def verify_error_with(element: etree._Element, certificates: list[str]) -> str:
    with pytest.raises(SamlError) as raised:
        verify(element, certificates)
    assert raised.value.code == ErrorCode.SIGNATURE_INVALID
    return raised.value.detail


def test_tampered_assertion() -> None:
    assertion = signed_with()
    signature_part(assertion, names.NAME_ID).text = ATTACKER
    verify_error(assertion, ErrorCode.SIGNATURE_INVALID)


def test_ecdsa_signature_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec idp")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pair = KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )
    assertion = signed_with(key=pair, method="ecdsa-sha256")
    assert verify(assertion, [pair.cert_pem]).signature_method.endswith("ecdsa-sha256")


# Algorithms


def test_hmac_signature_method_rejected() -> None:
    """An HMAC keyed with the IdP's public certificate must never verify."""
    assertion = signed_with(
        method="hmac-sha256", hmac_secret=idp_key().cert_pem.encode()
    )
    detail = verify_error(assertion, ErrorCode.ALGORITHM_REJECTED)
    assert "HMAC" in detail


def test_hmac_output_length_rejected() -> None:
    assertion = signed_with()
    method = signature_part(assertion, names.SIGNATURE_METHOD)
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    etree.SubElement(method, names.tag(names.DS, "HMACOutputLength")).text = "8"
    verify_error(assertion, ErrorCode.ALGORITHM_REJECTED)


def test_rsa_sha1_rejected_by_default() -> None:
    assertion = signed_with(method="rsa-sha1", digest="sha1")
    detail = verify_error(assertion, ErrorCode.SHA1_REJECTED)
    assert "rsa-sha1" in detail


def test_sha1_digest_rejected_by_default() -> None:
    assertion = signed_with(digest="sha1")
    verify_error(assertion, ErrorCode.SHA1_REJECTED)


def test_sha1_allowed_when_configured() -> None:
    assertion = signed_with(method="rsa-sha1", digest="sha1")
    assert verify(assertion, allow_sha1=True).digest_method.endswith("#sha1")


def test_xmlsec_context_rejects_sha1_itself() -> None:
    """Even past the pre-checks, xmlsec is not enabled for SHA-1 by default."""
    assertion = signed_with(method="rsa-sha1", digest="sha1")
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    with pytest.raises(SamlError):
        _verify_with_xmlsec(signature, [idp_key().cert_pem], False, "Assertion")


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "",
    ],
)
def test_signature_method_not_allowed(uri: str) -> None:
    assertion = signed_with()
    signature_part(assertion, names.SIGNATURE_METHOD).set("Algorithm", uri)
    verify_error(assertion, ErrorCode.ALGORITHM_REJECTED)


def test_digest_method_not_allowed() -> None:
    assertion = signed_with()
    signature_part(assertion, names.DIGEST_METHOD).set(
        "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5"
    )
    verify_error(assertion, ErrorCode.ALGORITHM_REJECTED)


def test_sha512_accepted() -> None:
    assertion = signed_with(method="rsa-sha512", digest="sha512")
    assert verify(assertion).digest_method.endswith("#sha512")


# Transforms and canonicalization


def add_transform(
    algorithm: str, child: Callable[[etree._Element], None] | None = None
) -> Callable[[etree._Element], None]:
    """A sign() customization that appends a Transform to the Reference."""

    def customize(signature: etree._Element) -> None:
        transforms = signature_part(signature, names.TRANSFORMS)
        transform = etree.SubElement(transforms, names.TRANSFORM, Algorithm=algorithm)
        if child is not None:
            child(transform)

    return customize


def test_xpath_transform_rejected_before_xmlsec() -> None:
    assertion = signed_with(
        transforms=(T.TransformEnveloped,),
        customize=add_transform(DS_XPATH, _xpath_true),
    )
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    detail = verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)
    assert DS_XPATH in detail


def _xpath_true(transform: etree._Element) -> None:
    etree.SubElement(transform, names.tag(names.DS, "XPath")).text = "true()"


def test_xmlsec_context_rejects_xpath_transform() -> None:
    """The xmlsec context itself has XPath disabled, as a second layer."""
    assertion = signed_with(
        transforms=(T.TransformEnveloped,),
        customize=add_transform(DS_XPATH, _xpath_true),
    )
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    with pytest.raises(SamlError) as raised:
        _verify_with_xmlsec(signature, [idp_key().cert_pem], False, "Assertion")
    assert raised.value.code == ErrorCode.SIGNATURE_INVALID


def test_xslt_transform_rejected_without_running() -> None:
    """An XSLT transform that would fetch a URL is rejected before xmlsec runs."""
    assertion = signed_with()
    transforms = signature_part(assertion, names.TRANSFORMS)
    transform = etree.SubElement(transforms, names.TRANSFORM, Algorithm=XSLT)
    stylesheet = etree.SubElement(
        transform,
        "{http://www.w3.org/1999/XSL/Transform}stylesheet",
        version="1.0",
    )
    etree.SubElement(
        stylesheet,
        "{http://www.w3.org/1999/XSL/Transform}copy-of",
        select="document('http://127.0.0.1:9/exfiltrate')",
    )
    detail = verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)
    assert XSLT in detail


def test_enveloped_transform_required() -> None:
    assertion = signed_with(transforms=(T.TransformExclC14N,))
    verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)


def test_enveloped_transform_must_come_first() -> None:
    assertion = signed_with()
    transforms = signature_part(assertion, names.TRANSFORMS)
    transforms.append(transforms[0])
    verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)


def test_at_most_two_transforms() -> None:
    assertion = signed_with(
        transforms=(T.TransformEnveloped, T.TransformExclC14N, T.TransformExclC14N)
    )
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)


def test_enveloped_transform_alone_accepted() -> None:
    assertion = signed_with(transforms=(T.TransformEnveloped,))
    assert verify(assertion)


def test_exclusive_c14n_with_comments_accepted() -> None:
    assertion = signed_with(
        transforms=(T.TransformEnveloped, T.TransformExclC14NWithComments)
    )
    assert verify(assertion)


def test_inclusive_namespaces_prefix_list_accepted() -> None:
    def prefix_list(signature: etree._Element) -> None:
        transforms = list(signature_part(signature, names.TRANSFORMS))
        xmlsec.template.transform_add_c14n_inclusive_namespaces(transforms[1], ["xs"])

    assertion = signed_with(customize=prefix_list)
    assert verify(assertion)


def test_inclusive_c14n_signed_info_accepted() -> None:
    assertion = signed_with(c14n=T.TransformInclC14N)
    assert verify(assertion)


def test_canonicalization_with_comments_rejected() -> None:
    """Inclusive c14n WithComments is not on the allowlist for SignedInfo."""
    assertion = signed_with(c14n=T.TransformInclC14NWithComments)
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    verify_error(assertion, ErrorCode.TRANSFORM_REJECTED)


def test_canonicalization_failure_is_an_error() -> None:
    """A relative namespace URI makes libxml2 canonicalization fail: reject."""
    response = signed_response()
    data = to_bytes(response).replace(
        b"<saml:Assertion ", b'<saml:Assertion xmlns:rel="relative/path" '
    )
    assertion = assertion_of(parse_xml(data))
    verify_error(assertion, ErrorCode.SIGNATURE_INVALID)


# Signature structure


def test_two_references_rejected() -> None:
    def second_reference(signature: etree._Element) -> None:
        reference = xmlsec.template.add_reference(
            signature, T.TransformSha256, uri="#_assertion-3d4e5f"
        )
        xmlsec.template.add_transform(reference, T.TransformEnveloped)

    assertion = signed_with(customize=second_reference)
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    detail = verify_error(assertion, ErrorCode.SIGNATURE_STRUCTURE)
    assert "exactly one Reference" in detail


def test_two_signed_info_rejected() -> None:
    assertion = signed_with()
    signed_info = signature_part(assertion, names.SIGNED_INFO)
    signed_info.addnext(copy.deepcopy(signed_info))
    verify_error(assertion, ErrorCode.SIGNATURE_STRUCTURE)


def test_object_in_signature_rejected() -> None:
    """XSW8 hides the original in a ds:Object, which the enveloped digest skips."""
    assertion = signed_with()
    signature = find_signature(assertion)
    assert signature is not None
    holder = etree.SubElement(signature, names.OBJECT)
    holder.append(etree.Element(names.ASSERTION, ID="_hidden"))
    assert xmlsec_accepts(signature)
    detail = verify_error(assertion, ErrorCode.SIGNATURE_STRUCTURE)
    assert "Object" in detail


def test_comment_in_digest_value_rejected() -> None:
    """A comment splitting DigestValue is rejected, not read around."""
    assertion = signed_with()
    digest = signature_part(assertion, names.DIGEST_VALUE)
    value = digest.text or ""
    digest.text = value[:10]
    comment = etree.Comment("x")
    comment.tail = value[10:]
    digest.append(comment)
    signature = find_signature(assertion)
    assert signature is not None
    assert xmlsec_accepts(signature)
    detail = verify_error(assertion, ErrorCode.SIGNATURE_STRUCTURE)
    assert "comment" in detail


def test_signature_after_content_rejected() -> None:
    """The Signature must follow the Issuer directly (schema position)."""
    assertion = signed_with()
    signature = find_signature(assertion)
    assert signature is not None
    assertion.append(signature)
    assert xmlsec_accepts(signature)
    with pytest.raises(SamlError) as raised:
        find_signature(assertion)
    assert raised.value.code == ErrorCode.SIGNATURE_STRUCTURE


def test_two_signatures_on_one_element_rejected() -> None:
    assertion = signed_with()
    signature = find_signature(assertion)
    assert signature is not None
    signature.addnext(copy.deepcopy(signature))
    with pytest.raises(SamlError) as raised:
        find_signature(assertion)
    assert raised.value.code == ErrorCode.SIGNATURE_STRUCTURE


def test_signature_of_another_element_rejected() -> None:
    assertion = signed_with()
    signature = find_signature(assertion)
    assert signature is not None
    response = assertion.getparent()
    assert response is not None
    with pytest.raises(SamlError) as raised:
        verify_signature(response, signature, certificates=[idp_key().cert_pem])
    assert raised.value.code == ErrorCode.SIGNATURE_STRUCTURE


# Reference and IDs


def test_empty_reference_uri_rejected() -> None:
    """URI="" signs the whole document, which is not what SAML signs."""
    response = build_response()
    sign(response, reference_uri="")
    root = parsed(response)
    signature = find_signature(root)
    assert signature is not None
    assert xmlsec_accepts(signature)
    verify_error(root, ErrorCode.REFERENCE_INVALID)


def test_reference_to_another_element_rejected() -> None:
    """An evil Assertion carrying the original's Signature names the original."""
    response = parsed(signed_response())
    original = assertion_of(response)
    evil = copy.deepcopy(original)
    evil.set("ID", "_evil")
    signature_part(evil, names.NAME_ID).text = ATTACKER
    original.remove(signature_part(original, names.SIGNATURE))
    extensions = etree.Element(names.EXTENSIONS)
    extensions.append(original)
    response.insert(1, extensions)
    response.append(evil)
    evil_signature = find_signature(evil)
    assert evil_signature is not None
    assert xmlsec_accepts(evil_signature)
    verify_error(evil, ErrorCode.REFERENCE_INVALID)


def test_duplicate_id_rejected() -> None:
    """Two elements with the signed ID: xmlsec would digest the first one."""
    response = parsed(signed_response())
    original = assertion_of(response)
    evil = copy.deepcopy(original)
    signature_part(evil, names.NAME_ID).text = ATTACKER
    original.remove(signature_part(original, names.SIGNATURE))
    extensions = etree.Element(names.EXTENSIONS)
    extensions.append(original)
    response.insert(1, extensions)
    response.append(evil)
    evil_signature = find_signature(evil)
    assert evil_signature is not None
    assert xmlsec_accepts(evil_signature)
    detail = verify_error(evil, ErrorCode.DUPLICATE_ID)
    assert "2 attributes" in detail


def test_id_in_other_letter_case_counts_as_duplicate() -> None:
    assertion = signed_with()
    response = assertion.getparent()
    assert response is not None
    etree.SubElement(response, names.EXTENSIONS, Id="_assertion-3d4e5f")
    verify_error(assertion, ErrorCode.DUPLICATE_ID)


@pytest.mark.parametrize(
    "attribute", ["{http://www.w3.org/XML/1998/namespace}id", "{urn:evil}ID"]
)
def test_namespaced_id_attribute_rejected(attribute: str) -> None:
    assertion = signed_with()
    response = assertion.getparent()
    assert response is not None
    response.set(attribute, "_other")
    assert xmlsec_accepts(find_signature(assertion))  # type: ignore[arg-type]
    verify_error(assertion, ErrorCode.ID_ATTRIBUTE_INVALID)


def test_id_attribute_scan_matches_local_name_only() -> None:
    root = parse_xml(
        b'<r xmlns:a="urn:a" ID="1" xml:id="2" a:Id="3" xID="4" IDx="5" a:xid="6">'
        b'<c id="7" iD="8"/></r>'
    )
    assert find_id_attributes(root) == [
        ("ID", "1"),
        ("{http://www.w3.org/XML/1998/namespace}id", "2"),
        ("{urn:a}Id", "3"),
        ("id", "7"),
        ("iD", "8"),
    ]


def test_signed_element_without_id_rejected() -> None:
    assertion = signed_with()
    del assertion.attrib["ID"]
    verify_error(assertion, ErrorCode.SCHEMA_INVALID)


def test_empty_signed_element_rejected() -> None:
    """A valid signature over an element with nothing in it proves nothing."""
    element = etree.Element(names.ASSERTION, ID="_empty", nsmap={"saml": names.SAML})
    etree.SubElement(element, names.ISSUER).text = "https://idp.example.com"
    sign(element)
    root = parse_xml(etree.tostring(element))
    signature = find_signature(root)
    assert signature is not None
    assert xmlsec_accepts(signature)
    verify_error(root, ErrorCode.EMPTY_REFERENCE)


# The xmlsec context enables only the algorithms that the Signature names

_SIGNED_INFO_ALGORITHMS = (algorithms.EXC_C14N, algorithms.RSA_SHA256)
_REFERENCE_ALGORITHMS = (
    algorithms.ENVELOPED_SIGNATURE,
    algorithms.EXC_C14N,
    algorithms.SHA256,
)


def test_named_transforms_verify() -> None:
    signature = find_signature(signed_with())
    assert signature is not None
    assert xmlsec_accepts(signature)
    transforms = _transforms_named(
        _SIGNED_INFO_ALGORITHMS, _REFERENCE_ALGORITHMS, False
    )
    certificates = [idp_key().cert_pem]
    assert _verify_with_xmlsec(signature, certificates, False, "A", transforms) == 0


def test_context_without_named_digest_rejects() -> None:
    """xmlsec itself rejects an algorithm that the context does not enable."""
    signature = find_signature(signed_with())
    assert signature is not None
    assert xmlsec_accepts(signature)
    transforms = _transforms_named(
        _SIGNED_INFO_ALGORITHMS, _REFERENCE_ALGORITHMS[:2], False
    )
    with pytest.raises(SamlError) as raised:
        _verify_with_xmlsec(
            signature, [idp_key().cert_pem], False, "Assertion", transforms
        )
    assert raised.value.code == ErrorCode.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("signed_info", "reference"),
    [
        ((algorithms.EXC_C14N, algorithms.RSA_SHA1), _REFERENCE_ALGORITHMS),
        (_SIGNED_INFO_ALGORITHMS, (algorithms.ENVELOPED_SIGNATURE, algorithms.SHA1)),
        ((algorithms.EXC_C14N, DS_XPATH), _REFERENCE_ALGORITHMS),
        (_SIGNED_INFO_ALGORITHMS, (algorithms.ENVELOPED_SIGNATURE, XSLT)),
        # A digest is not a SignedInfo algorithm, nor a signature method a
        # Reference one.
        ((algorithms.EXC_C14N, algorithms.SHA256), _REFERENCE_ALGORITHMS),
        (_SIGNED_INFO_ALGORITHMS, (algorithms.RSA_SHA256,)),
    ],
)
def test_named_transforms_outside_allowlist_rejected(
    signed_info: tuple[str, ...], reference: tuple[str, ...]
) -> None:
    with pytest.raises(SamlError) as raised:
        _transforms_named(signed_info, reference, False)
    assert raised.value.code == ErrorCode.ALGORITHM_REJECTED


def test_named_transforms_sha1_only_when_allowed() -> None:
    transforms = _transforms_named(
        (algorithms.EXC_C14N, algorithms.RSA_SHA1),
        (algorithms.ENVELOPED_SIGNATURE, algorithms.SHA1),
        True,
    )
    assert transforms == (
        (T.TransformExclC14N, T.TransformRsaSha1),
        (T.TransformEnveloped, T.TransformSha1),
    )
