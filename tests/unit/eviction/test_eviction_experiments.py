"""The eviction experiments the page and the CLI run (simulated by the compiled fast path)."""
import pytest

from labs.eviction import fast
from labs.eviction.experiments import (WORKLOADS, CompareParams, CounterParams, CurveParams, FidelityParams,
                                       GridParams, parse_configs, run_compare, run_counter, run_curve, run_grid,
                                       workload_keys)


@pytest.mark.parametrize("kind", WORKLOADS)
def test_workloads_are_seeded_and_shaped(kind):
    a, b = workload_keys(kind, 4000, 500, 1.0, 3), workload_keys(kind, 4000, 500, 1.0, 3)
    assert a == b and len(a) == 4000
    if kind == "zipf + scans":
        assert max(a) >= 500  # the scans read keys outside the popular set, once each
    if kind == "shifting hot set":
        first, second = set(a[:200]), set(a[-200:])
        assert len(first & second) < len(first) / 2  # the popular keys changed


def test_bad_policy_names_are_explained():
    with pytest.raises(ValueError, match="Unknown policy allkeys-mru"):
        CompareParams(policies="allkeys-lru,allkeys-mru")


def test_opt_is_the_floor_and_volatile_without_ttls_rejects_writes():
    """OPT (Belady) beats every policy; volatile-lru with no TTL keys behaves like noeviction (redis.io)."""
    summary = run_compare(CompareParams(requests=8000, keys=2000, capacity=200)).frames["summary"].set_index("policy")
    assert (summary.hit_ratio <= summary.loc["opt", "hit_ratio"] + 1e-12).all()
    none = run_compare(CompareParams(policies="volatile-lru,noeviction,allkeys-lru", ttl_fraction=0.0,
                                     requests=5000, keys=2000, capacity=100)).frames["summary"].set_index("policy")
    assert none.loc["volatile-lru", "evictions"] == 0 and none.loc["volatile-lru", "rejected_writes"] > 0
    assert none.loc["noeviction", "rejected_writes"] == none.loc["volatile-lru", "rejected_writes"]
    assert none.loc["allkeys-lru", "rejected_writes"] == 0 and none.loc["allkeys-lru", "evictions"] > 0


def test_scans_pollute_lru_more_than_lfu():
    """A one-off scan pushes popular keys out of an LRU cache; LFU keeps them (frequency wins)."""
    m = run_compare(CompareParams(workload="zipf + scans", policies="lru,lfu", requests=20000, keys=5000,
                                  capacity=500)).metrics
    assert m["lfu: hit_ratio"] > m["lru: hit_ratio"]


def test_miss_ratio_curve_falls_with_size_and_opt_is_lowest():
    mrc = run_curve(CurveParams(policies="lru,opt", requests=8000, keys=2000, sizes=5)).frames["mrc"]
    for _, g in mrc.groupby("policy"):
        assert g.sort_values("capacity").miss_ratio.is_monotonic_decreasing
    pivot = mrc.pivot(index="capacity", columns="policy", values="miss_ratio")
    assert (pivot.opt <= pivot.lru).all()


def test_grid_error_falls_with_samples_and_counter_matches_redis_table():
    errors = list(run_grid(GridParams(capacity=500, seed=2)).metrics.values())
    assert errors[0] > errors[2] > errors[3]
    m = run_counter(CounterParams(log_factor=10)).metrics
    assert 7 <= m["counter after 100 hits"] <= 13 and 120 <= m["counter after 100,000 hits"] <= 170


def test_capacity_in_bytes_uses_the_memory_model_and_leaves_opt_out():
    """Bytes mode: every key costs its memory-model size, so fewer, bigger values fit; OPT (Belady) is
    only optimal for equal sizes, so it is left out and the notes say why."""
    params = CompareParams(policies="allkeys-lru,lru,opt", unit="bytes (memory model)", maxmemory_kb=64,
                           value_bytes=400, requests=5_000, keys=2_000)
    result = run_compare(params)
    assert set(result.frames["summary"].policy) == {"allkeys-lru", "lru"}
    assert any("OPT is left out" in n for n in result.notes)
    small = run_compare(CompareParams(policies="lru", unit="bytes (memory model)", maxmemory_kb=64,
                                      value_bytes=4_000, requests=5_000, keys=2_000))
    assert small.metrics["lru: hit_ratio"] < result.metrics["lru: hit_ratio"]


def test_one_sample_lru_is_random_eviction():
    """With maxmemory-samples 1 each eviction offers the pool one key and takes the best one out again:
    the pool never holds a second candidate, so sampled LRU evicts exactly the random key (the
    test-lru.rb figure on redis.io shows 1 sample as scattered as random)."""
    lru = fast.run("allkeys-lru", 300, workload_keys("zipf", 20_000, 3_000, 1.0, 3), samples=1, seed=8)
    rnd = fast.run("allkeys-random", 300, workload_keys("zipf", 20_000, 3_000, 1.0, 3), seed=8)
    assert lru.as_dict() == rnd.as_dict()


def test_fidelity_configs_are_checked_with_actionable_messages():
    assert parse_configs("allkeys-lru:10, allkeys-random") == [("allkeys-lru", 10), ("allkeys-random", 5)]
    for bad, words in (("volatile-lru:5", "cannot be replayed"), ("allkeys-lru:x", "whole number"),
                       ("allkeys-lru:99", "between 1 and 64"), (" , ", "at least one")):
        with pytest.raises(ValueError, match=words):
            parse_configs(bad)
    with pytest.raises(ValueError, match="4,000 per second"):
        FidelityParams(requests=100_000, duration_s=10)
