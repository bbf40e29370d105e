"""The SAML HTTP-Redirect binding: DEFLATE, base64, query string, and the
query-string signature.
"""

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scimbridge.sso.saml import algorithms
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.xml import DEFAULT_LIMITS, XmlLimits, decode_base64, inflate

MESSAGE_PARAMETERS = ("SAMLRequest", "SAMLResponse")
BINDING_PARAMETERS = (*MESSAGE_PARAMETERS, "RelayState", "SigAlg", "Signature")
MAX_RELAY_STATE_BYTES = 80
"""SAML Bindings limits RelayState to 80 bytes."""

_SIG_ALG_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    algorithms.RSA_SHA256: hashes.SHA256,
    algorithms.RSA_SHA384: hashes.SHA384,
    algorithms.RSA_SHA512: hashes.SHA512,
}


def encode_message(xml: bytes) -> str:
    """DEFLATE (raw, no zlib header) and base64-encode a message."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def decode_message(value: str, limits: XmlLimits = DEFAULT_LIMITS) -> bytes:
    """Reverse :func:`encode_message` for a URL-decoded parameter, within limits.

    :raises SamlError: ``saml.message_too_large``, ``saml.base64_invalid`` or
        ``saml.deflate_invalid``.
    """
    # DEFLATE cannot shrink data below about 1/1032, so the compressed input is
    # bounded by the same limit as the XML it inflates to.
    compressed = decode_base64(value, max_bytes=limits.max_xml_bytes)
    return inflate(compressed, max_bytes=limits.max_xml_bytes)


def build_redirect_url(
    destination: str,
    xml: bytes,
    *,
    parameter: str = "SAMLRequest",
    relay_state: str | None = None,
    signing_key_pem: str | None = None,
) -> str:
    """Return ``destination`` with the encoded message, RelayState and signature.

    With ``signing_key_pem`` the query is signed with RSA-SHA256 over
    ``SAMLRequest=...&RelayState=...&SigAlg=...`` exactly as sent.
    """
    if parameter not in MESSAGE_PARAMETERS:
        raise ValueError(f"parameter must be one of {MESSAGE_PARAMETERS}")
    query = f"{parameter}={_quote(encode_message(xml))}"
    if relay_state is not None:
        if len(relay_state.encode()) > MAX_RELAY_STATE_BYTES:
            raise ValueError(
                f"relay_state must be at most {MAX_RELAY_STATE_BYTES} bytes; store "
                "the return target server-side and send its key instead"
            )
        query += f"&RelayState={_quote(relay_state)}"
    if signing_key_pem is not None:
        query += f"&SigAlg={_quote(algorithms.RSA_SHA256)}"
        signature = _rsa_key(signing_key_pem).sign(
            query.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        query += f"&Signature={_quote(base64.b64encode(signature).decode())}"
    separator = "&" if "?" in destination else "?"
    return destination + separator + query


@dataclass(frozen=True, slots=True)
class SignedQuery:
    """The URL-decoded parameters of an HTTP-Redirect query whose signature verified."""

    message: str
    """The value of SAMLRequest or SAMLResponse, still DEFLATEd and base64-encoded."""
    relay_state: str | None


def verify_redirect_signature(
    raw_query: str, certificates: Sequence[str], *, allow_sha1: bool = False
) -> SignedQuery:
    """Verify a signed HTTP-Redirect query string and return what the signature covers.

    The signed string is rebuilt from the parameters exactly as received, never
    re-encoded: IdPs differ in percent-encoding (Entra ID and ADFS use lowercase
    hex), and re-encoding would change the bytes they signed. Callers read the
    message and RelayState from the returned value only, because a web
    framework's query parser decodes parameter names and would take an unsigned
    ``Relay%53tate`` for the RelayState.

    :raises SamlError: ``saml.redirect_signature_invalid``, or
        ``saml.algorithm_rejected`` / ``saml.sha1_rejected`` for SigAlg.
    """
    parameters = _raw_parameters(raw_query)
    message = [name for name in MESSAGE_PARAMETERS if name in parameters]
    if len(message) != 1 or "SigAlg" not in parameters or "Signature" not in parameters:
        raise _invalid(
            "the query must have one of SAMLRequest or SAMLResponse, SigAlg and "
            "Signature"
        )
    sig_alg = unquote_plus(parameters["SigAlg"])
    digest = _digest_for(sig_alg, allow_sha1)
    signed = f"{message[0]}={parameters[message[0]]}"
    if "RelayState" in parameters:
        signed += f"&RelayState={parameters['RelayState']}"
    signed += f"&SigAlg={parameters['SigAlg']}"
    try:
        signature = base64.b64decode(
            unquote_plus(parameters["Signature"]), validate=True
        )
    except binascii.Error as exc:
        raise _invalid("the Signature parameter is not valid base64") from exc
    for certificate in certificates:
        public_key = x509.load_pem_x509_certificate(certificate.encode()).public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            continue
        try:
            public_key.verify(signature, signed.encode(), padding.PKCS1v15(), digest())
        except InvalidSignature:
            continue
        relay_state = parameters.get("RelayState")
        return SignedQuery(
            message=unquote_plus(parameters[message[0]]),
            relay_state=None if relay_state is None else unquote_plus(relay_state),
        )
    raise _invalid(
        "the query signature does not verify with any configured IdP certificate"
    )


def _raw_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in raw_query.lstrip("?").split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if name not in BINDING_PARAMETERS and unquote(name) in BINDING_PARAMETERS:
            raise _invalid(f"the query has the parameter {name[:40]!r} percent-encoded")
        if name in parameters:
            raise _invalid(f"the query has the parameter {name[:40]!r} twice")
        parameters[name] = value
    return parameters


def _digest_for(sig_alg: str, allow_sha1: bool) -> type[hashes.HashAlgorithm]:
    if sig_alg == algorithms.RSA_SHA1:
        if allow_sha1:
            return hashes.SHA1
        raise SamlError(
            ErrorCode.SHA1_REJECTED,
            "the query is signed with rsa-sha1; configure the IdP to use RSA-SHA256",
        )
    if sig_alg not in _SIG_ALG_HASHES:
        raise SamlError(
            ErrorCode.ALGORITHM_REJECTED,
            f"SigAlg {sig_alg[:100]!r} is not allowed; use RSA-SHA256",
        )
    return _SIG_ALG_HASHES[sig_alg]


def _rsa_key(key_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the SP signing key must be an RSA key")
    return key


def _quote(value: str) -> str:
    return quote(value, safe="")


def _invalid(detail: str) -> SamlError:
    return SamlError(ErrorCode.REDIRECT_SIGNATURE_INVALID, detail)
