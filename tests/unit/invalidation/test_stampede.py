"""Stampede lab: the discrete-event simulation's known results, XFetch's early-refresh odds, the lock."""
from __future__ import annotations

import math
import random

import fakeredis
import pytest

from labs.core.namespace import Namespace
from labs.invalidation.stampede.experiments import StampedeRealParams, StampedeSimParams, XFetchParams, run_sim, run_xfetch
from labs.invalidation.stampede.real import run_real
from labs.invalidation.stampede.simulate import SimSpec, max_overlap, simulate, summarize
from labs.invalidation.stampede.strategies import SingleFlight, xfetch_early, xfetch_probability

NS = Namespace("test1234")
VATTANI = "Vattani, Chierichetti, Lowenstein, Optimal Probabilistic Cache Stampede Prevention, PVLDB 8(8) 2015"


def _sim(strategy: str, **kw) -> dict:
    spec = SimSpec(**{"rate_per_s": 1000.0, "recompute_s": 0.05, "ttl_s": 5.0, "duration_s": 60.0, **kw})
    return summarize(strategy, simulate(strategy, spec), spec)


def test_no_protection_costs_about_one_plus_rate_times_d_recomputes_per_expiry():
    """Every request arriving in the D seconds after expiry misses and recomputes: 1 + λ·D on average
    (Vattani et al. 2015, §1: the stampede)."""
    s = _sim("none")
    assert s["expiries"] >= 10
    assert s["recomputes_per_expiry"] == pytest.approx(1 + 1000 * 0.05, rel=0.15)
    assert s["max_concurrent_recomputes"] > 30


def test_single_flight_costs_exactly_one_recompute_per_expiry():
    """SET lock NX PX lets one client rebuild; the others wait (redis.io, SET: the lock pattern)."""
    s = _sim("single-flight lock")
    assert s["db_recomputes"] == s["expiries"] >= 10
    assert s["max_concurrent_recomputes"] == 1


def test_xfetch_leaves_almost_no_miss_at_expiry():
    """XFetch refreshes before expiry with probability exp(−time_left/(β·δ)) per read, so at λ·δ ≫ 1 the
    key practically never expires: misses ≈ 0 versus ≈ λ·D per expiry without protection (Vattani et al.)."""
    x, none = _sim("XFetch"), _sim("none")
    assert none["misses"] > 400
    assert x["misses"] <= 0.01 * none["misses"]
    assert x["early_refreshes"] >= 10
    assert x["db_recomputes"] < 0.2 * none["db_recomputes"]


def test_stale_while_revalidate_serves_stale_instead_of_missing():
    s = _sim("stale-while-revalidate")
    assert s["misses"] == 0 and s["stale_reads"] > 0 and s["max_concurrent_recomputes"] == 1
    assert s["latency_max_ms"] == 0


def test_ttl_jitter_lowers_the_peak_when_many_keys_expire_together():
    """AWS, 'Performance at Scale with Amazon ElastiCache': add randomness to TTLs to avoid the herd."""
    spec = dict(rate_per_s=2000.0, recompute_s=0.05, ttl_s=10.0, keys=500, duration_s=15.0, jitter_s=5.0)
    plain, jittered = _sim("none", **spec), _sim("TTL jitter", **spec)
    assert jittered["peak_recomputes_per_s"] < 0.6 * plain["peak_recomputes_per_s"]


def test_max_overlap_counts_intervals_open_together():
    import numpy as np

    assert max_overlap(np.array([0.0, 0.01, 0.02, 1.0]), 0.05) == 3
    assert max_overlap(np.array([]), 1.0) == 0


@pytest.mark.parametrize("ratio,beta", [(1.0, 1.0), (0.5, 1.0), (2.0, 2.0), (3.0, 0.5)])
def test_xfetch_early_refresh_probability_matches_exp_minus_time_left_over_beta_delta(ratio, beta):
    """P(−δ·β·ln U ≥ t) = P(U ≤ exp(−t/(β·δ))) = exp(−t/(β·δ)) (Vattani et al. 2015, Theorem/Alg. XFetch);
    ≈ 0.37 at t = δ, β = 1."""
    rng = random.Random(42)
    delta, n = 0.1, 100_000
    hits = sum(xfetch_early(ratio * delta, delta, beta, 1.0 - rng.random()) for _ in range(n))
    expected = math.exp(-ratio / beta)
    assert xfetch_probability(ratio * delta, delta, beta) == pytest.approx(expected)
    assert hits / n == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n) + 1e-3)


def test_xfetch_experiment_reports_about_0_37_at_time_left_equal_delta():
    m = run_xfetch(XFetchParams(draws=50_000)).metrics
    assert m["P(early) at time_left = δ, theory"] == pytest.approx(math.exp(-1))
    assert m["P(early) at time_left = δ, measured"] == pytest.approx(0.368, abs=0.01)


def test_xfetch_never_refreshes_early_with_beta_zero_and_always_once_expired():
    assert not xfetch_early(0.001, 0.1, 0.0, 1e-9)
    assert xfetch_early(0.0, 0.1, 1.0, 0.999)


def test_stampede_sim_experiment_runs_every_strategy():
    result = run_sim(StampedeSimParams(duration_s=20.0))
    assert len(result.frames["summary"]) == 5
    assert result.metrics["single-flight lock: DB recomputes"] < result.metrics["none: DB recomputes"]
    assert any("SIMULATED" in n for n in result.notes)


def test_stampede_sim_refuses_a_run_too_big_to_finish():
    with pytest.raises(ValueError, match="Request rate × Duration"):
        StampedeSimParams(rate_per_s=20_000, duration_s=3_600)
    with pytest.raises(ValueError, match="Threads N"):
        StampedeRealParams(threads=1)


def test_lock_release_is_compare_and_delete():
    """Only the token that took the lock may release it (redis.io, 'Distributed Locks with Redis')."""
    client = fakeredis.FakeRedis()
    lock = SingleFlight(client, NS, lambda: "v")
    assert lock.acquire("mine") and not lock.acquire("theirs")
    assert not lock.release("theirs") and client.get(lock.lock_key) == b"mine"
    assert lock.release("mine") and client.get(lock.lock_key) is None


def test_real_threads_on_fakeredis_single_flight_recomputes_once_and_none_many():
    client = fakeredis.FakeRedis()
    one = run_real("single-flight lock", client, NS, threads=12, recompute_ms=30)
    many = run_real("none", client, NS, threads=12, recompute_ms=30)
    assert one["db_recomputes"] == 1 and one["reads"] == 12
    assert many["db_recomputes"] > 1
    assert list(client.scan_iter()) == []
