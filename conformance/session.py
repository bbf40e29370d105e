"""HTTP requests shaped exactly as an IdP sends them, and their recorded responses.

The IdP suites need control over details that an HTTP client normally
normalizes: a raw path with a trailing ``?`` or ``&``, a missing or empty
``User-Agent``, a missing ``Content-Type``, an ``Authorization`` header that is
not a bearer token. :class:`ScimSession` sends the path and the headers as
given and records each request with its response in an :class:`Exchange`.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx2

from conformance.target import ScimTarget

SCIM_JSON = "application/scim+json"
BODY_EXCERPT_CHARS = 400
"""Length of a response body quoted in a failure reason."""


class _Default:
    """Marker for "send the session's usual value" in :meth:`ScimSession.send`."""


DEFAULT = _Default()


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request a suite sent and the response it got."""

    method: str
    path: str
    """The path after the SCIM base URL, query string included, as sent."""
    request_body: Any
    status: int
    headers: httpx2.Headers = field(repr=False)
    text: str = field(repr=False)

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def content_type(self) -> str:
        """The response media type in lowercase, without parameters."""
        value = self.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """Return the parsed response body, or None if it is empty or not JSON."""
        if not self.text.strip():
            return None
        try:
            return json.loads(self.text)
        except json.JSONDecodeError:
            return None

    def summary(self) -> str:
        """Describe the exchange in one line for a failure reason."""
        body = " ".join(self.text.split())
        if len(body) > BODY_EXCERPT_CHARS:
            body = body[:BODY_EXCERPT_CHARS] + "..."
        return f"{self.request_line} returned {self.status} {body or '(empty body)'}"


class ScimSession:
    """Send requests to one SCIM service with the headers of one IdP.

    ``user_agent`` None sends no ``User-Agent`` header at all, and the empty
    string sends an empty one. Proxy settings from the environment are
    ignored, so requests go straight to the target.
    """

    def __init__(
        self,
        target: ScimTarget,
        *,
        timeout: float,
        user_agent: str | None,
        accept: str | None = SCIM_JSON,
        content_type: str = SCIM_JSON,
    ) -> None:
        self.target = target
        self.user_agent = user_agent
        self.accept = accept
        self.content_type = content_type
        self._client = httpx2.Client(timeout=timeout, trust_env=False)

    def __enter__(self) -> "ScimSession":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str | None | _Default = DEFAULT,
        authorization: str | None | _Default = DEFAULT,
        user_agent: str | None | _Default = DEFAULT,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send ``method`` to the base URL followed by ``path``, exactly as given.

        ``body`` is serialized as JSON when it is not None. Each header
        argument replaces the session's value for this request, and None
        leaves the header out.

        :raises httpx2.HTTPError: if the request fails before a response.
        """
        url = self.target.base_url.rstrip("/") + path
        content = None if body is None else json.dumps(body).encode()
        chosen = {
            "Authorization": _pick(authorization, f"Bearer {self.target.token}"),
            "User-Agent": _pick(user_agent, self.user_agent),
            "Accept": self.accept,
            "Content-Type": _pick(content_type, self.content_type),
        }
        if content is None and content_type is DEFAULT:
            chosen["Content-Type"] = None

        request = self._client.build_request(method, url, content=content)
        for name, value in chosen.items():
            if value is None:
                request.headers.pop(name, None)
            else:
                request.headers[name] = value
        request.headers.update(headers or {})

        response = self._client.send(request)
        return Exchange(
            method=method,
            path=path,
            request_body=body,
            status=response.status_code,
            headers=response.headers,
            text=response.text,
        )

    def get(self, path: str, **options: Any) -> Exchange:
        return self.send("GET", path, **options)

    def post(self, path: str, body: Any, **options: Any) -> Exchange:
        return self.send("POST", path, body, **options)

    def put(self, path: str, body: Any, **options: Any) -> Exchange:
        return self.send("PUT", path, body, **options)

    def patch(self, path: str, body: Any, **options: Any) -> Exchange:
        return self.send("PATCH", path, body, **options)

    def delete(self, path: str, **options: Any) -> Exchange:
        return self.send("DELETE", path, **options)


def _pick(value: str | None | _Default, default: str | None) -> str | None:
    return default if isinstance(value, _Default) else value


def query(params: Mapping[str, object], *, plus_spaces: bool = False) -> str:
    """Encode ``params`` as a query string that starts with ``?``.

    Spaces become ``%20``, or ``+`` with ``plus_spaces`` as form encoding does.
    """
    quote_via = quote_plus if plus_spaces else quote
    return "?" + urlencode({k: str(v) for k, v in params.items()}, quote_via=quote_via)


def eq_filter(attribute: str, value: str) -> str:
    """Build the filter ``attribute eq "value"``, escaping the value as JSON does."""
    return f"{attribute} eq {json.dumps(value)}"
