"""A test OpenID Provider on respx routes, with its own throw-away keys.

It serves discovery, a JWKS, a token endpoint that checks the authorization
code, the PKCE verifier and the client authentication as a real provider
does, and a UserInfo endpoint. Tokens are signed here with ``cryptography``
directly, not with the code under test, so a bug in scimbridge's JOSE wrapper
cannot make both sides agree.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import httpx
import respx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ISSUER = "http://127.0.0.1:9400"
CLIENT_ID = "scimbridge-acme"
CLIENT_SECRET = "s3cr:et%+/with=odd&chars"
REDIRECT_URI = "https://sso.scimbridge.test/oidc/callback/conn-acme"
SUBJECT = "00u1abcd"

RSAPrivateKey = rsa.RSAPrivateKey
ECPrivateKey = ec.EllipticCurvePrivateKey
Ed25519PrivateKey = ed25519.Ed25519PrivateKey
PrivateKey = RSAPrivateKey | ECPrivateKey | Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int, length: int | None = None) -> str:
    size = length or (value.bit_length() + 7) // 8
    return b64url(value.to_bytes(size, "big"))


def public_jwk(key: PrivateKey, kid: str | None, alg: str | None) -> dict[str, Any]:
    """Return the public JWK of ``key``, built from the key numbers."""
    jwk: dict[str, Any]
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        point = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": _int_b64(point.x, size),
            "y": _int_b64(point.y, size),
        }
    else:
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    jwk["use"] = "sig"
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def _hash(alg: str) -> hashes.HashAlgorithm:
    return {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[
        alg[2:]
    ]


def raw_sign(alg: str, key: PrivateKey | bytes, data: bytes) -> bytes:
    """Sign ``data`` for ``alg``; for HS* the key is the HMAC secret bytes."""
    if alg.startswith("HS"):
        assert isinstance(key, bytes)
        return hmac.new(key, data, f"sha{alg[2:]}").digest()
    if alg.startswith("RS"):
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), _hash(alg))
    if alg.startswith("PS"):
        assert isinstance(key, rsa.RSAPrivateKey)
        digest = _hash(alg)
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return key.sign(data, pss, digest)
    if alg.startswith("ES"):
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_hash(alg))))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(data)


def sign_jws(
    header: dict[str, Any], claims: dict[str, Any], key: PrivateKey | bytes | None
) -> str:
    """Return a compact JWS; with ``key`` None, an unsecured token (empty signature)."""
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    )
    if key is None:
        return signing_input + "."
    signature = raw_sign(header["alg"], key, signing_input.encode("ascii"))
    return signing_input + "." + b64url(signature)


def left_half_hash(value: str, alg: str) -> str:
    if alg == "EdDSA":
        digest = hashlib.sha512(value.encode()).digest()
    else:
        digest = hashlib.new(f"sha{alg[2:]}", value.encode()).digest()
    return b64url(digest[: len(digest) // 2])


def _verify_assertion(token: str, key: PrivateKey, alg: str) -> dict[str, Any] | None:
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") != alg:
        return None
    data = f"{header_b64}.{payload_b64}".encode("ascii")
    signature = b64url_decode(signature_b64)
    try:
        if isinstance(key, rsa.RSAPrivateKey):
            key.public_key().verify(signature, data, padding.PKCS1v15(), _hash(alg))
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            half = len(signature) // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"),
                int.from_bytes(signature[half:], "big"),
            )
            key.public_key().verify(der, data, ec.ECDSA(_hash(alg)))
        else:
            key.public_key().verify(signature, data)
    except InvalidSignature:
        return None
    claims: dict[str, Any] = json.loads(b64url_decode(payload_b64))
    return claims


@dataclass
class IssuedCode:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str


@dataclass
class ProviderKeys:
    """Throw-away signing keys, generated once per test session."""

    rsa: RSAPrivateKey
    rsa_next: RSAPrivateKey
    ec: ECPrivateKey
    ed: Ed25519PrivateKey
    attacker: RSAPrivateKey
    client_rsa: RSAPrivateKey

    @classmethod
    def generate(cls) -> "ProviderKeys":
        def new_rsa() -> rsa.RSAPrivateKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)

        return cls(
            rsa=new_rsa(),
            rsa_next=new_rsa(),
            ec=ec.generate_private_key(ec.SECP256R1()),
            ed=ed25519.Ed25519PrivateKey.generate(),
            attacker=new_rsa(),
            client_rsa=new_rsa(),
        )


@dataclass
class TestProvider:
    """The provider's state and routes; tests change its fields to misbehave."""

    __test__ = False  # not a test class, despite the name

    keys: ProviderKeys
    now: Callable[[], float]
    issuer: str = ISSUER
    client_auth_method: str = "client_secret_basic"
    signing: str = "rsa"
    """Which key signs ID tokens: 'rsa', 'ec' or 'ed'."""
    iss_parameter_supported: bool = False
    send_iss: bool = True
    discovery: dict[str, Any] = field(default_factory=dict)
    jwks: list[Any] = field(default_factory=list)
    claim_changes: dict[str, Any] = field(default_factory=dict)
    """Claims to add or replace in the next ID tokens; a value of REMOVE deletes."""
    header_changes: dict[str, Any] = field(default_factory=dict)
    id_token_override: str | None = None
    token_response_override: httpx.Response | None = None
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    used_jtis: set[str] = field(default_factory=set)
    token_requests: list[httpx.Request] = field(default_factory=list)
    router: respx.MockRouter = field(
        default_factory=lambda: respx.MockRouter(assert_all_called=False)
    )

    REMOVE = object()

    def __post_init__(self) -> None:
        self.discovery = self.discovery_document()
        self.jwks = [
            public_jwk(self.keys.rsa, "rsa-1", "RS256"),
            public_jwk(self.keys.ec, "ec-1", "ES256"),
            public_jwk(self.keys.ed, "ed-1", "EdDSA"),
        ]
        self.userinfo_claims = {
            "sub": SUBJECT,
            "email": "jane.doe@acme.example",
            "email_verified": True,
            "name": "Jane Doe",
        }
        self.discovery_route = self.router.get(
            f"{self.issuer}/.well-known/openid-configuration"
        ).mock(side_effect=lambda request: httpx.Response(200, json=self.discovery))
        self.jwks_route = self.router.get(f"{self.issuer}/jwks").mock(
            side_effect=lambda request: httpx.Response(200, json={"keys": self.jwks})
        )
        self.token_route = self.router.post(f"{self.issuer}/token").mock(
            side_effect=self._token_endpoint
        )
        self.userinfo_route = self.router.get(f"{self.issuer}/userinfo").mock(
            side_effect=self._userinfo_endpoint
        )

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": (
                self.iss_parameter_supported
            ),
        }

    def client(self) -> httpx.AsyncClient:
        """Return a client whose only transport is this provider's routes."""
        return httpx.AsyncClient(
            transport=httpx.MockTransport(self.router.async_handler)
        )

    # The authorization endpoint: a user who signs in at once.

    def authorize(self, url: str) -> dict[str, str]:
        """Accept the authorization request and return the callback parameters."""
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        code = secrets.token_urlsafe(24)
        self.codes[code] = IssuedCode(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            nonce=query.get("nonce"),
            code_challenge=query["code_challenge"],
            code_challenge_method=query["code_challenge_method"],
        )
        params = {"code": code, "state": query["state"]}
        if self.send_iss:
            params["iss"] = self.issuer
        return params

    # ID tokens.

    def signing_key(self) -> tuple[PrivateKey, str, str]:
        choices: dict[str, tuple[PrivateKey, str, str]] = {
            "rsa": (self.keys.rsa, "rsa-1", "RS256"),
            "ec": (self.keys.ec, "ec-1", "ES256"),
            "ed": (self.keys.ed, "ed-1", "EdDSA"),
        }
        return choices[self.signing]

    def id_token_claims(
        self, nonce: str | None, access_token: str | None = None
    ) -> dict[str, Any]:
        now = int(self.now())
        _, _, alg = self.signing_key()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": SUBJECT,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "auth_time": now - 5,
            "email": "jane.doe@acme.example",
            "email_verified": True,
            "groups": ["engineering", "admins"],
            "amr": ["pwd", "mfa"],
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["at_hash"] = left_half_hash(access_token, alg)
        for name, value in self.claim_changes.items():
            if value is self.REMOVE:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def make_id_token(self, nonce: str | None, access_token: str | None = None) -> str:
        """Sign an ID token with the current key choice and changes applied."""
        key, kid, alg = self.signing_key()
        header: dict[str, Any] = {"alg": alg, "kid": kid, "typ": "JWT"}
        header.update(self.header_changes)
        return sign_jws(header, self.id_token_claims(nonce, access_token), key)

    # The token endpoint.

    def _token_error(self, status: int, error: str) -> httpx.Response:
        return httpx.Response(status, json={"error": error})

    def _token_endpoint(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        form = dict(parse_qsl(request.content.decode()))
        client_id = self._authenticate_client(request, form)
        if client_id is None:
            return self._token_error(401, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            return self._token_error(400, "unsupported_grant_type")

        issued = self.codes.pop(form.get("code", ""), None)
        if issued is None or issued.client_id != client_id:
            return self._token_error(400, "invalid_grant")
        if form.get("redirect_uri") != issued.redirect_uri:
            return self._token_error(400, "invalid_grant")
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if issued.code_challenge_method != "S256" or challenge != issued.code_challenge:
            return self._token_error(400, "invalid_grant")

        if self.token_response_override is not None:
            return self.token_response_override
        access_token = "at-" + secrets.token_urlsafe(24)
        id_token = self.id_token_override or self.make_id_token(
            issued.nonce, access_token
        )
        return httpx.Response(
            200,
            json={
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    def _authenticate_client(
        self, request: httpx.Request, form: dict[str, str]
    ) -> str | None:
        """Return the authenticated client_id, or None, for the configured method."""
        method = self.client_auth_method
        authorization = request.headers.get("authorization", "")
        if method == "client_secret_basic":
            if not authorization.startswith("Basic ") or "client_secret" in form:
                return None
            decoded = base64.b64decode(authorization[6:]).decode()
            user, _, password = decoded.partition(":")
            client_id, secret = unquote_plus(user), unquote_plus(password)
            ok = client_id == CLIENT_ID and secret == CLIENT_SECRET
            return client_id if ok else None
        if authorization:
            return None
        if method == "client_secret_post":
            ok = (
                form.get("client_id") == CLIENT_ID
                and form.get("client_secret") == CLIENT_SECRET
            )
            return CLIENT_ID if ok else None
        return self._authenticate_assertion(form)

    def _authenticate_assertion(self, form: dict[str, str]) -> str | None:
        assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        if form.get("client_assertion_type") != assertion_type:
            return None
        claims = _verify_assertion(
            form.get("client_assertion", ""), self.keys.client_rsa, "RS256"
        )
        if claims is None:
            return None
        now = self.now()
        valid = (
            claims.get("iss") == CLIENT_ID
            and claims.get("sub") == CLIENT_ID
            and claims.get("aud") == f"{self.issuer}/token"
            and isinstance(claims.get("exp"), int)
            and claims["exp"] > now
            and claims["exp"] - claims.get("iat", 0) <= 300
            and isinstance(claims.get("jti"), str)
            and claims["jti"] not in self.used_jtis
        )
        if not valid:
            return None
        self.used_jtis.add(claims["jti"])
        return CLIENT_ID

    # The UserInfo endpoint.

    def _userinfo_endpoint(self, request: httpx.Request) -> httpx.Response:
        if not request.headers.get("authorization", "").startswith("Bearer at-"):
            return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
        return httpx.Response(200, json=self.userinfo_claims)
