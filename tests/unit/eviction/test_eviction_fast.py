"""The compiled fast path (labs.eviction.fast) must give exactly what the pure-Python reference gives.

Same policy, same trace, same seed: identical hits, misses, writes, evictions, rejected writes and
expiries — for every policy (the ten Redis policies, LRM included, and the exact baselines), on several
workloads, with and without TTLs, per-key sizes and write requests, and per request.
"""
from __future__ import annotations

import numpy as np
import pytest

from labs.eviction import OPT, POLICIES, fast, make, opt_stats
from labs.eviction.experiments import WORKLOADS, workload_keys
from labs.eviction.prng import SplitMix64
from labs.eviction.simulate import miss_ratio_curve, run_trace


def _trace(workload: str, seed: int = 2, requests: int = 4_000, keys: int = 700):
    ids = workload_keys(workload, requests, keys, 1.0, seed)
    times = (np.arange(len(ids)) * 0.37).tolist()             # ~3 requests per LRU-clock second
    rng = np.random.default_rng(seed)
    ttls = [float(rng.integers(5, 900)) if k % 3 else None for k in ids]
    sizes = [1 + k % 4 for k in ids]
    return ids, times, ttls, sizes


def _writes(ids, seed: int = 2) -> list[bool]:
    """A quarter of the requests are writes (SET), on every key but the multiples of 5 (read-only keys)."""
    rng = np.random.default_rng(seed + 7)
    return [bool(k % 5 and w) for k, w in zip(ids, rng.random(len(ids)) < 0.25)]


def test_splitmix64_matches_the_published_sequence():
    """SplitMix64 from seed 0 starts 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4 (Vigna, splitmix64.c)."""
    rng = SplitMix64(0)
    assert [rng.next64(), rng.next64()] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_sample_is_distinct_and_in_range():
    rng = SplitMix64(3)
    for _ in range(200):
        got = rng.sample(list(range(20)), 5)
        assert len(set(got)) == 5 and all(0 <= g < 20 for g in got)
    assert rng.sample([1, 2, 3], 5) == [1, 2, 3]


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("variant", ["plain", "ttl", "ttl+sizes", "ttl+sizes+writes"])
def test_every_policy_identical_to_the_reference(workload, variant):
    ids, times, ttls, sizes = _trace(workload)
    ttls = None if variant == "plain" else ttls
    sizes = sizes if variant.startswith("ttl+sizes") else None
    writes = _writes(ids) if variant.endswith("writes") else None
    for name in POLICIES:
        for capacity in (1, 9, 80, 400):
            for samples in (1, 5, 16):
                if samples != 5 and name in ("lru", "lfu", "fifo", "noeviction"):
                    continue
                ref = run_trace(make(name, capacity, samples=samples, seed=11), ids, times, ttls, sizes, writes)
                got = fast.run(name, capacity, ids, times, ttls, sizes, writes=writes, samples=samples, seed=11)
                assert got.as_dict() == ref.as_dict(), (name, capacity, samples)


def test_lfu_options_and_decay_identical():
    ids, _, _, _ = _trace("shifting hot set")
    times = (np.arange(len(ids)) * 4.0).tolist()              # hours of virtual time: counters decay
    for factor, decay in ((1, 1), (10, 0), (100, 5)):
        for name in ("allkeys-lfu", "volatile-lfu"):
            ttls = [600.0] * len(ids)
            ref = run_trace(make(name, 50, seed=4, lfu_log_factor=factor, lfu_decay_time=decay), ids, times, ttls)
            got = fast.run(name, 50, ids, times, ttls, seed=4, lfu_log_factor=factor, lfu_decay_time=decay)
            assert got.as_dict() == ref.as_dict(), (name, factor, decay)


def test_per_request_hits_identical():
    ids, times, ttls, _ = _trace("zipf + scans")
    for name in ("allkeys-lru", "allkeys-lfu", "volatile-ttl", "lfu"):
        policy = make(name, 120, seed=5)
        expected = [policy.access(k, 1, t, ttl) for k, t, ttl in zip(ids, times, ttls)]
        _, hits = fast.run(name, 120, ids, times, ttls, seed=5, record_hits=True)
        assert hits.astype(bool).tolist() == expected, name


def test_per_request_hits_and_survivors_identical_with_writes():
    ids, times, ttls, _ = _trace("zipf")
    writes = _writes(ids)
    for name in ("allkeys-lrm", "volatile-lrm", "allkeys-lru", "lfu"):
        policy = make(name, 90, seed=6)
        expected = []                        # a write is never a hit
        for k, t, ttl, w in zip(ids, times, ttls, writes):
            expected.append(policy.write(k, 1, t, ttl) and False if w else policy.access(k, 1, t, ttl))
        stats, hits, cached = fast.run_detail(name, 90, ids, times, ttls, writes=writes, seed=6)
        assert hits.astype(bool).tolist() == expected, name
        assert {k for k, c in zip(ids, cached) if c} == set(policy.sizes), name
        assert stats.as_dict() == policy.finished().as_dict(), name


def test_opt_identical_and_curve_identical():
    ids, times, _, _ = _trace("zipf", requests=6_000, keys=1_500)
    for capacity in (1, 10, 100, 1_000):
        o = opt_stats(ids, capacity)
        got = fast.run(OPT, capacity, ids)
        assert (got.hits, got.misses, got.evictions) == (o.hits, o.misses, o.evictions)
    names = ["allkeys-lru", "allkeys-random", "lfu", "fifo", OPT]
    ref = miss_ratio_curve(names, ids, [20, 200, 900], times=times, seed=3)
    got = fast.miss_ratio_curve(names, ids, [20, 200, 900], times=times, seed=3)
    assert got.equals(ref)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="unknown policy"):
        fast.run("allkeys-mru", 10, [1, 2, 3])
    with pytest.raises(ValueError, match="writes has"):
        fast.run("allkeys-lrm", 10, [1, 2, 3], writes=[True])
    with pytest.raises(ValueError, match="capacity"):
        fast.run("allkeys-lru", 0, [1, 2, 3])
    with pytest.raises(ValueError, match="capacity"):
        fast.miss_ratio_curve(["lru"], [1, 2, 3], [0, 4])


def test_lrm_evicts_the_key_read_often_but_never_written():
    """LRM stamps a key's clock on writes only (redis/redis#14624; redis.io "Key eviction", LRM eviction):
    A is written first and then read every second, B and C are written after it. When D needs room,
    allkeys-lru evicts B (idle since its write) and allkeys-lrm evicts A (oldest modification)."""
    keys = ["A", "B", "C"] + ["A"] * 8 + ["D"]
    times = [0.0, 1.0, 2.0] + [3.0 + i for i in range(8)] + [11.0]
    writes = [True, True, True] + [False] * 8 + [True]
    for name, gone in (("allkeys-lru", "B"), ("allkeys-lrm", "A"), ("volatile-lrm", "A")):
        ttls = [600.0] * len(keys) if name.startswith("volatile") else None
        policy = make(name, 3, samples=5, seed=1)
        run_trace(policy, keys, times, ttls, writes=writes)
        assert gone not in policy and len(policy) == 3, name
        _, _, cached = fast.run_detail(name, 3, keys, times, ttls, writes=writes, samples=5, seed=1)
        assert {k for k, c in zip(keys, cached) if c} == set(policy.sizes), name


def test_lrm_on_a_read_only_trace_behaves_like_fifo():
    """With only cache-aside fills as writes, LRM ranks keys by fill time, like FIFO, and loses LRU's edge
    on a skewed trace (redis.io "Key eviction", LRM eviction: reads never refresh the timestamp). Not
    exactly FIFO: the pool keeps scores from earlier samples, as evict.c's does."""
    ids = workload_keys("zipf", 20_000, 2_000, 1.0, 2)
    times = np.arange(len(ids)) * 0.1
    for capacity in (50, 500):
        ratio = {n: fast.run(n, capacity, ids, times, seed=2).hit_ratio for n in ("allkeys-lrm", "fifo", "allkeys-lru")}
        assert abs(ratio["allkeys-lrm"] - ratio["fifo"]) < 0.01, (capacity, ratio)
        assert ratio["allkeys-lru"] - ratio["allkeys-lrm"] > 0.03, (capacity, ratio)
