"""Compact JWS signing and verification for tokens this provider issues.

Tokens are RS256 (RFC 7518 section 3.3) with a ``kid``. Verification accepts
only that algorithm and only keys this provider published, chosen by
``kid``; nothing in a token header selects a key source.
"""

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 16 * 1024
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class InvalidToken(ValueError):
    """A token that is malformed, signed by an unknown key or not verifiable."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    if "=" in value:
        raise InvalidToken("padding in base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("invalid base64url") from exc


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def sign(
    claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str, typ: str = "JWT"
) -> str:
    header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}"
    signature = key.sign(signing_input.encode("ascii"), _PKCS1, _SHA256)
    return f"{signing_input}.{b64url(signature)}"


def read_header(token: str) -> dict[str, Any]:
    """Return the protected header of a compact JWS after checking its shape."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2 or not token.isascii():
        raise InvalidToken("not a compact JWS")
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidToken("header is not JSON") from exc
    if not isinstance(header, dict):
        raise InvalidToken("header is not a JSON object")
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise InvalidToken("unexpected algorithm or missing kid")
    if "crit" in header:
        raise InvalidToken("critical header parameters are not supported")
    return header


def verify(token: str, key: rsa.RSAPublicKey) -> dict[str, Any]:
    """Verify the signature of a token whose header passed ``read_header``.

    Returns the claims.
    """
    signing_input, _, signature = token.rpartition(".")
    try:
        key.verify(
            b64url_decode(signature), signing_input.encode("ascii"), _PKCS1, _SHA256
        )
    except InvalidSignature as exc:
        raise InvalidToken("signature does not verify") from exc
    try:
        claims = json.loads(b64url_decode(signing_input.split(".", 1)[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidToken("payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("payload is not a JSON object")
    return claims
