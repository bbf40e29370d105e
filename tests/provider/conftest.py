"""Each provider test starts with a browser that has no cookies."""

from collections.abc import Iterator

import pytest

from tests.conftest import ScimOrg


@pytest.fixture(autouse=True)
def _fresh_browser(org: ScimOrg) -> Iterator[None]:
    org.client.cookies.clear()
    yield
    org.client.cookies.clear()
