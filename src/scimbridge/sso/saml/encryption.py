"""Decryption of an EncryptedAssertion into the Response tree it arrived in.

The session key must be wrapped with RSA-OAEP (xmlenc ``rsa-oaep-mgf1p`` or
xmlenc11 ``rsa-oaep``); RSA PKCS#1 v1.5 is rejected because its decryption errors
form a Bleichenbacher oracle. Content is AES-128/256 in GCM or CBC mode.
Decryption uses the connection's own SP keys only and reads nothing from KeyInfo
but the EncryptedKey, so no RetrievalMethod or key name is ever followed.

Every failure from key unwrapping to parsing the plaintext raises the same error
with the same detail, so a sender probing with altered ciphertexts learns only
that decryption failed, not where.

The decrypted Assertion replaces the EncryptedAssertion in the same tree. It is
not trusted for that: the caller must still verify a signature that covers it.
"""

import base64
import binascii
import re
from collections.abc import Sequence
from functools import lru_cache
from xml.sax.saxutils import quoteattr

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from scimbridge.sso.saml import algorithms as accepted
from scimbridge.sso.saml import names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import (
    DEFAULT_LIMITS,
    XmlLimits,
    child_elements,
    find_child,
    find_children,
    parse_xml,
    require_child,
)

_DECRYPTION_FAILED = (
    "the EncryptedAssertion could not be decrypted with the connection's SP keys; "
    "check that the IdP encrypts with the certificate in this connection's SP "
    "metadata"
)
_XML_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_WRAPPER = "scimbridge-decrypted"


class _DecryptionFailed(Exception):
    """Any cryptographic failure, reported to the caller as one uniform error."""


def decrypt_assertion(
    encrypted_assertion: etree._Element,
    decryption_keys: Sequence[str],
    limits: XmlLimits = DEFAULT_LIMITS,
) -> etree._Element:
    """Decrypt ``encrypted_assertion`` and put the Assertion in its place.

    :param decryption_keys: PEM RSA private keys of the SP, tried in order.
    :returns: the Assertion, now a child of the EncryptedAssertion's parent.
    :raises SamlError: ``saml.encryption_invalid`` or
        ``saml.encryption_algorithm_rejected`` for a malformed or disallowed
        structure, and ``saml.decryption_failed`` for every failure after that.
    """
    if not decryption_keys:
        raise SamlError(
            ErrorCode.DECRYPTION_FAILED,
            "the assertion is encrypted, but the connection has no SP decryption "
            "key; configure one or turn off assertion encryption at the IdP",
        )
    encrypted_data, encrypted_key = _find_parts(encrypted_assertion)
    key_size, mode = _content_method(encrypted_data)
    oaep = _oaep_padding(encrypted_key)
    wrapped_key = _cipher_value(encrypted_key)
    ciphertext = _cipher_value(encrypted_data)
    try:
        session_key = _unwrap_session_key(wrapped_key, oaep, decryption_keys)
        if len(session_key) != key_size:
            raise _DecryptionFailed
        plaintext = _decrypt_content(ciphertext, session_key, mode)
        assertion = _parse_plaintext(plaintext, encrypted_assertion, limits)
    except (_DecryptionFailed, SamlError) as exc:
        raise SamlError(ErrorCode.DECRYPTION_FAILED, _DECRYPTION_FAILED) from exc
    parent = encrypted_assertion.getparent()
    assert parent is not None, "an EncryptedAssertion is never the root"
    parent.replace(encrypted_assertion, assertion)
    return assertion


def _find_parts(
    encrypted_assertion: etree._Element,
) -> tuple[etree._Element, etree._Element]:
    """Return the EncryptedData and the single EncryptedKey that unlocks it."""
    for child in child_elements(encrypted_assertion):
        if child.tag not in (names.ENCRYPTED_DATA, names.ENCRYPTED_KEY):
            raise _invalid(
                "EncryptedAssertion may contain only EncryptedData and EncryptedKey"
            )
    encrypted_data = require_child(encrypted_assertion, names.ENCRYPTED_DATA)
    element_type = encrypted_data.get("Type")
    if element_type not in (None, names.ENCRYPTED_ELEMENT_TYPE):
        raise _invalid(
            f"EncryptedData Type must be xmlenc#Element, not {element_type!r}"
        )

    keys = find_children(encrypted_assertion, names.ENCRYPTED_KEY)
    key_info = find_child(encrypted_data, names.KEY_INFO)
    if key_info is not None:
        for child in child_elements(key_info):
            if child.tag == names.ENCRYPTED_KEY:
                keys.append(child)
            elif child.tag == names.RETRIEVAL_METHOD:
                # It can only point at the EncryptedKey beside the EncryptedData,
                # which is used anyway; it is never resolved.
                if not child.get("URI", "").startswith("#"):
                    raise _invalid("RetrievalMethod may only point into the message")
            elif child.tag != names.KEY_NAME:
                raise _invalid(
                    "the KeyInfo of EncryptedData may contain only EncryptedKey, "
                    "RetrievalMethod and KeyName"
                )
    if len(keys) != 1:
        raise _invalid(
            f"the EncryptedAssertion has {len(keys)} EncryptedKey elements, but "
            "must have exactly one"
        )
    return encrypted_data, keys[0]


def _content_method(encrypted_data: etree._Element) -> tuple[int, str]:
    method = require_child(encrypted_data, names.ENCRYPTION_METHOD).get("Algorithm", "")
    if method not in accepted.CONTENT_METHODS:
        raise SamlError(
            ErrorCode.ENCRYPTION_ALGORITHM_REJECTED,
            f"EncryptedData algorithm {method!r} is not allowed; use AES-256-GCM "
            "(or AES-128/256 in GCM or CBC mode)",
        )
    return accepted.CONTENT_METHODS[method]


def _oaep_padding(encrypted_key: etree._Element) -> padding.OAEP:
    method_element = require_child(encrypted_key, names.ENCRYPTION_METHOD)
    method = method_element.get("Algorithm", "")
    if method not in accepted.KEY_TRANSPORT_METHODS:
        advice = " (RSA PKCS#1 v1.5 is unsafe)" if method == accepted.RSA_1_5 else ""
        raise SamlError(
            ErrorCode.ENCRYPTION_ALGORITHM_REJECTED,
            f"EncryptedKey algorithm {method!r} is not allowed{advice}; configure "
            "the IdP to use RSA-OAEP key transport",
        )
    digest, mgf_digest, label = "sha1", "sha1", None
    for child in child_elements(method_element):
        algorithm = child.get("Algorithm", "")
        if child.tag == names.DIGEST_METHOD and algorithm in accepted.OAEP_DIGESTS:
            digest = accepted.OAEP_DIGESTS[algorithm]
        elif (
            child.tag == names.MGF
            and method == accepted.RSA_OAEP
            and algorithm in accepted.MGF1_DIGESTS
        ):
            mgf_digest = accepted.MGF1_DIGESTS[algorithm]
        elif child.tag == names.OAEP_PARAMS:
            label = _base64(child.text or "")
        else:
            raise SamlError(
                ErrorCode.ENCRYPTION_ALGORITHM_REJECTED,
                f"the EncryptedKey RSA-OAEP parameter {etree.QName(child).localname} "
                f"{algorithm!r} is not allowed",
            )
    return padding.OAEP(
        mgf=padding.MGF1(_HASHES[mgf_digest]()),
        algorithm=_HASHES[digest](),
        label=label or None,
    )


def _unwrap_session_key(
    wrapped_key: bytes, oaep: padding.OAEP, decryption_keys: Sequence[str]
) -> bytes:
    for key_pem in decryption_keys:
        try:
            return _private_key(key_pem).decrypt(wrapped_key, oaep)
        except (ValueError, TypeError):
            # A wrong key, or a configured key that does not load: try the next.
            continue
    raise _DecryptionFailed


def _decrypt_content(data: bytes, key: bytes, mode: str) -> bytes:
    if mode == "gcm":
        # XML Encryption 1.1 AES-GCM: a 96-bit IV, then the ciphertext and tag.
        if len(data) < 12 + 16:
            raise _DecryptionFailed
        try:
            return AESGCM(key).decrypt(data[:12], data[12:], None)
        except InvalidTag as exc:
            raise _DecryptionFailed from exc
    # XML Encryption AES-CBC: a 128-bit IV, then ciphertext whose last
    # plaintext byte gives the padding length (the other padding bytes are arbitrary).
    if len(data) < 32 or len(data) % 16:
        raise _DecryptionFailed
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    padding_length = padded[-1]
    if not 1 <= padding_length <= 16:
        raise _DecryptionFailed
    return padded[:-padding_length]


def _parse_plaintext(
    plaintext: bytes, encrypted_assertion: etree._Element, limits: XmlLimits
) -> etree._Element:
    """Parse the decrypted Assertion with the namespaces in scope where it sat.

    The IdP serialized the Assertion without the namespace declarations of its
    ancestors, so it is parsed inside a wrapper element that redeclares the
    namespaces in scope at the EncryptedAssertion, with the same hardened parser.
    """
    content = _XML_DECLARATION.sub(b"", plaintext, count=1)
    declarations = "".join(
        f" xmlns={quoteattr(uri)}"
        if prefix is None
        else f" xmlns:{prefix}={quoteattr(uri)}"
        for prefix, uri in encrypted_assertion.nsmap.items()
    )
    document = (
        f"<{_WRAPPER}{declarations}>".encode() + content + f"</{_WRAPPER}>".encode()
    )
    wrapper = parse_xml(document, limits)
    children = child_elements(wrapper)
    if len(children) != 1 or children[0].tag != names.ASSERTION:
        raise _DecryptionFailed
    if (wrapper.text or "").strip() or (children[0].tail or "").strip():
        raise _DecryptionFailed
    return children[0]


def _cipher_value(element: etree._Element) -> bytes:
    cipher_data = require_child(element, names.CIPHER_DATA)
    cipher_value = find_child(cipher_data, names.CIPHER_VALUE)
    if cipher_value is None or len(child_elements(cipher_data)) != 1:
        raise _invalid("CipherData must contain one CipherValue (no CipherReference)")
    return _base64(cipher_value.text or "")


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("a CipherValue or OAEPparams is not valid base64") from exc


@lru_cache(maxsize=64)
def _private_key(key_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an SP decryption key must be an RSA key")
    return key


def _invalid(detail: str) -> SamlError:
    return SamlError(ErrorCode.ENCRYPTION_INVALID, detail)
