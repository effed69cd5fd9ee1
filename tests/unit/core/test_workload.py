import numpy as np
import pytest

from labs.core.workload import TraceSpec, make_trace, popularity


def test_zipf_popularity_is_a_distribution_skewed_by_alpha():
    p = popularity(100, 1.0)
    assert p.sum() == pytest.approx(1.0) and p[0] / p[1] == pytest.approx(2.0)  # rank 1 twice rank 2 at α=1
    assert np.allclose(popularity(10, 0.0), 0.1)  # α = 0 is uniform


def test_same_seed_same_trace_and_parameters_hold():
    spec = TraceSpec(requests=20_000, entities=50, write_fraction=0.25, zipf_alpha=1.0, rate_per_s=500, seed=4)
    a, b = make_trace(spec), make_trace(spec)
    assert a.equals(b)
    assert a.entity.between(1, 50).all() and a.t_ms.is_monotonic_increasing
    assert (a.op == "write").mean() == pytest.approx(0.25, abs=0.02)
    assert a.t_ms.iloc[-1] / 1000 == pytest.approx(20_000 / 500, rel=0.05)  # Poisson arrivals at 500/s
    top_share = a.entity.value_counts(normalize=True).iloc[0]
    assert top_share == pytest.approx(popularity(50, 1.0)[0], abs=0.02)


def test_bad_specs_are_explained():
    with pytest.raises(ValueError, match="write_fraction"):
        TraceSpec(write_fraction=1.5)
    with pytest.raises(ValueError, match="zipf_alpha"):
        TraceSpec(zipf_alpha=-1)
