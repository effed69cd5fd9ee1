"""The lease planner, prices and memory model of labs/ttl/cost.py and labs/ttl/memory.py (pure computation, no server).

Known results and their sources:
* Little's law, L = λW (J. D. C. Little, "A proof for the queuing formula L = λW", Operations Research
  9(3), 1961): with keys arriving at λ per second and each living TTL seconds, live keys → λ × TTL.
* Without a TTL nothing leaves: keys (and bytes) grow linearly, λ × t × bytes per key.
* Cache-aside (AWS whitepaper "Database Caching Strategies Using Redis", lazy loading): a read after the
  lease ran out misses; a TTL shorter than the data's useful life lowers the hit ratio.
* ElastiCache reserves 25 % of a node's memory by default (AWS docs, "Managing reserved memory"), so a
  node holds memory × (1 − reserved) of data.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from labs.ttl.cost import (GIB, PRESETS, DataClass, LeaseParams, load_prices, monthly_cost, node_for, parse_classes,
                           plan, presets_json, run_planner, serverless_monthly)
from labs.ttl.memory import DEFAULT_MODEL, MemoryModel


def _one(**kw) -> DataClass:
    base = dict(name="c", keys_per_s=10, key_bytes=20, value_bytes=100, ttl_s=600, reads_per_key=0,
                useful_life_s=600)
    return DataClass(**{**base, **kw})


def test_memory_model_adds_key_value_and_ttl_entry():
    model = MemoryModel(50, 30, 1.0, source="test")
    assert model.bytes_per_key(16, 100, ttl=False) == 166
    assert model.bytes_per_key(16, 100, ttl=True) == 196
    assert model.total_bytes(1_000, 16, 100, ttl=True) == 196_000
    assert "measured on" in DEFAULT_MODEL.source and "2026-11-29" in DEFAULT_MODEL.source


def test_littles_law_live_keys_approach_rate_times_ttl():
    """L = λW: 10 keys/s × 600 s = 6,000 live keys at steady state (within 5 % on a 24 h run)."""
    out = plan([_one()], horizon_h=24, step_min=15)
    row = out["classes"].iloc[0]
    assert row.keys_at_horizon == pytest.approx(6_000, rel=0.05)
    assert row.steady_keys == pytest.approx(6_000, rel=0.05)
    assert row.bytes_at_horizon == pytest.approx(6_000 * DEFAULT_MODEL.bytes_per_key(20, 100, True), rel=0.05)


def test_littles_law_counts_refills_as_arrivals():
    """With re-reads, each cache-aside refill is another arrival: L = λ × mean resident time per key."""
    cls = _one(ttl_s=60, reads_per_key=20, useful_life_s=600)
    out = plan([cls], horizon_h=24, step_min=30, seed=1)
    row = out["classes"].iloc[0]
    assert 600 < row.keys_at_horizon < 10 * 600  # more than λ·TTL (refills), less than λ·useful life
    assert row.keys_at_horizon == pytest.approx(row.steady_keys, rel=0.01)


def test_no_ttl_grows_linearly_at_rate_times_bytes_per_key():
    cls = _one(ttl_s=0)
    out = plan([cls], horizon_h=48, step_min=60)
    timeline = out["timeline"]
    slope, intercept = np.polyfit(timeline.t_h * 3600, timeline["bytes"], 1)
    per_key = DEFAULT_MODEL.bytes_per_key(20, 100, False)
    assert slope == pytest.approx(10 * per_key, rel=1e-6)
    assert abs(intercept) < per_key
    assert out["no_ttl_bytes"] == pytest.approx(10 * 48 * 3600 * per_key)
    capped = plan([cls], horizon_h=48, step_min=60, maxmemory_bytes=1e8)
    assert capped["peak_bytes"] == pytest.approx(1e8) and capped["no_ttl_bytes"] == pytest.approx(1e8)


def test_a_ttl_shorter_than_the_useful_life_lowers_the_hit_ratio():
    short = plan([_one(name="short", ttl_s=60, reads_per_key=30, useful_life_s=1800)], seed=3)
    covering = plan([_one(name="covering", ttl_s=1800, reads_per_key=30, useful_life_s=1800)], seed=3)
    short_hit = short["classes"].iloc[0].hit_ratio
    assert covering["classes"].iloc[0].hit_ratio == 1.0
    assert short_hit < 0.9


def test_node_for_picks_the_smallest_node_respecting_the_reserved_fraction():
    prices = load_prices()
    assert node_for(0.3 * GIB, prices).node_type == "cache.t4g.micro"  # 0.5 GiB × 0.75 = 0.375 GiB
    assert node_for(0.4 * GIB, prices).node_type == "cache.t4g.small"  # does not fit the micro's 0.375
    assert node_for(0.4 * GIB, prices, reserved_fraction=0).node_type == "cache.t4g.micro"
    assert node_for(2.0 * GIB, prices).node_type == "cache.t4g.medium"
    assert node_for(500 * GIB, prices) is None


def test_node_for_prefers_the_cheaper_node_when_a_smaller_one_costs_more():
    """m7g.xlarge (12.93 GiB, 0.315 $/h) is smaller than r7g.large (13.07 GiB, 0.219 $/h): pick the cheaper."""
    assert node_for(9.5 * GIB, load_prices()).node_type == "cache.r7g.large"


def test_prices_are_dated_illustrative_and_cost_730_hours_a_month():
    prices = load_prices()
    assert list(prices.columns[:6]) == ["node_type", "memory_gib", "usd_per_hour", "family", "as_of", "source"]
    assert prices.source.str.contains("illustrative").all()
    assert pd.to_datetime(prices.as_of).notna().all()
    row = prices.set_index("node_type").loc["cache.r7g.large"]
    assert monthly_cost(row) == pytest.approx(row.usd_per_hour * 730)
    assert serverless_monthly(10, usd_per_gb_hour=0.1) == pytest.approx(730)
    assert serverless_monthly(0.01, engine="Redis OSS") == serverless_monthly(1.0, engine="Redis OSS")  # 1 GB minimum


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[]", "at least one row"),
    ('[{"name": "a"}]', "Row 1 \\('a'\\): field 'keys_per_s' is missing"),
    (json.dumps([{**json.loads(presets_json())[0], "ttl_s": -5}]), "Row 1 .*'ttl_s' must be between"),
    (json.dumps([json.loads(presets_json())[0], {**json.loads(presets_json())[1], "value_bytes": "big"}]),
     "Row 2 \\('user sessions'\\): field 'value_bytes' must be a number"),
    (json.dumps([{**json.loads(presets_json())[0], "colour": "red"}]), "unknown field\\(s\\) colour"),
    (json.dumps([json.loads(presets_json())[0]] * 2), "used twice"),
    ("[3]", "Row 1 must be a JSON object"),
])
def test_bad_classes_raise_a_value_error_naming_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_classes(text)
    with pytest.raises(ValueError, match=message):
        LeaseParams(classes=text)


def test_the_planner_answers_fast_and_labels_what_is_simulated():
    t0 = time.perf_counter()
    result = run_planner(LeaseParams())
    assert time.perf_counter() - t0 < 1.0
    assert len(parse_classes(presets_json())) == len(PRESETS)
    m = result.metrics
    assert m["usd_per_month_without_ttls"] > m["usd_per_month_with_ttls"] > 0
    assert m["savings_ratio"] > 1 and m["no_ttl_memory_gb"] > m["peak_memory_gb"]
    assert set(result.frames) == {"timeline", "totals", "classes", "nodes"}
    assert {"t_h", "class", "keys", "bytes"} <= set(result.frames["timeline"].columns)
    assert {"steady_keys", "hit_ratio", "share_of_cost"} <= set(result.frames["classes"].columns)
    assert result.frames["nodes"]["fits"].dtype == bool
    assert result.frames["classes"].share_of_cost.sum() == pytest.approx(1.0)
    text = " ".join(result.notes)
    assert "SIMULATED" in text and "ILLUSTRATIVE" in text and DEFAULT_MODEL.source in text


def test_the_without_ttls_line_grows_linearly_and_ends_at_the_horizon_figure():
    """'No TTL' memory grows linearly with time at rate × bytes per key (the comparison line)."""
    from labs.ttl.cost import LeaseParams, run_planner

    result = run_planner(LeaseParams(horizon_h=10))
    line = result.frames["totals"]
    without = line[line.data == "same data without TTLs"].reset_index(drop=True)
    slope = without.bytes.diff().dropna()
    assert slope.max() == pytest.approx(slope.min(), rel=1e-9)
    assert without.bytes.iloc[-1] / 1e9 == pytest.approx(result.metrics["no_ttl_memory_gb"])
    with_ttls = line[line.data == "with your TTLs"].bytes
    assert with_ttls.max() / 1e9 == pytest.approx(result.metrics["peak_memory_gb"])
