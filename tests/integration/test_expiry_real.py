"""A real server expires keys nobody reads (redis.io EXPIRE, "How Redis expires keys": the active way).

4 s of SET … EX 1 at 2,000 keys/s, then 3 s of idling, with no reads at all: INFO stats ``expired_keys``
still counts nearly every key and DBSIZE falls back to about 0 — the active expire cycle did it. While
keys arrive, DBSIZE exceeds the keys still alive: expired keys keep their memory until a cycle finds them.
"""
from __future__ import annotations

import pytest

from labs.ttl.expiry import RealExpiryParams, run_real
from labs.core.servers import ServerUnavailable, find_server_binary
from tests.support import skip_or_fail

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def result():
    try:
        find_server_binary()
    except ServerUnavailable as exc:
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private server could start: {exc}")
    return run_real(RealExpiryParams())


def test_keys_expire_without_any_access(result):
    m = result.metrics
    assert m["written"] == 8000
    assert m["expired_keys_end"] > 0.9 * m["written"]
    assert result.frames["real"].expired_total.is_monotonic_increasing


def test_dbsize_falls_back_near_zero(result):
    m = result.metrics
    assert m["keys_in_db_end"] <= 0.01 * m["written"]
    assert m["max_keys_in_db_real"] > 1.05 * 2000           # more than the keys alive: stale ones too


def test_simulator_tracks_the_real_server(result):
    m = result.metrics
    assert 0.7 <= m["max_keys_ratio_real_to_sim"] <= 1.3
    comparison = result.frames["comparison"]
    assert set(comparison.source) == {"real", "simulated"}
    assert list(comparison.columns) == ["t_s", "source", "keys_in_db", "expired_total"]
    real = result.frames["real"]
    assert 60 <= len(real) <= 80 and real.t_s.diff().dropna().between(0.05, 0.3).all()
    assert {"used_memory", "expired_stale_perc"} <= set(real.columns)
