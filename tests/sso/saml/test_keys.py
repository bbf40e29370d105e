"""SP key pairs for signing AuthnRequests and decrypting assertions."""

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scimbridge.sso.saml.keys import SP_KEY_SIZE, SpKeyPair, generate_sp_key_pair
from tests.sso.saml.idp import NOW


@pytest.fixture(scope="module")
def pair() -> SpKeyPair:
    return generate_sp_key_pair(
        "sso.scimbridge.example", valid_for=timedelta(days=90), now=NOW
    )


def test_key_is_rsa_3072(pair: SpKeyPair) -> None:
    key = serialization.load_pem_private_key(pair.private_key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == SP_KEY_SIZE == 3072


def test_certificate_is_self_signed_sha256(pair: SpKeyPair) -> None:
    certificate = x509.load_pem_x509_certificate(pair.certificate_pem.encode())
    assert certificate.subject == certificate.issuer
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert certificate.signature_hash_algorithm is not None
    public_key.verify(
        certificate.signature,
        certificate.tbs_certificate_bytes,
        padding.PKCS1v15(),
        certificate.signature_hash_algorithm,
    )


def test_certificate_matches_key(pair: SpKeyPair) -> None:
    key = serialization.load_pem_private_key(pair.private_key_pem.encode(), None)
    certificate = x509.load_pem_x509_certificate(pair.certificate_pem.encode())
    assert certificate.public_key() == key.public_key()


def test_validity_period(pair: SpKeyPair) -> None:
    certificate = x509.load_pem_x509_certificate(pair.certificate_pem.encode())
    assert certificate.not_valid_after_utc == NOW + timedelta(days=90)
    assert certificate.not_valid_before_utc <= NOW


def test_repr_hides_private_key(pair: SpKeyPair) -> None:
    assert "PRIVATE KEY" not in repr(pair)


def test_validity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        generate_sp_key_pair("x", valid_for=timedelta(0))
