"""The authorization request: checked in the order that keeps redirects safe.

The client and the redirect URI are checked first; while either is in doubt
the browser gets an error page and is never redirected (RFC 6749 section
4.1.2.1, RFC 9700 section 4.1). Every later error goes back to the
validated redirect URI with ``state`` and ``iss`` (RFC 9207).
"""

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from scimbridge.provider.claims import SCOPES
from scimbridge.provider.clients import AppClient
from scimbridge.provider.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    RedirectUnsafe,
    RequestNotSupportedError,
    RequestURINotSupportedError,
    UnsupportedResponseTypeError,
)

CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
"""An S256 challenge: the base64url SHA-256 of the verifier, without padding."""
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
MAX_STATE_LENGTH = 1024
MAX_NONCE_LENGTH = 512
MAX_HINT_LENGTH = 256
SINGLE_VALUED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "organization",
    "domain_hint",
)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked authorization request (OpenID Connect Core 1.0, 3.1.2.1)."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    organization: str | None = None
    domain_hint: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["scope"] = list(self.scope)
        data["prompt"] = sorted(self.prompt)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> "AuthorizationRequest":
        data: dict[str, Any] = json.loads(raw)
        data["scope"] = tuple(data["scope"])
        data["prompt"] = frozenset(data["prompt"])
        return cls(**data)


def single_values(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Collect the parameters and mark repeated ones, which RFC 6749 3.1 forbids."""
    params: dict[str, str] = {}
    repeated = set()
    for name, value in items:
        if name in params:
            repeated.add(name)
        params[name] = value
    if repeated & set(SINGLE_VALUED):
        params["__repeated__"] = ",".join(sorted(repeated & set(SINGLE_VALUED)))
    return params


def check_redirect(client: AppClient | None, params: dict[str, str]) -> str:
    """Return the validated redirect URI, or raise ``RedirectUnsafe``."""
    if client is None or not client.enabled:
        raise RedirectUnsafe(
            "authorize.unknown_client", "unknown or disabled client_id"
        )
    repeated = params.get("__repeated__", "").split(",")
    if "client_id" in repeated or "redirect_uri" in repeated:
        raise RedirectUnsafe(
            "authorize.repeated_parameter", "client_id or redirect_uri is repeated"
        )
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise RedirectUnsafe(
            "authorize.missing_redirect_uri", "redirect_uri is required"
        )
    if not client.accepts_redirect_uri(redirect_uri):
        raise RedirectUnsafe(
            "authorize.unregistered_redirect_uri",
            "redirect_uri is not registered for this client",
        )
    return redirect_uri


def parse_request(
    client: AppClient, redirect_uri: str, params: dict[str, str]
) -> AuthorizationRequest:
    """Check the rest of the request. Its errors go back to ``redirect_uri``."""
    if params.get("__repeated__"):
        raise InvalidRequestError(f"parameters repeated: {params['__repeated__']}")
    if "request" in params:
        raise RequestNotSupportedError()
    if "request_uri" in params:
        raise RequestURINotSupportedError()
    if params.get("response_type") != "code":
        raise UnsupportedResponseTypeError("only response_type=code is supported")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("only response_mode=query is supported")

    scope = tuple(dict.fromkeys((params.get("scope") or "").split()))
    if "openid" not in scope:
        raise InvalidScopeError("scope must include openid")
    unknown = set(scope) - SCOPES
    if unknown:
        raise InvalidScopeError(f"unknown scope: {' '.join(sorted(unknown))}")

    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE, RFC 7636)")
    if method != "S256":
        raise InvalidRequestError("code_challenge_method must be S256")
    if CODE_CHALLENGE.fullmatch(challenge) is None:
        raise InvalidRequestError("code_challenge is not an S256 challenge")

    state = params.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise InvalidRequestError("state is too long")
    nonce = params.get("nonce")
    if nonce is not None and not 0 < len(nonce) <= MAX_NONCE_LENGTH:
        raise InvalidRequestError("nonce must be 1 to 512 characters")

    prompt = frozenset((params.get("prompt") or "").split())
    if not prompt <= PROMPT_VALUES or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequestError(
            "prompt must be none alone, or login, consent, select_account"
        )
    max_age = None
    if params.get("max_age") is not None:
        raw = params["max_age"]
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidRequestError("max_age must be a whole number of seconds")
        max_age = int(raw)

    hints = {}
    for name in ("login_hint", "organization", "domain_hint"):
        value = params.get(name)
        if value is not None and (
            not value or len(value) > MAX_HINT_LENGTH or not value.isprintable()
        ):
            raise InvalidRequestError(f"{name} must be 1 to 256 printable characters")
        hints[name] = value

    return AuthorizationRequest(
        client_id=client.id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        **hints,
    )


def redirect_with(redirect_uri: str, params: dict[str, str]) -> str:
    """Add ``params`` to the redirect URI's query, keeping its own query."""
    parts = urlsplit(redirect_uri)
    query = urlencode(params)
    merged = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, merged, ""))


def error_redirect(
    redirect_uri: str, error: OAuth2Error, state: str | None, issuer: str
) -> str:
    params = {"error": str(error.error)}
    if error.description:
        params["error_description"] = str(error.description)
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return redirect_with(redirect_uri, params)
