"""Synchronized expiry vs jitter (labs/ttl/jitter.py).

Known result: keys written together with one TTL all expire in the same second; a uniform jitter on
the TTL spreads them. Source: AWS whitepaper "Performance at Scale with Amazon ElastiCache" (the
thundering herd: "add some randomness to your TTL: ttl = 3600 + (rand() * 120)").
"""
from __future__ import annotations

import fakeredis
import pytest

from labs.core.experiment import params_from_strings
from labs.ttl.jitter import JitterParams, jitter_needed, peak_with_jitter, run, write_keys
from labs.core.namespace import Namespace


def test_fixed_ttl_expires_every_key_in_the_same_second():
    result = run(JitterParams(keys=10_000, ttl_s=60, jitter_s=120))
    fixed = result.frames["expirations"].query("strategy == 'fixed TTL'")
    assert result.metrics["peak_no_jitter"] == 10_000
    assert fixed.loc[fixed.expirations > 0, "second"].tolist() == [60]


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_jitter_0_to_120_s_cuts_the_peak_about_100x(seed):
    """AWS: jitter the TTL. 10,000 keys over 121 one-second buckets: ~83 per second on average, so the
    peak (the busiest bucket) falls by roughly 100× — between 50× and 200×."""
    result = run(JitterParams(keys=10_000, ttl_s=60, jitter_s=120, seed=seed))
    assert 50 <= result.metrics["peak_reduction"] <= 200
    frame = result.frames["expirations"]
    assert set(frame.columns) >= {"second", "strategy", "expirations"}
    assert frame.groupby("strategy").expirations.sum().tolist() == [10_000, 10_000]
    jittered = frame.query("strategy == 'TTL + jitter'")
    assert jittered.loc[jittered.expirations > 0, "second"].between(60, 180).all()


def test_jitter_needed_meets_the_target_and_respects_the_lower_bound():
    result = run(JitterParams(keys=10_000, target_peak_per_s=100))
    needed = result.metrics["jitter_needed_s"]
    assert needed >= result.metrics["jitter_lower_bound_s"] == 99
    assert peak_with_jitter(10_000, 60, needed, 7) <= 100 < peak_with_jitter(10_000, 60, needed - 1, 7)
    assert jitter_needed(50, 60, 100, 7) == 0


def test_the_experiment_says_it_is_simulated_and_validates_params():
    assert any("SIMULATED" in note for note in run(JitterParams(keys=100)).notes)
    with pytest.raises(ValueError, match="Keys"):
        params_from_strings(JitterParams, {"keys": "0"})


def test_write_keys_for_real_and_read_the_ttls_back():
    client = fakeredis.FakeRedis()
    ns = Namespace("abcd1234")
    histogram = write_keys(client, ns, keys=1_000, ttl_s=60, jitter_s=120, seed=3)
    assert histogram["keys"].sum() == 1_000
    assert histogram.ttl_s.min() >= 59 and histogram.ttl_s.max() <= 180
    assert histogram.ttl_s.nunique() > 60  # spread, not one value
    keys = list(client.scan_iter(match="lab:{abcd1234}:ttl-cost:jitter:*"))
    assert len(keys) == 1_000


def test_write_keys_without_jitter_gives_one_ttl_and_refuses_leases_over_a_day():
    histogram = write_keys(fakeredis.FakeRedis(), keys=100, ttl_s=60, jitter_s=0)
    assert histogram.ttl_s.tolist() in ([60], [59], [59, 60])
    with pytest.raises(ValueError):
        write_keys(fakeredis.FakeRedis(), keys=10, ttl_s=86_400, jitter_s=10)
