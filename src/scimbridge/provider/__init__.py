"""The OpenID Provider that apps delegate login to.

An app sends the browser to ``/oauth2/authorize``; scimbridge signs the user
in through their organization's own SAML or OIDC connection and returns an
authorization code, which the app redeems at ``/oauth2/token`` for an ID
token, an access token and a refresh token. Tokens carry the organization,
the member and their roles. Deprovisioning the member revokes their tokens
and sends each app that holds one a back-channel logout token.

The protocol vocabulary (error codes, PKCE, token hashes) comes from authlib's
server components; the endpoints are async and keep their one-time values in
the session store, so codes and refresh tokens are atomic in Redis.
"""
