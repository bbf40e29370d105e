"""SP key pairs: an RSA key and a self-signed certificate for SP metadata."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SP_KEY_SIZE = 3072


@dataclass(frozen=True, slots=True)
class SpKeyPair:
    """An SP private key and its certificate, both PEM."""

    certificate_pem: str
    private_key_pem: str = field(repr=False)


def generate_sp_key_pair(
    common_name: str,
    *,
    valid_for: timedelta = timedelta(days=730),
    now: datetime | None = None,
) -> SpKeyPair:
    """Generate an RSA 3072 key and a SHA-256 self-signed certificate for it.

    IdPs pin the certificate from SP metadata rather than validating a chain, so
    self-signed is the norm. Publish the next pair in metadata before its
    predecessor expires, so IdPs can encrypt to either during the rollover.
    """
    if valid_for <= timedelta(0):
        raise ValueError("valid_for must be positive")
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=SP_KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated a little so an IdP whose clock is behind accepts it at once.
        .not_valid_before(start - timedelta(minutes=5))
        .not_valid_after(start + valid_for)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private_key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SpKeyPair(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=private_key_pem,
    )
