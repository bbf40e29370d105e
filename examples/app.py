"""An app that delegates login to scimbridge over OpenID Connect.

It signs users in with authlib's Starlette client (authorization code with
PKCE), shows the claims scimbridge sends (organization, member, roles), and
ends a user's session when scimbridge posts a back-channel logout token,
for example after the IdP deprovisioned them over SCIM.

Register it, then run it next to ``scimbridge serve``::

    scimbridge app create example --redirect-uri http://127.0.0.1:8001/callback \\
        --post-logout-redirect-uri http://127.0.0.1:8001/ \\
        --backchannel-logout-uri http://127.0.0.1:8001/backchannel-logout --json
    export EXAMPLE_ISSUER=http://127.0.0.1:8000
    export EXAMPLE_CLIENT_ID=... EXAMPLE_CLIENT_SECRET=...
    uvicorn --factory examples.app:from_environment --port 8001

Then open http://127.0.0.1:8001/login?org=SLUG.
"""

import os
import secrets
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth  # type: ignore[import-untyped]
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.middleware.sessions import SessionMiddleware

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def create_app(issuer: str, client_id: str, client_secret: str, url: str) -> FastAPI:
    """Build the app, where ``url`` is the address the browser reaches it at."""
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32))
    oauth = OAuth()
    scimbridge: Any = oauth.register(
        "scimbridge",
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
        },
    )
    ended_sessions: set[str] = set()
    app.state.ended_sessions = ended_sessions

    @app.get("/")
    async def home(request: Request) -> Response:
        user = request.session.get("user")
        if user and user["sid"] in ended_sessions:
            request.session.clear()
            user = None
        if not user:
            return JSONResponse({"signed_in": False, "login": f"{url}/login?org=SLUG"})
        return JSONResponse({"signed_in": True, "claims": user})

    @app.get("/login")
    async def login(request: Request, org: str | None = None) -> Response:
        extra = {"organization": org} if org else {}
        redirect: Response = await scimbridge.authorize_redirect(
            request, f"{url}/callback", **extra
        )
        return redirect

    @app.get("/callback")
    async def callback(request: Request) -> Response:
        # RFC 9207: the response must come from the issuer this app asked.
        if request.query_params.get("iss") != issuer:
            return JSONResponse({"error": "wrong issuer"}, status_code=400)
        token = await scimbridge.authorize_access_token(request)
        request.session["user"] = dict(token["userinfo"])
        request.session["id_token"] = token["id_token"]
        return RedirectResponse(f"{url}/", status_code=303)

    @app.get("/logout")
    async def logout(request: Request) -> Response:
        metadata = await scimbridge.load_server_metadata()
        query = {"post_logout_redirect_uri": f"{url}/", "client_id": client_id}
        if "id_token" in request.session:
            query["id_token_hint"] = request.session["id_token"]
        request.session.clear()
        return RedirectResponse(
            f"{metadata['end_session_endpoint']}?{urlencode(query)}"
        )

    @app.post("/backchannel-logout")
    async def backchannel_logout(logout_token: str = Form()) -> Response:
        keys = KeySet.import_key_set(await scimbridge.fetch_jwk_set())
        try:
            token = jwt.decode(logout_token, keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": client_id},
                iat={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError):
            return Response(status_code=400)
        claims = token.claims
        if LOGOUT_EVENT not in claims.get("events", {}) or "nonce" in claims:
            return Response(status_code=400)
        ended_sessions.add(claims["sid"])
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    return app


def from_environment() -> FastAPI:
    return create_app(
        issuer=os.environ["EXAMPLE_ISSUER"],
        client_id=os.environ["EXAMPLE_CLIENT_ID"],
        client_secret=os.environ["EXAMPLE_CLIENT_SECRET"],
        url=os.environ.get("EXAMPLE_URL", "http://127.0.0.1:8001"),
    )
