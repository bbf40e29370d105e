"""The UserInfo request: same subject, JSON only, and the transport limits."""

import httpx
import pytest

from scimbridge.sso.oidc import (
    ErrorCode,
    JwksCache,
    OidcError,
    ProviderHttp,
    fetch_userinfo,
)
from tests.sso.oidc.conftest import SETTINGS, FakeClock, discover_rp, make_metadata
from tests.sso.oidc.provider import SUBJECT, TestProvider

pytestmark = pytest.mark.anyio

ACCESS_TOKEN = "at-userinfo-token"


async def userinfo_error(http: ProviderHttp, code: ErrorCode) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await fetch_userinfo(
            http, make_metadata(), access_token=ACCESS_TOKEN, subject=SUBJECT
        )
    assert caught.value.code == code
    return caught.value


async def test_userinfo_returns_claims(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """UserInfo claims about the same subject are returned."""
    claims = await fetch_userinfo(
        http, make_metadata(), access_token=ACCESS_TOKEN, subject=SUBJECT
    )

    assert claims["email"] == "jane.doe@acme.example"
    sent = provider.userinfo_route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_userinfo_sub_mismatch(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """UserInfo about another subject is rejected."""
    provider.userinfo_claims["sub"] = "someone-else"

    error = await userinfo_error(http, ErrorCode.USERINFO_SUB_MISMATCH)

    assert "someone-else" not in error.detail


async def test_userinfo_sub_missing(provider: TestProvider, http: ProviderHttp) -> None:
    """UserInfo without sub is rejected."""
    del provider.userinfo_claims["sub"]

    await userinfo_error(http, ErrorCode.USERINFO_SUB_MISMATCH)


async def test_userinfo_sub_mismatch_fails_login(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """With fetch_userinfo, a UserInfo sub mismatch fails the whole login."""
    provider.userinfo_claims["sub"] = "someone-else"
    rp = await discover_rp(http, jwks, clock, fetch_userinfo=True)
    request = rp.start_login()

    with pytest.raises(OidcError) as caught:
        await rp.finish_login(provider.authorize(request.url), request.pending)

    assert caught.value.code == ErrorCode.USERINFO_SUB_MISMATCH


async def test_signed_userinfo_unsupported(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A signed UserInfo response (application/jwt) is rejected as unsupported."""
    provider.userinfo_route.mock(
        return_value=httpx.Response(
            200, content=b"eyJ.eyJ.sig", headers={"Content-Type": "application/jwt"}
        )
    )

    error = await userinfo_error(http, ErrorCode.USERINFO_ERROR)

    assert "not supported" in error.detail


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(401, json={"error": "invalid_token"}), "HTTP 401"),
        (httpx.Response(200, text="sub=00u1abcd"), "text/plain"),
        (httpx.Response(200, json=["sub"]), "not an object"),
        (
            httpx.Response(307, headers={"Location": "http://127.0.0.1:9400/x"}),
            "redirect",
        ),
    ],
)
async def test_userinfo_bad_responses(
    provider: TestProvider, http: ProviderHttp, response: httpx.Response, fragment: str
) -> None:
    """Errors, non-JSON bodies and redirects fail with oidc.userinfo_error."""
    provider.userinfo_route.mock(return_value=response)

    error = await userinfo_error(http, ErrorCode.USERINFO_ERROR)

    assert fragment in error.detail


async def test_userinfo_oversized(provider: TestProvider, http: ProviderHttp) -> None:
    """A UserInfo body over max_response_bytes is rejected."""
    provider.userinfo_claims["picture"] = "x" * SETTINGS.max_response_bytes

    error = await userinfo_error(http, ErrorCode.USERINFO_ERROR)

    assert "more than" in error.detail


async def test_userinfo_without_endpoint(http: ProviderHttp) -> None:
    """Metadata without a userinfo_endpoint cannot fetch UserInfo."""
    with pytest.raises(OidcError) as caught:
        await fetch_userinfo(
            http,
            make_metadata(userinfo_endpoint=None),
            access_token=ACCESS_TOKEN,
            subject=SUBJECT,
        )

    assert caught.value.code == ErrorCode.USERINFO_ERROR
