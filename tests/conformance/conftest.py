"""Fixtures that serve scimbridge on loopback for the conformance suites.

The server is a real ``scimbridge serve`` process on 127.0.0.1. Its database
is a scratch database on the PostgreSQL server of SCIMBRIDGE_TEST_DATABASE_URL
when that variable is set, and a temporary SQLite file otherwise.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from conformance import RunningServer, isolated_database, running_scimbridge


@contextmanager
def _serve_scimbridge() -> Iterator[RunningServer]:
    requested_url = os.environ.get("SCIMBRIDGE_TEST_DATABASE_URL")
    with (
        isolated_database(requested_url) as database_url,
        running_scimbridge(database_url) as server,
    ):
        yield server


@pytest.fixture
def scimbridge_server() -> Iterator[RunningServer]:
    """Serve scimbridge on loopback; teardown stops it and drops its database."""
    with _serve_scimbridge() as server:
        yield server


@pytest.fixture(scope="module")
def shared_scimbridge_server() -> Iterator[RunningServer]:
    """Serve one scimbridge for every test of a module, in one organization.

    Suites that run against it one after the other see each other's leftovers,
    as suites run by hand against a real deployment would.
    """
    with _serve_scimbridge() as server:
        yield server
