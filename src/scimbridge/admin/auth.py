"""Bearer authentication of the platform admin, with the token from the settings."""

import hmac

from fastapi import Request

from scimbridge.admin.errors import InvalidToken, ResourceNotFound
from scimbridge.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def authorize_admin(request: Request) -> None:
    """Raise unless the request carries ``Authorization: Bearer <admin token>``.

    With no admin token configured the API is disabled, and every request
    gets 404 before any credential is read.

    :raises ResourceNotFound: when the admin API is disabled.
    :raises InvalidToken: when the token is missing or wrong.
    """
    admin_token = services_of(request).settings.admin_token
    if admin_token is None:
        raise ResourceNotFound(
            "the admin API is disabled: set SCIMBRIDGE_ADMIN_TOKEN to enable it"
        )

    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise InvalidToken(
            "missing bearer token: send the header Authorization: Bearer <admin token>",
            headers={"WWW-Authenticate": "Bearer"},
        )

    # compare_digest does not stop at the first differing byte, so response
    # times do not reveal how much of a guess was right.
    presented = credentials.encode()
    if not hmac.compare_digest(presented, admin_token.get_secret_value().encode()):
        raise InvalidToken(
            "the bearer token is not the admin token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
