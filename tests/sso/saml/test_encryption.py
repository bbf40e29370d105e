"""EncryptedAssertion: allowed algorithms, SP key rollover and uniform failures."""

import base64
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.encryption import decrypt_assertion
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import parse_xml
from tests.sso.saml.idp import (
    USER,
    ResponseSpec,
    T,
    assertion_of,
    build_assertion,
    build_response,
    encrypt_assertion,
    expect_error,
    make_key_pair,
    sign,
    signed_response,
    sp_config,
    sp_key,
    sp_next_key,
    to_bytes,
    validate,
)

CONTENT_METHODS = {
    "aes256-gcm": T.TransformAes256Gcm,
    "aes128-gcm": T.TransformAes128Gcm,
    "aes256-cbc": T.TransformAes256Cbc,
    "aes128-cbc": T.TransformAes128Cbc,
}


def encrypted(
    *,
    sign_assertion: bool = True,
    sign_response: bool = False,
    **options: object,
) -> etree._Element:
    """A Response whose (optionally signed) Assertion is encrypted for the SP."""
    response = build_response()
    if sign_assertion:
        sign(assertion_of(response))
    encrypt_assertion(response, **options)  # type: ignore[arg-type]
    if sign_response:
        sign(response)
    return response


def first(element: etree._Element, tag: str) -> etree._Element:
    found = next((child for child in element.iter() if child.tag == tag), None)
    assert found is not None
    return found


@pytest.mark.parametrize("method", sorted(CONTENT_METHODS))
def test_encrypted_assertion_signs_in(method: str) -> None:
    response = encrypted(content=CONTENT_METHODS[method])
    assert b"EncryptedAssertion" in to_bytes(response)
    assert USER.encode() not in to_bytes(response)
    assert validate(response).name_id == USER


def test_xmlenc11_rsa_oaep_with_sha256() -> None:
    response = encrypted(xmlenc11_oaep=True)
    assert b"xmlenc11#rsa-oaep" in to_bytes(response)
    assert validate(response).name_id == USER


def test_encrypted_key_beside_encrypted_data() -> None:
    response = encrypted(key_outside_key_info=True)
    assert validate(response).name_id == USER


def test_signed_response_around_unsigned_encrypted_assertion() -> None:
    """The Response signature covers the ciphertext, so the Assertion is trusted."""
    response = encrypted(sign_assertion=False, sign_response=True)
    assert validate(response).name_id == USER


def test_signed_response_and_signed_encrypted_assertion() -> None:
    response = encrypted(sign_assertion=True, sign_response=True)
    assert validate(response).name_id == USER


def test_unsigned_encrypted_assertion_rejected() -> None:
    """Anyone with the SP's public certificate can encrypt: a signature is needed."""
    response = encrypted(sign_assertion=False)
    expect_error(response, ErrorCode.UNSIGNED)


def test_sp_key_rollover() -> None:
    """Both the current and the next SP key decrypt."""
    sp = sp_config(decryption_keys=(sp_key().key_pem, sp_next_key().key_pem))
    response = encrypted(certificate_pem=sp_next_key().cert_pem)
    assert validate(response, sp=sp).name_id == USER


def test_wrong_sp_key() -> None:
    response = encrypted(certificate_pem=sp_next_key().cert_pem)
    expect_error(response, ErrorCode.DECRYPTION_FAILED)


def test_no_sp_key_configured() -> None:
    error = expect_error(
        encrypted(), ErrorCode.DECRYPTION_FAILED, sp=sp_config(decryption_keys=())
    )
    assert "no SP decryption key" in error.detail


def test_rsa_1_5_key_transport_rejected() -> None:
    response = encrypted(key_transport=T.TransformRsaPkcs1)
    error = expect_error(response, ErrorCode.ENCRYPTION_ALGORITHM_REJECTED)
    assert "rsa-1_5" in error.detail


def test_triple_des_content_rejected() -> None:
    response = encrypted()
    method = first(first(response, names.ENCRYPTED_DATA), names.ENCRYPTION_METHOD)
    method.set("Algorithm", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc")
    expect_error(response, ErrorCode.ENCRYPTION_ALGORITHM_REJECTED)


def test_unknown_oaep_parameter_rejected() -> None:
    response = encrypted()
    method = first(first(response, names.ENCRYPTED_KEY), names.ENCRYPTION_METHOD)
    etree.SubElement(method, names.tag(names.XENC, "KeySize")).text = "256"
    expect_error(response, ErrorCode.ENCRYPTION_ALGORITHM_REJECTED)


def test_tampered_ciphertext_uniform_error() -> None:
    """GCM tag failure, CBC garbage and a wrong key give the same error detail."""
    details = set()
    for content in (T.TransformAes256Gcm, T.TransformAes256Cbc):
        response = encrypted(content=content)
        cipher_value = first(first(response, names.ENCRYPTED_DATA), names.CIPHER_VALUE)
        data = bytearray(base64.b64decode("".join((cipher_value.text or "").split())))
        data[-20] ^= 0x55
        cipher_value.text = base64.b64encode(bytes(data)).decode()
        details.add(expect_error(response, ErrorCode.DECRYPTION_FAILED).detail)
    wrong_key = encrypted(certificate_pem=sp_next_key().cert_pem)
    details.add(expect_error(wrong_key, ErrorCode.DECRYPTION_FAILED).detail)
    assert len(details) == 1


def test_two_encrypted_keys_rejected() -> None:
    response = encrypted()
    encrypted_assertion = first(response, names.ENCRYPTED_ASSERTION)
    key = first(response, names.ENCRYPTED_KEY)
    encrypted_assertion.append(etree.fromstring(etree.tostring(key)))
    expect_error(response, ErrorCode.ENCRYPTION_INVALID)


def test_remote_retrieval_method_rejected() -> None:
    response = encrypted(key_outside_key_info=True)
    first(response, names.RETRIEVAL_METHOD).set("URI", "http://127.0.0.1:9/key")
    expect_error(response, ErrorCode.ENCRYPTION_INVALID)


def test_cipher_reference_rejected() -> None:
    response = encrypted()
    cipher_data = first(first(response, names.ENCRYPTED_DATA), names.CIPHER_DATA)
    etree.SubElement(
        cipher_data, names.tag(names.XENC, "CipherReference"), URI="http://127.0.0.1:9/"
    )
    expect_error(response, ErrorCode.ENCRYPTION_INVALID)


def test_encrypted_data_of_other_type_rejected() -> None:
    response = encrypted()
    first(response, names.ENCRYPTED_DATA).set(
        "Type", "http://www.w3.org/2001/04/xmlenc#Content"
    )
    expect_error(response, ErrorCode.ENCRYPTION_INVALID)


# Plaintexts crafted by the sender, encrypted here with AES-GCM and RSA-OAEP


def encrypted_assertion_with(plaintext: bytes) -> etree._Element:
    certificate = x509.load_pem_x509_certificate(sp_key().cert_pem.encode())
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    session_key = os.urandom(32)
    iv = os.urandom(12)
    ciphertext = iv + AESGCM(session_key).encrypt(iv, plaintext, None)
    wrapped = public_key.encrypt(
        session_key,
        # rsa-oaep-mgf1p fixes SHA-1 for OAEP, which is still safe in OAEP.
        padding.OAEP(
            mgf=padding.MGF1(hashes.SHA1()),  # noqa: S303
            algorithm=hashes.SHA1(),  # noqa: S303
            label=None,
        ),
    )
    xml = f"""<saml:EncryptedAssertion xmlns:saml="{names.SAML}">
  <xenc:EncryptedData xmlns:xenc="{names.XENC}" Type="{names.ENCRYPTED_ELEMENT_TYPE}">
    <xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>
    <ds:KeyInfo xmlns:ds="{names.DS}">
      <xenc:EncryptedKey>
        <xenc:EncryptionMethod
            Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>
        <xenc:CipherData><xenc:CipherValue>{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData>
      </xenc:EncryptedKey>
    </ds:KeyInfo>
    <xenc:CipherData><xenc:CipherValue>{base64.b64encode(ciphertext).decode()}</xenc:CipherValue></xenc:CipherData>
  </xenc:EncryptedData>
</saml:EncryptedAssertion>"""
    return etree.fromstring(xml.encode())


def response_around(encrypted_assertion: etree._Element) -> etree._Element:
    response = build_response()
    response.replace(assertion_of(response), encrypted_assertion)
    return parse_xml(to_bytes(response))


def test_decrypted_assertion_replaces_encrypted_in_same_tree() -> None:
    assertion = build_assertion(ResponseSpec())
    response = response_around(encrypted_assertion_with(etree.tostring(assertion)))
    encrypted_element = response.find(names.ENCRYPTED_ASSERTION)
    assert encrypted_element is not None
    decrypted = decrypt_assertion(encrypted_element, [sp_key().key_pem])
    assert decrypted.getparent() is response
    assert response.find(names.ENCRYPTED_ASSERTION) is None
    assert response.find(names.ASSERTION) is decrypted
    assert decrypted.getroottree() is not None
    assert decrypted.findtext(f"{names.SUBJECT}/{names.NAME_ID}") == USER


def test_plaintext_uses_prefix_declared_outside() -> None:
    """The IdP serialized the Assertion without the saml: declaration of the root."""
    plaintext = (
        b'<saml:Assertion ID="_a" Version="2.0"><saml:Issuer>x</saml:Issuer>'
        b"</saml:Assertion>"
    )
    response = response_around(encrypted_assertion_with(plaintext))
    encrypted_element = response.find(names.ENCRYPTED_ASSERTION)
    assert encrypted_element is not None
    decrypted = decrypt_assertion(encrypted_element, [sp_key().key_pem])
    assert decrypted.tag == names.ASSERTION


@pytest.mark.parametrize(
    "plaintext",
    [
        b"<saml:Assertion/><saml:Assertion/>",
        b"<saml:Subject/>",
        b"not xml",
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><saml:Assertion>&x;</saml:Assertion>',
        b"text<saml:Assertion/>",
    ],
)
def test_bad_plaintext_rejected(plaintext: bytes) -> None:
    response = response_around(encrypted_assertion_with(plaintext))
    encrypted_element = response.find(names.ENCRYPTED_ASSERTION)
    assert encrypted_element is not None
    with pytest.raises(SamlError) as raised:
        decrypt_assertion(encrypted_element, [sp_key().key_pem])
    assert raised.value.code == ErrorCode.DECRYPTION_FAILED


def test_non_rsa_or_broken_sp_key_is_skipped() -> None:
    response = encrypted()
    sp = sp_config(decryption_keys=("not a key", sp_key().key_pem))
    assert validate(response, sp=sp).name_id == USER


def test_unrelated_key_pair_fails() -> None:
    other = make_key_pair("other sp")
    expect_error(
        encrypted(),
        ErrorCode.DECRYPTION_FAILED,
        sp=sp_config(decryption_keys=(other.key_pem,)),
    )


def test_wrapping_signed_response_checks_decrypted_structure() -> None:
    """A decrypted Assertion with its own nested Assertion is rejected."""
    assertion = build_assertion(ResponseSpec())
    assertion.append(build_assertion(ResponseSpec(assertion_id="_nested")))
    response = build_response()
    response.replace(
        assertion_of(response), encrypted_assertion_with(etree.tostring(assertion))
    )
    sign(response)
    expect_error(response, ErrorCode.MULTIPLE_ASSERTIONS)


def test_signed_response_with_encrypted_assertion_signs_in_once() -> None:
    response = signed_response(sign_assertion=False)
    encrypt_assertion(response)
    sign(response)
    assert validate(response).name_id == USER
