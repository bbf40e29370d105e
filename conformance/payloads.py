"""Schema URNs, made-up people and the request bodies the IdP suites build from them."""

import secrets
from dataclasses import dataclass
from typing import Any

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVICE_PROVIDER_CONFIG_URN = (
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)


def run_tag() -> str:
    """Return a random tag that makes one run's names unique on a shared server."""
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class Person:
    """A made-up person, with the identifiers an IdP would send for them."""

    given_name: str
    family_name: str
    user_name: str
    external_id: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def email(self) -> str:
        return self.user_name


def new_person(given_name: str, family_name: str, domain: str) -> Person:
    """Make a person whose ``userName`` and ``externalId`` no other run uses."""
    tag = run_tag()
    local = f"{given_name}.{family_name}.{tag}".lower()
    return Person(
        given_name=given_name,
        family_name=family_name,
        user_name=f"{local}@{domain}",
        external_id=f"ext-{tag}",
    )


def user_body(person: Person, **attributes: Any) -> dict[str, Any]:
    """Build a core User with a name, one primary work email and ``attributes``.

    The IdP suites build every user from this body, so a user that a suite
    leaves behind still has the fields that Okta's SPEC test reads from the
    first listed user (``name``, ``userName``, ``active``, ``emails``).
    """
    return {
        "schemas": [USER_URN],
        "userName": person.user_name,
        "externalId": person.external_id,
        "name": {"givenName": person.given_name, "familyName": person.family_name},
        "displayName": person.display_name,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "active": True,
        **attributes,
    }


def group_body(display_name: str, **attributes: Any) -> dict[str, Any]:
    return {"schemas": [GROUP_URN], "displayName": display_name, **attributes}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


NO_VALUE: Any = object()
"""Marker for a PATCH operation without a ``value`` member."""


def operation(
    op: str, path: str | None = None, value: Any = NO_VALUE
) -> dict[str, Any]:
    """Build one PATCH operation, sending ``op`` as given since IdPs differ in case."""
    built: dict[str, Any] = {"op": op}
    if path is not None:
        built["path"] = path
    if value is not NO_VALUE:
        built["value"] = value
    return built
