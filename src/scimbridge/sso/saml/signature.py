"""Enveloped XML Signature verification with trust only from configured certificates.

xmlsec checks the cryptography but not what was signed. So before it runs, this
module checks the shape that SAML Core allows for signatures:

- one Signature per signed element, placed right after its Issuer;
- one SignedInfo with one Reference, whose URI is ``#`` plus the ID of the
  Signature's own parent, and no other attribute in the document has that ID;
- only the enveloped-signature and exclusive canonicalization transforms;
- no ds:Object, and an algorithm from the allowlist in ``algorithms``.

The key comes from the IdP certificates in the connection's configuration,
never from KeyInfo in the message.

The result, :class:`VerifiedSignature`, names the verified element, and callers read
claims only from that element and its descendants.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from scimbridge.sso.saml import algorithms, names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import Children, child_elements, local_name

IdAttributes = Sequence[tuple[str, str]]
"""The attributes named ID in any letter case and namespace, as (name, value)."""

EnabledTransforms = tuple[Sequence[Any], Sequence[Any]]
"""The xmlsec transforms a context enables: for SignedInfo, and for the Reference."""


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that verified with one of the configured IdP certificates."""

    element: etree._Element
    """The element the Reference points to: the Signature's parent, whole."""
    signature_method: str
    digest_method: str
    certificate_index: int
    """Position in the configured certificate list of the one that verified."""


def find_signature(element: etree._Element) -> etree._Element | None:
    """Return the ds:Signature child of ``element``, or None when it is unsigned.

    :raises SamlError: ``saml.signature_structure`` when there are several, or the
        Signature is not in its schema position (first, or right after Issuer).
    """
    return signature_child(Children(element))


def signature_child(children: Children) -> etree._Element | None:
    """Return the ds:Signature among ``children``, as :func:`find_signature` does."""
    signatures = children.all(names.SIGNATURE)
    if not signatures:
        return None
    name = local_name(children.element)
    if len(signatures) > 1:
        raise SamlError(
            ErrorCode.SIGNATURE_STRUCTURE,
            f"the {name} has {len(signatures)} Signature elements, but may have one",
        )
    elements = children.elements
    expected_position = 1 if elements[0].tag == names.ISSUER else 0
    # The Signature is one of the elements, so the expected position exists.
    if elements[expected_position] is not signatures[0]:
        raise SamlError(
            ErrorCode.SIGNATURE_STRUCTURE,
            f"the Signature of the {name} must follow its Issuer directly",
        )
    return signatures[0]


def verify_signature(
    element: etree._Element,
    signature: etree._Element,
    *,
    certificates: Sequence[str],
    allow_sha1: bool = False,
    id_attributes: IdAttributes | None = None,
) -> VerifiedSignature:
    """Verify the enveloped ``signature`` of ``element`` with configured certificates.

    :param certificates: PEM certificates of the IdP, tried in order so that an old
        and a new certificate both verify during a rollover.
    :param allow_sha1: accept rsa-sha1 and sha1 digests, for an IdP that cannot
        sign with SHA-2.
    :param id_attributes: the result of :func:`find_id_attributes` on the document
        as it is now, so that one scan serves several signatures. When None, the
        document is scanned here.
    :raises SamlError: on any structural, algorithm or cryptographic failure.
    """
    name = local_name(element)
    if signature.getparent() is not element:
        raise SamlError(
            ErrorCode.SIGNATURE_STRUCTURE,
            f"the Signature is not a direct child of the {name}",
        )
    info_children, reference_children = _check_structure(signature, name)
    signature_method, digest_method = _check_algorithms(
        info_children, reference_children, allow_sha1
    )
    transform_methods = _check_transforms(reference_children[0])
    if id_attributes is None:
        id_attributes = find_id_attributes(element.getroottree().getroot())
    _check_reference(element, info_children[2], id_attributes)
    _check_not_empty(element, signature)
    transforms = _transforms_named(
        (info_children[0].get("Algorithm", ""), signature_method),
        (*transform_methods, digest_method),
        allow_sha1,
    )
    index = _verify_with_xmlsec(signature, certificates, allow_sha1, name, transforms)
    return VerifiedSignature(element, signature_method, digest_method, index)


def _check_structure(
    signature: etree._Element, name: str
) -> tuple[list[etree._Element], list[etree._Element]]:
    """Check Signature, SignedInfo and Reference have exactly the children allowed.

    Returns the element children of SignedInfo and of its Reference.
    """
    if next(signature.iter(etree.Comment, etree.PI), None) is not None:
        # A comment inside DigestValue or SignatureValue would make a text reader
        # see part of the value. Nothing legitimate puts one there.
        raise _structure(f"the Signature of the {name} contains a comment")
    children = child_elements(signature)
    if [child.tag for child in children] not in (
        [names.SIGNED_INFO, names.SIGNATURE_VALUE],
        [names.SIGNED_INFO, names.SIGNATURE_VALUE, names.KEY_INFO],
    ):
        raise _structure(
            f"the Signature of the {name} must contain one SignedInfo, one "
            "SignatureValue and at most one KeyInfo, and nothing else (no Object)"
        )
    info_children = child_elements(children[0])
    if [child.tag for child in info_children] != [
        names.CANONICALIZATION_METHOD,
        names.SIGNATURE_METHOD,
        names.REFERENCE,
    ]:
        raise _structure(
            f"the SignedInfo of the {name} must contain CanonicalizationMethod, "
            "SignatureMethod and exactly one Reference"
        )
    reference_children = child_elements(info_children[2])
    if [child.tag for child in reference_children] != [
        names.TRANSFORMS,
        names.DIGEST_METHOD,
        names.DIGEST_VALUE,
    ]:
        raise _structure(
            f"the Reference of the {name} must contain Transforms, DigestMethod "
            "and DigestValue"
        )
    return info_children, reference_children


def _check_algorithms(
    info_children: list[etree._Element],
    reference_children: list[etree._Element],
    allow_sha1: bool,
) -> tuple[str, str]:
    canonicalization = info_children[0]
    method = canonicalization.get("Algorithm", "")
    if method not in algorithms.CANONICALIZATION_METHODS:
        raise SamlError(
            ErrorCode.TRANSFORM_REJECTED,
            f"CanonicalizationMethod {method!r} is not allowed; use exclusive "
            "canonicalization (xml-exc-c14n#)",
        )
    _check_c14n_children(canonicalization, method)

    signature_method_element = info_children[1]
    signature_method = signature_method_element.get("Algorithm", "")
    _check_signature_method(signature_method, allow_sha1)
    if len(signature_method_element):
        raise _structure("SignatureMethod must be empty")

    digest_method = reference_children[1].get("Algorithm", "")
    if digest_method in algorithms.SHA1_DIGEST_METHODS and not allow_sha1:
        raise SamlError(
            ErrorCode.SHA1_REJECTED,
            "the Reference uses the SHA-1 digest; configure the IdP to sign with "
            "SHA-256, or allow SHA-1 for this connection",
        )
    if (
        digest_method not in algorithms.DIGEST_METHODS
        and digest_method not in algorithms.SHA1_DIGEST_METHODS
    ):
        raise SamlError(
            ErrorCode.ALGORITHM_REJECTED,
            f"DigestMethod {digest_method!r} is not allowed; use SHA-256",
        )
    return signature_method, digest_method


def _check_signature_method(method: str, allow_sha1: bool) -> None:
    if algorithms.is_hmac(method):
        raise SamlError(
            ErrorCode.ALGORITHM_REJECTED,
            f"SignatureMethod {method!r} is an HMAC; IdP messages must be signed "
            "with the IdP's private key",
        )
    if method in algorithms.SHA1_SIGNATURE_METHODS:
        if allow_sha1:
            return
        raise SamlError(
            ErrorCode.SHA1_REJECTED,
            "the signature uses rsa-sha1; configure the IdP to sign with "
            "RSA-SHA256, or allow SHA-1 for this connection",
        )
    if method not in algorithms.SIGNATURE_METHODS:
        raise SamlError(
            ErrorCode.ALGORITHM_REJECTED,
            f"SignatureMethod {method!r} is not allowed; use RSA-SHA256",
        )


def _check_transforms(transforms_element: etree._Element) -> list[str]:
    """Check the Reference transforms and return their algorithm URIs."""
    transforms = child_elements(transforms_element)
    methods = [transform.get("Algorithm", "") for transform in transforms]
    for method in methods:
        if method not in algorithms.REFERENCE_TRANSFORMS:
            raise SamlError(
                ErrorCode.TRANSFORM_REJECTED,
                f"Reference transform {method!r} is not allowed; only "
                "enveloped-signature and exclusive canonicalization are",
            )
    if not methods or methods[0] != algorithms.ENVELOPED_SIGNATURE or len(methods) > 2:
        raise SamlError(
            ErrorCode.TRANSFORM_REJECTED,
            "the Reference must have the enveloped-signature transform, optionally "
            f"followed by exclusive canonicalization, but has {len(methods)} "
            "transforms",
        )
    if any(transform.tag != names.TRANSFORM for transform in transforms):
        raise _structure("Transforms may contain only Transform elements")
    if len(transforms[0]):
        raise _structure("the enveloped-signature transform must be empty")
    if len(transforms) == 2:
        _check_c14n_children(transforms[1], methods[1])
    return methods


def _check_c14n_children(element: etree._Element, method: str) -> None:
    children = child_elements(element)
    allowed = method in (algorithms.EXC_C14N, algorithms.EXC_C14N_WITH_COMMENTS)
    if children and (
        not allowed
        or len(children) > 1
        or children[0].tag != names.INCLUSIVE_NAMESPACES
    ):
        raise _structure(
            f"{local_name(element)} may contain only one InclusiveNamespaces element"
        )


def _check_reference(
    element: etree._Element, reference: etree._Element, id_attributes: IdAttributes
) -> None:
    """Check the Reference names ``element`` by an ID that nothing else holds."""
    name = local_name(element)
    element_id = element.get("ID")
    if not element_id:
        raise SamlError(
            ErrorCode.SCHEMA_INVALID, f"the signed {name} has no ID attribute"
        )
    uri = reference.get("URI")
    if uri != "#" + element_id:
        raise SamlError(
            ErrorCode.REFERENCE_INVALID,
            f"the Reference URI of the {name} signature must be '#' followed by "
            f"the {name} ID, but it is {uri!r}",
        )

    _check_unique_id(id_attributes, element_id, name)
    # Resolve `#ID` through the unqualified ID attribute only. No other attribute
    # is registered, since the parser collects no IDs and no DTD is allowed.
    xmlsec.tree.add_ids(element.getroottree().getroot(), ["ID"])


def _check_unique_id(id_attributes: IdAttributes, element_id: str, name: str) -> None:
    holders = 0
    for attribute, value in id_attributes:
        if attribute.startswith("{"):
            raise SamlError(
                ErrorCode.ID_ATTRIBUTE_INVALID,
                "the document has a namespaced attribute named ID (such as xml:id); "
                "SAML uses only the unqualified ID attribute",
            )
        if value == element_id:
            holders += 1
    if holders != 1:
        raise SamlError(
            ErrorCode.DUPLICATE_ID,
            f"{holders} attributes in the document hold the signed {name} ID, "
            "which must be unique",
        )


# The local names that count as an ID attribute: ID in any letter case.
_ID_NAMES = frozenset({"ID", "Id", "iD", "id"})


def find_id_attributes(root: etree._Element) -> list[tuple[str, str]]:
    """Return every attribute in the document named ID in any letter case and namespace.

    That is ID, Id, id, xml:id or a:ID, as (Clark-notation name, value) pairs. It
    only rejects documents; no claim is read from it. A Python walk is used because
    an XPath predicate on every attribute costs about twice as much in libxml2.
    Only names are listed for every element, and values only for the matches:
    on the 4 KB benchmark Response that took about half the time of ``items()``.
    """
    found = []
    for node in root.iter(etree.Element):
        for attribute in node.keys():
            # The local name is the part after "}", so it is the last two
            # characters exactly when the name is two long or "}" comes before.
            # The test of the last character comes first because it allocates
            # nothing, and it rejects most names at a third of the cost.
            if (
                attribute[-1] in "dD"
                and attribute[-2:] in _ID_NAMES
                and (len(attribute) == 2 or attribute[-3] == "}")
            ):
                found.append((attribute, node.get(attribute, "")))
    return found


def _check_not_empty(element: etree._Element, signature: etree._Element) -> None:
    """Reject a signed element with no content besides its Issuer and Signature.

    Canonicalizing such an element gives almost nothing, so a signature over it
    proves nothing about a login. This also guards against a canonicalization
    failure that yields empty output instead of an error.
    """
    for child in element.iterchildren(etree.Element):
        if child is not signature and child.tag != names.ISSUER:
            return
    raise SamlError(
        ErrorCode.EMPTY_REFERENCE,
        f"the signed {local_name(element)} has no content to sign",
    )


def _verify_with_xmlsec(
    signature: etree._Element,
    certificates: Sequence[str],
    allow_sha1: bool,
    name: str,
    transforms: EnabledTransforms | None = None,
) -> int:
    """Verify ``signature`` with each certificate in turn; return the index of one.

    :param transforms: the only algorithms the xmlsec context enables. When None,
        it enables the whole allowlist (with SHA-1 when ``allow_sha1`` is set).
    """
    if not certificates:
        raise SamlError(
            ErrorCode.SIGNATURE_INVALID,
            "the connection has no IdP signing certificate configured",
        )
    if transforms is None:
        transforms = _ENABLED_TRANSFORMS[allow_sha1]
    for index, certificate in enumerate(certificates):
        context = _signature_context(_certificate_key(certificate), transforms)
        try:
            context.verify(signature)
        except xmlsec.Error:
            continue
        return index
    raise SamlError(
        ErrorCode.SIGNATURE_INVALID,
        f"the {name} signature does not verify with any of the "
        f"{len(certificates)} configured IdP signing certificates; check that the "
        "connection has the IdP's current certificate",
    )


def _signature_context(
    key: xmlsec.Key, transforms: EnabledTransforms
) -> xmlsec.SignatureContext:
    context = xmlsec.SignatureContext()
    # With the key set, xmlsec does not read KeyInfo at all. X509 is the only key
    # data enabled, in case a later change stops setting the key.
    context.set_enabled_key_data([xmlsec.constants.KeyDataX509])
    context.key = key
    signature_transforms, reference_transforms = transforms
    for transform in signature_transforms:
        context.enable_signature_transform(transform)
    for transform in reference_transforms:
        context.enable_reference_transform(transform)
    return context


def _allowed_by_uri(allow_sha1: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the allowlist as two maps, for SignedInfo and for the Reference.

    Each maps an algorithm URI to its xmlsec transform.
    """
    signature_allowed = {
        **algorithms.CANONICALIZATION_METHODS,
        **algorithms.SIGNATURE_METHODS,
    }
    reference_allowed = {
        **algorithms.REFERENCE_TRANSFORMS,
        **algorithms.DIGEST_METHODS,
    }
    if allow_sha1:
        signature_allowed.update(algorithms.SHA1_SIGNATURE_METHODS)
        reference_allowed.update(algorithms.SHA1_DIGEST_METHODS)
    return signature_allowed, reference_allowed


# Built once, by whether SHA-1 is allowed, instead of on every verification.
_ALLOWED_BY_URI = {
    allow_sha1: _allowed_by_uri(allow_sha1) for allow_sha1 in (False, True)
}
_ENABLED_TRANSFORMS: dict[bool, EnabledTransforms] = {
    allow_sha1: (list(signature_allowed.values()), list(reference_allowed.values()))
    for allow_sha1, (signature_allowed, reference_allowed) in _ALLOWED_BY_URI.items()
}


@lru_cache(maxsize=64)
def _transforms_named(
    signature_uris: tuple[str, ...], reference_uris: tuple[str, ...], allow_sha1: bool
) -> EnabledTransforms:
    """Return the xmlsec transforms of algorithm URIs that the checks accepted.

    Enabling only the algorithms that a Signature names keeps the context at
    least as strict as the whole allowlist, and costs less to set up. SHA-1 is
    left out unless ``allow_sha1`` is set, as for the whole allowlist. The cache
    contains algorithm lists only, never a verification result.

    :raises SamlError: ``saml.algorithm_rejected`` for a URI outside the
        allowlist, which the checks before xmlsec already reject.
    """
    signature_allowed, reference_allowed = _ALLOWED_BY_URI[allow_sha1]
    unknown = [uri for uri in signature_uris if uri not in signature_allowed]
    unknown += [uri for uri in reference_uris if uri not in reference_allowed]
    if unknown:
        raise SamlError(
            ErrorCode.ALGORITHM_REJECTED,
            f"the Signature names algorithms that are not allowed: {unknown!r}",
        )
    return (
        tuple(signature_allowed[uri] for uri in signature_uris),
        tuple(reference_allowed[uri] for uri in reference_uris),
    )


@lru_cache(maxsize=256)
def _certificate_key(certificate_pem: str) -> xmlsec.Key:
    """Load the public key of a configured certificate, once per certificate.

    Only the bare public key goes to xmlsec: assigning a key to a context copies
    it, and copying a key that carries its certificate costs more than the RSA
    verification itself. One cached key then serves every verification, in any
    thread.
    """
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        public_key = certificate.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        return xmlsec.Key.from_memory(public_key, xmlsec.constants.KeyDataFormatPem)
    except (ValueError, xmlsec.Error) as exc:
        raise SamlError(
            ErrorCode.SIGNATURE_INVALID,
            "a configured IdP signing certificate is not a valid PEM certificate",
        ) from exc


def _structure(detail: str) -> SamlError:
    return SamlError(ErrorCode.SIGNATURE_STRUCTURE, detail)
