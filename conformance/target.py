"""The SCIM service a suite runs against, and the options every suite accepts."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ScimTarget:
    """A live SCIM service: its base URL and one organization's bearer token."""

    base_url: str
    """The SCIM base URL, such as ``http://127.0.0.1:8000/scim/v2``."""
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SuiteOptions:
    """Options passed to every suite. A suite ignores those it has no use for."""

    request_timeout: float = 30.0
    """Timeout of each HTTP request, in seconds."""
    include_tags: frozenset[str] = frozenset()
    """scim2-tester tags of the checks to run. Empty runs every check."""
    exclude_tags: frozenset[str] = frozenset()
    """scim2-tester tags of the checks to skip."""
    resource_types: tuple[str, ...] = ()
    """Resource types to check, such as ``User``. Empty checks all of them."""
