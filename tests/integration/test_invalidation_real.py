"""The invalidation and stampede labs on real servers: the embedded one always, $REDIS_URL when set.

Real threads, real time, small numbers: a burst of 50 readers on a just-expired key, the race matrix
with its Lua lease and WATCH/MULTI fixes, and the seed's PATCH → DEL demo.
"""
from __future__ import annotations

import pytest
import redis

from labs.invalidation.race import INTERLEAVINGS, race_matrix
from labs.core.namespace import Namespace, learner_keys, new_session_id
from labs.invalidation.stampede.real import run_real

pytestmark = pytest.mark.integration


@pytest.fixture(params=["embedded", "live"], scope="module")
def real_backend(request):
    from labs.core.backends import open_embedded, open_live

    if request.param == "embedded":
        b = open_embedded(maxmemory="64mb")
    else:
        b = open_live(request.getfixturevalue("live_url"))
    yield b
    b.close()


@pytest.fixture
def ns(real_backend):
    ns = Namespace(new_session_id())
    yield ns
    assert learner_keys(real_backend.client, ns) == [], "the lab left keys behind"


def test_fifty_readers_of_a_just_expired_key_cause_exactly_one_recompute_with_a_single_flight_lock(real_backend, ns):
    """redis.io cache-aside / stampede guidance: with a lock (SET NX PX + compare-and-delete release) only
    one of N concurrent readers rebuilds the value; without protection, many do."""
    locked = run_real("single-flight lock", real_backend.client, ns, threads=50, recompute_ms=100)
    assert locked["reads"] == 50 and locked["db_recomputes"] == 1
    assert locked["reads_waited"] + locked["reads_hit"] == 49  # a thread scheduled late may find it rebuilt
    bare = run_real("none", real_backend.client, ns, threads=50, recompute_ms=100)
    assert bare["reads"] == 50 and bare["db_recomputes"] > 1
    assert bare["max_concurrent_recomputes"] > 1


def test_stale_while_revalidate_answers_everyone_at_once_with_one_background_refresh(real_backend, ns):
    out = run_real("stale-while-revalidate", real_backend.client, ns, threads=30, recompute_ms=100)
    assert out["db_recomputes"] == 1 and out["stale_reads"] >= 1
    assert out["stale_reads"] + out["reads_hit"] == 30
    assert out["latency_p99_ms"] < 100  # nobody waited for the rebuild


def test_xfetch_under_steady_load_refreshes_early_and_the_lock_never_overlaps(real_backend, ns):
    """Vattani et al., PVLDB 2015: reads before expiry trigger early refreshes; the lock serializes rebuilds."""
    x = run_real("XFetch", real_backend.client, ns, threads=8, recompute_ms=50, ttl_ms=400, duration_ms=1200,
                 think_ms=5)
    assert x["reads_early_refresh"] > 0
    lock = run_real("single-flight lock", real_backend.client, ns, threads=8, recompute_ms=50, ttl_ms=400,
                    duration_ms=1200, think_ms=5)
    assert lock["max_concurrent_recomputes"] == 1 and lock["db_recomputes"] >= 2


def test_race_matrix_on_a_real_server(real_backend, ns):
    """Lua leases and WATCH/MULTI versions refuse the late SET in all 10 interleavings; delete-first does not."""
    rows = race_matrix(real_backend.client, ns)
    stale = {}
    for r in rows:
        stale.setdefault(r["strategy"], 0)
        stale[r["strategy"]] += r["stale"]
    assert len(rows) == 4 * len(INTERLEAVINGS)
    assert stale["delete first"] >= 2 and stale["update then delete"] == 1
    assert stale["lease (Lua)"] == 0 and stale["versioned (WATCH/MULTI)"] == 0


def test_seed_patch_then_delete_demo_on_a_real_server(real_backend, ns):
    from labs.invalidation.experiments import LiveParams, run_live

    result = run_live(LiveParams(), backend=real_backend, ns=ns)
    steps = result.frames["steps"]
    assert list(steps["from"].iloc[[0, 1, 3]]) == ["database", "cache", "database"]
    assert steps.answer.iloc[3].startswith("Bergen")                 # PATCH → DEL → reload
    assert bool(steps.stale.iloc[5]) and bool(steps.stale.iloc[9])   # behind the back; stale "not found"
    assert result.metrics["database queries"] == 3
    assert all(ttl is None or 0 < ttl <= 60 for ttl in steps.cache_ttl_s.dropna())


def _lock(client, ns, native: bool):
    from labs.invalidation.stampede.strategies import SingleFlight

    lock = SingleFlight(client, ns.for_lab("lock-release"), lambda: "v", lock_ttl_s=5.0)
    lock.use_native_release = native
    return lock


@pytest.mark.parametrize("native", [True, False], ids=["server command", "lua"])
def test_lock_release_deletes_only_the_owners_lock(real_backend, ns, native):
    """Compare-and-delete (redis.io "Distributed Locks with Redis"; valkey.io DELIFEQ, Valkey 9.0+): a release
    with a stale token leaves the other client's lock; the owner's token deletes it. The server command where
    the server has one (valkey 9.1.2 embedded: DELIFEQ), the Lua script otherwise or when asked."""
    lock = _lock(real_backend.client, ns, native)
    assert lock.acquire("mine")
    assert not lock.release("someone-else") and real_backend.client.get(lock.lock_key) == b"mine"
    assert lock.release("mine") and real_backend.client.get(lock.lock_key) is None
    if not native:
        assert lock.released_with.startswith("EVAL")
    elif real_backend.kind == "embedded" and "valkey" in real_backend.caps.server_label.lower():
        assert lock.released_with.startswith("DELIFEQ")


def test_set_ifeq_extends_only_the_owners_lock(real_backend, ns):
    """valkey.io SET, IFEQ (Valkey 8.1+): SET sets the key only when its current value equals the given one,
    so a lock holder can extend its lease without Lua; a stale token changes nothing."""
    client, key = real_backend.client, ns.key("lock-extend")
    client.set(key, "mine", px=2_000)
    try:
        stale = client.execute_command("SET", key, "other", "IFEQ", "old-token", "PX", 9_000)
    except redis.ResponseError as exc:           # a server before IFEQ (Redis 7.0 in CI): a syntax error,
        client.delete(key)                       # and the lab's lock keeps to its Lua release there
        assert "syntax" in str(exc).lower(), exc
        assert "valkey" not in real_backend.caps.server_label.lower(), "valkey 8.1+ has SET … IFEQ"
        lock = _lock(client, ns, True)
        assert lock.acquire("mine") and lock.release("mine") and lock.released_with.startswith("EVAL")
        return
    assert stale is None and client.get(key) == b"mine"
    assert client.execute_command("SET", key, "mine", "IFEQ", "mine", "PX", 9_000)
    assert client.pttl(key) > 8_000
    client.delete(key)
