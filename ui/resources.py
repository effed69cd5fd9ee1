"""Cached resources: the embedded server (one per process), a sandbox per learner, live clients, the DB.

``st.cache_resource`` objects are shared; pages never mutate them. A learner gets their own FakeServer
(``scope="session"``) and their own in-memory copy of the primary database, so one learner's writes are
never another learner's stale reads.
"""
from __future__ import annotations

import os

import redis
import streamlit as st

from labs.core.backends import Backend, open_embedded, open_live, open_sandbox
from labs.core.db import PrimaryDB, SeedReport, default_db_path, ensure_seeded
from labs.core.servers import ServerUnavailable


def _release_embedded(value: tuple[Backend | None, str]) -> None:
    if value[0] is not None:
        value[0].close()  # stops the private server when the cache entry is cleared


@st.cache_resource(show_spinner="Starting a private Redis-compatible server…", on_release=_release_embedded)
def embedded() -> tuple[Backend | None, str]:
    """The private server shared by every session of this app process, or (None, why it cannot run)."""
    try:
        return open_embedded(), ""
    except (ServerUnavailable, redis.RedisError, OSError) as exc:
        return None, str(exc)


@st.cache_resource(scope="session", show_spinner=False)
def sandbox() -> Backend:
    """fakeredis with one FakeServer for this learner only."""
    import fakeredis

    return open_sandbox(fakeredis.FakeServer())


@st.cache_resource(show_spinner="Connecting…", max_entries=8, on_release=Backend.close)
def live(url: str) -> Backend:
    """A live server's client, shared by the sessions that use the same URL. Raises BackendError."""
    return open_live(url)


@st.cache_resource(show_spinner="Preparing the primary database…")
def seed_report() -> SeedReport:
    """The seeded SQLite file (created, or rebuilt if missing or corrupt) and what happened to it."""
    return ensure_seeded(default_db_path())


@st.cache_resource(show_spinner=False)
def _seed_notice_box() -> list[str]:
    return []


def seed_notice() -> str | None:
    """The database rebuild message, handed out once per app process (not to every later session)."""
    box, report = _seed_notice_box(), seed_report()
    if report.action != "reseeded" or report.message in box:
        return None
    box.append(report.message)
    return report.message


@st.cache_resource(scope="session", show_spinner=False, on_release=PrimaryDB.close)
def learner_db() -> PrimaryDB:
    """This learner's private in-memory copy of the primary database (writes stay theirs)."""
    return PrimaryDB.open_private_copy(seed_report().path)


def configured_url() -> str:
    """A Redis URL from $REDIS_URL or .streamlit/secrets.toml (REDIS_URL or [redis] url), else ''."""
    url = os.environ.get("REDIS_URL", "")
    if url:
        return url
    try:
        secrets = st.secrets
        url = secrets.get("REDIS_URL") or (secrets.get("redis") or {}).get("url") or ""
    except Exception:  # no secrets.toml, or an unreadable one: not configured
        url = ""
    return str(url)
