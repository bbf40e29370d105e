"""The claims that describe a member to an app: org, roles, email and name."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from scimbridge.directory.models import Organization, UserRecord

SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
"""Scopes apps may request. ``openid`` is required."""


@dataclass(frozen=True, slots=True)
class MemberClaims:
    sub: str
    org_id: str
    org_slug: str
    roles: tuple[str, ...]
    connection_id: str
    email: str | None
    email_verified: bool
    name: str | None
    given_name: str | None
    family_name: str | None
    preferred_username: str

    def for_scope(self, scope: tuple[str, ...]) -> dict[str, Any]:
        """Return the claims the granted scopes release (OIDC Core 5.4)."""
        claims: dict[str, Any] = {
            "sub": self.sub,
            "org_id": self.org_id,
            "org_slug": self.org_slug,
            "roles": list(self.roles),
            "connection_id": self.connection_id,
        }
        if "email" in scope and self.email:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
        if "profile" in scope:
            profile = {
                "name": self.name,
                "given_name": self.given_name,
                "family_name": self.family_name,
                "preferred_username": self.preferred_username,
            }
            claims |= {key: value for key, value in profile.items() if value}
        return claims


def _primary_email(attributes: dict[str, Any], user_name: str) -> str | None:
    emails = attributes.get("emails") or []
    values = [item for item in emails if isinstance(item, dict) and item.get("value")]
    for item in values:
        if item.get("primary"):
            return str(item["value"])
    if values:
        return str(values[0]["value"])
    return user_name if "@" in user_name else None


def member_claims(
    org: Organization,
    member: UserRecord,
    roles: tuple[str, ...],
    connection_id: UUID,
) -> MemberClaims:
    name = member.attributes.get("name") or {}
    given = name.get("givenName") if isinstance(name, dict) else None
    family = name.get("familyName") if isinstance(name, dict) else None
    formatted = name.get("formatted") if isinstance(name, dict) else None
    full = member.display_name or formatted
    if not full and (given or family):
        full = " ".join(part for part in (given, family) if part)
    return MemberClaims(
        sub=str(member.id),
        org_id=str(org.id),
        org_slug=org.slug,
        roles=roles,
        connection_id=str(connection_id),
        email=_primary_email(member.attributes, member.user_name),
        email_verified=False,
        name=full,
        given_name=given,
        family_name=family,
        preferred_username=member.user_name,
    )
