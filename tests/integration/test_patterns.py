"""Known results of the caching-patterns lab, on the sandbox, the embedded server and $REDIS_URL."""
from __future__ import annotations

import random

import pytest

from labs.core.backends import open_embedded, open_live, open_sandbox
from labs.core.db import LatencyModel, PrimaryDB
from labs.core.namespace import Namespace, audit_ttls, new_session_id, reset
from labs.patterns import compare, crossover
from labs.patterns.base import CacheAside

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sandbox", "embedded", "live"], scope="module")
def backend(request):
    if request.param == "sandbox":
        b = open_sandbox()
    elif request.param == "embedded":
        b = open_embedded(maxmemory="64mb")
    else:
        b = open_live(request.getfixturevalue("live_url"))
    yield b
    b.close()


@pytest.fixture
def ns(backend):
    n = Namespace(new_session_id())
    yield n
    for lab in ("patterns-cold", "patterns-no-cache", "patterns-cache-aside", "patterns-write-through",
                "patterns-write-behind", "patterns-crossover"):
        assert audit_ttls(backend.client, n.for_lab(lab)).ok
    reset(backend.client, n)


def test_cold_start_then_hits(backend, ns, seeded_db_path):
    """redis.io cache-aside demo: with a 150 ms database, the first read misses and takes ≥ 150 ms; the next
    reads of the key are hits and take < 5 ms; over a fixed key set the hit ratio rises toward 1."""
    db = PrimaryDB.open_private_copy(seeded_db_path, latency=LatencyModel(rtt_ms=150, query_ms=0, jitter_ms=0,
                                                                          tail_sigma=0), rng=random.Random(1))
    strategy = CacheAside(backend.client, db, ns.for_lab("patterns-cold"), ttl_s=60)
    first = strategy.read(42)
    assert not first.hit and first.total_ns >= 150e6
    again = [strategy.read(42) for _ in range(5)]
    assert all(op.hit for op in again) and max(op.total_ns for op in again) < 5e6
    hits = [strategy.read(e).hit for _ in range(5) for e in range(1, 21)]
    assert sum(hits[:20]) < sum(hits[-20:]) == 20
    db.close()


def _compare(backend, ns, **kw):
    params = compare.CompareParams(requests=1500, entities=50, write_fraction=0.2, ttl_s=600, **kw)
    return compare.run(params, backend=backend, ns=ns,
                       strategies=("no cache", "cache-aside", "write-through")).frames["summary"].set_index("strategy")


def test_write_through_is_never_stale_cache_aside_is(backend, ns):
    """Single writer: write-through updates the cache with every write, so no read is stale; cache-aside
    with a TTL and no invalidation serves the old value once the database changed behind it."""
    s = _compare(backend, ns)
    assert s.loc["write-through", "stale_reads"] == 0 and s.loc["no cache", "stale_reads"] == 0
    assert s.loc["cache-aside", "stale_reads"] > 0
    assert s.loc["cache-aside", "db_queries"] < s.loc["no cache", "db_queries"]
    assert s.loc["cache-aside", "read_p50_ms"] < s.loc["no cache", "read_p50_ms"]


def test_cache_down_cache_aside_answers_everything_from_the_database(backend, ns):
    """'Resilient to cache failure': with Redis unreachable half-way, no request fails."""
    s = _compare(backend, ns, cache_down_at=0.5)
    assert (s.failed == 0).all()
    assert s.loc["write-through", "degraded"] > 0  # its writes after the failure skipped the cache
    assert s.loc["cache-aside", "hit_ratio"] < 0.6


def test_crossover_a_local_database_beats_the_cache(backend):
    """FIELD_NOTES: a local SQLite lookup is faster than a Redis hit, so with no simulated latency caching
    makes reads slower (speed-up < 1); at 50 ms it pays many times over; the line crosses 1 in between."""
    m = crossover.run(crossover.CrossoverParams(reads=200, entities=10), backend=backend).metrics
    assert m["speedup_at_0ms"] < 1 < m["speedup_at_50ms"]
    assert m["crossover_ms"] is not None and 0 < m["crossover_ms"] < 5
