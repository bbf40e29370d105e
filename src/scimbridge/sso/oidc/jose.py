"""Typed wrapper around joserfc, authlib's JOSE library: keys, JWS and token hashes.

Only this module imports joserfc. It parses JWS Compact Serialization itself,
so the header can be checked and the key chosen before any signature work,
and calls joserfc's algorithm models directly with keys imported once. No key
is ever taken from a token header (``jwk``, ``jku``, ``x5u``, ``x5c``).
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from joserfc import jws as _jws  # noqa: F401  (importing it registers the algorithms)
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
)
"""JWS algorithms a connection may accept. ``none`` and HMAC (``HS*``) are never
allowed: an ID token must be signed with the provider's asymmetric key."""

MIN_RSA_BITS = 2048
MAX_COMPACT_LENGTH = 32 * 1024
"""Maximum length of a JWS we parse, in characters; real ID tokens are a few KiB."""

# Maps the base64url alphabet onto the standard one, and "+", "/" and "=" onto
# "*", which strict decoding rejects.
_B64URL_TO_STRICT = bytes.maketrans(b"-_+/=", b"+/***")

# Key type and curves each algorithm can use (RFC 7518 section 3, RFC 8037).
_KEY_TYPE = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "EdDSA": "OKP",
}
_CURVES = {"ES256": {"P-256"}, "ES384": {"P-384"}, "EdDSA": {"Ed25519", "Ed448"}}

_MODELS = {name: JWSRegistry.algorithms[name] for name in ALLOWED_ALGORITHMS}
# RSASSA-PKCS1-v1_5 (RFC 7518 section 3.3) is verified with cryptography directly.
# The padding and hash objects contain no state, so one of each serves every call.
_PKCS1_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
_PKCS1 = padding.PKCS1v15()
_IMPORTERS: dict[str, type[RSAKey] | type[ECKey] | type[OKPKey]] = {
    "RSA": RSAKey,
    "EC": ECKey,
    "OKP": OKPKey,
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

MAX_CACHED_HEADERS = 256
_HEADER_CACHE: dict[str, Mapping[str, Any]] = {}


class MalformedJws(ValueError):
    """A value that is not a JWS Compact Serialization we can parse."""


class UnusableKey(ValueError):
    """A JWK that cannot verify signatures with any allowed algorithm."""


def b64url_decode(segment: str) -> bytes:
    """Decode unpadded base64url, as JWS segments and JWK members use.

    Raises MalformedJws for any character outside the base64url alphabet,
    padding included. Unused low bits in the last character are not checked,
    which is harmless for JWS because the signature covers the encoded text.
    """
    try:
        data = segment.encode("ascii").translate(_B64URL_TO_STRICT)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error) as error:
        raise MalformedJws("a segment is not valid unpadded base64url") from error


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CompactJws(NamedTuple):
    """A parsed, not yet verified, JWS Compact Serialization."""

    header: Mapping[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def parse_compact(token: str) -> CompactJws:
    """Split and decode a JWS Compact Serialization without checking its signature.

    Raises MalformedJws for anything else, including JWE (five segments), an
    empty signature (the unsecured ``alg: none`` form) and a header that is not
    a JSON object with a string ``alg``. The returned header may be shared
    with other tokens and must not be changed.
    """
    if len(token) > MAX_COMPACT_LENGTH:
        raise MalformedJws(f"the token is longer than {MAX_COMPACT_LENGTH} characters")
    segments = token.split(".")
    if len(segments) != 3 or not all(segments):
        raise MalformedJws(
            "the token is not a JWS Compact Serialization of three non-empty "
            "base64url segments"
        )
    header_segment, payload_segment, signature_segment = segments

    signing_input = token[: len(header_segment) + 1 + len(payload_segment)]
    return CompactJws(
        _parse_header(header_segment),
        b64url_decode(payload_segment),
        signing_input.encode("ascii"),
        b64url_decode(signature_segment),
    )


def _parse_header(segment: str) -> Mapping[str, Any]:
    # A provider signs with a few keys, so its tokens repeat a few headers.
    # Caching them by segment skips a base64 and a JSON decode per token.
    header = _HEADER_CACHE.get(segment)
    if header is not None:
        return header
    try:
        header = json_decode(b64url_decode(segment))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedJws("the JOSE header is not valid JSON") from error
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise MalformedJws("the JOSE header is not a JSON object with a string alg")

    if len(_HEADER_CACHE) >= MAX_CACHED_HEADERS:
        _HEADER_CACHE.clear()
    _HEADER_CACHE[segment] = header
    return header


def json_decode(data: bytes) -> Any:
    """Decode UTF-8 JSON (RFC 8259), raising json.JSONDecodeError for anything else.

    orjson is stricter than the standard library, which suits tokens, because it
    rejects invalid UTF-8, lone surrogates, NaN and Infinity. It returns an
    integer beyond 64 bits as a float (orjson 3.13), and rejects one beyond the
    float range.
    """
    return orjson.loads(data)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A provider's public signing key, imported once from its JWKS.

    ``algorithms`` lists the allowed algorithms this key can verify: those of
    its key type and curve, narrowed to the JWK ``alg`` when the JWK has one.
    """

    kid: str | None
    kty: str
    crv: str | None
    algorithms: frozenset[str]
    _key: RSAKey | ECKey | OKPKey = field(repr=False, compare=False)
    _rsa: rsa.RSAPublicKey | None = field(default=None, repr=False, compare=False)
    """The public key of an RSA JWK, for PKCS#1 v1.5 verification without joserfc."""

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is valid over ``signing_input`` for ``alg``.

        Returns False for an algorithm outside ``algorithms``.
        """
        if alg not in self.algorithms:
            return False
        pkcs1_hash = _PKCS1_HASHES.get(alg)
        if pkcs1_hash is not None and self._rsa is not None:
            try:
                self._rsa.verify(signature, signing_input, _PKCS1, pkcs1_hash)
            except InvalidSignature:
                return False
            return True
        try:
            return bool(_MODELS[alg].verify(signing_input, signature, self._key))
        except (JoseError, ValueError):
            return False


def import_verification_key(
    jwk: Mapping[str, Any], allowed: frozenset[str]
) -> VerificationKey:
    """Import one JWK of a provider's JWKS for signature verification.

    Raises UnusableKey, naming the reason, for a key this relying party must
    not use. Such keys have a ``use`` other than ``sig``, ``key_ops``
    without ``verify``, an ``alg`` outside ``allowed``, private or symmetric
    key material, an unknown key type or curve, or an RSA modulus under 2048
    bits.
    """
    kty = jwk.get("kty")
    if kty not in _IMPORTERS:
        raise UnusableKey(f"key type {kty!r} is not RSA, EC or OKP")
    if jwk.get("use", "sig") != "sig":
        raise UnusableKey(f"use is {jwk.get('use')!r}, not 'sig'")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (
        not isinstance(key_ops, list) or "verify" not in key_ops
    ):
        raise UnusableKey("key_ops does not include 'verify'")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise UnusableKey("the JWK contains private key members")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise UnusableKey("kid is not a string")

    declared_alg = jwk.get("alg")
    candidates = {name for name in allowed if _KEY_TYPE[name] == kty}
    if declared_alg is not None:
        if declared_alg not in allowed:
            raise UnusableKey(f"alg {declared_alg!r} is not allowed")
        candidates &= {declared_alg}

    if kty == "RSA":
        _check_rsa_modulus(jwk.get("n"))
    crv = jwk.get("crv") if kty != "RSA" else None
    candidates = {
        name for name in candidates if name not in _CURVES or crv in _CURVES[name]
    }
    if not candidates:
        raise UnusableKey(f"no allowed algorithm uses a {kty} key with curve {crv!r}")

    try:
        key = _IMPORTERS[kty].import_key(dict(jwk))
        public = key.get_op_key("verify") if kty == "RSA" else None
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise UnusableKey(f"the key values are invalid: {error}") from error
    return VerificationKey(
        kid,
        kty,
        crv,
        frozenset(candidates),
        key,
        public if isinstance(public, rsa.RSAPublicKey) else None,
    )


def _check_rsa_modulus(modulus: object) -> None:
    if not isinstance(modulus, str):
        raise UnusableKey("RSA key has no modulus n")
    try:
        bits = int.from_bytes(b64url_decode(modulus), "big").bit_length()
    except MalformedJws as error:
        raise UnusableKey("RSA modulus n is not base64url") from error
    if bits < MIN_RSA_BITS:
        raise UnusableKey(
            f"RSA modulus has {bits} bits; at least {MIN_RSA_BITS} needed"
        )


class SigningKey:
    """A private key of this relying party, for ``private_key_jwt`` client assertions.

    The repr never shows key material.
    """

    def __init__(self, private_pem: bytes | str, *, alg: str, kid: str | None) -> None:
        """Load an unencrypted PEM private key to sign with ``alg``.

        Raises ValueError when the PEM is not a private key of a type and size
        that ``alg`` can use.
        """
        if alg not in ALLOWED_ALGORITHMS:
            raise ValueError(f"client assertion alg {alg!r} is not allowed")
        data = private_pem.encode() if isinstance(private_pem, str) else private_pem
        native = serialization.load_pem_private_key(data, password=None)
        self._key = _wrap_private_key(native)
        if isinstance(native, rsa.RSAPrivateKey) and native.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA signing key must have at least {MIN_RSA_BITS} bits")
        try:
            _MODELS[alg].check_key(self._key)
        except JoseError as error:
            raise ValueError(f"the private key cannot sign with {alg}") from error
        self.alg = alg
        self.kid = kid

    def __repr__(self) -> str:
        return f"SigningKey(alg={self.alg!r}, kid={self.kid!r})"

    def public_jwk(self) -> dict[str, Any]:
        """Return the public JWK to register with the provider."""
        jwk: dict[str, Any] = dict(self._key.as_dict(private=False))
        jwk.update({"use": "sig", "alg": self.alg})
        if self.kid is not None:
            jwk["kid"] = self.kid
        return jwk

    def sign_jwt(self, claims: Mapping[str, Any]) -> str:
        """Return a compact JWS of ``claims`` signed with this key."""
        header: dict[str, Any] = {"alg": self.alg, "typ": "JWT"}
        if self.kid is not None:
            header["kid"] = self.kid
        header_segment = b64url_encode(json.dumps(header).encode())
        payload_segment = b64url_encode(json.dumps(dict(claims)).encode())
        signing_input = f"{header_segment}.{payload_segment}"
        signature = _MODELS[self.alg].sign(signing_input.encode("ascii"), self._key)
        return f"{signing_input}.{b64url_encode(signature)}"


def _wrap_private_key(native: object) -> RSAKey | ECKey | OKPKey:
    if isinstance(native, rsa.RSAPrivateKey):
        return RSAKey.import_key(native)
    if isinstance(native, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(native)
    if isinstance(native, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return OKPKey.import_key(native)
    raise ValueError("the PEM is not an RSA, EC, Ed25519 or Ed448 private key")


def half_hash(value: str, alg: str, crv: str | None) -> str:
    """Compute an ``at_hash`` style value: base64url of the left half of the hash.

    The hash is the one of ``alg`` (OpenID Connect Core 1.0 section 3.1.3.6).
    ``EdDSA`` does not name a hash, so the curve picks it, as the OpenID Connect
    Token Hash Algorithms guide states: SHA-512 for Ed25519 and SHAKE256 with
    114 bytes of output for Ed448.
    """
    data = value.encode()
    if alg == "EdDSA":
        if crv == "Ed448":
            digest = hashlib.shake_256(data).digest(114)
        else:
            digest = hashlib.sha512(data).digest()
    else:
        digest = hashlib.new(f"sha{alg[2:]}", data).digest()
    return b64url_encode(digest[: len(digest) // 2])
