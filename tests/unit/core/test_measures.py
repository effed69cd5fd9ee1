"""Every number a learner reads goes through one formatter, with its label in words and its unit."""
from __future__ import annotations

import math

import pytest

from labs.core.experiment import Experiment, Result
from labs.core.measures import COMMON, describe, format_value, measure


@pytest.mark.parametrize("value, unit, shown", [
    (0.64538, "fraction", "64.5 %"),
    (93.5, "%", "93.5 %"),
    (-1.25, "pp", "-1.2 pp"),
    (3.8213, "×", "3.82×"),
    (1_437_400, "bytes", "1.44 MB"),
    (812, "bytes", "812 bytes"),
    (12.3, "$/month", "$12.30/month"),
    (-4.5, "$", "−$4.50"),
    (1, "keys", "1 key"),
    (12_000, "keys", "12,000 keys"),
    (0.0412, "ms", "0.0412 ms"),
    (True, "yes/no", "yes"),
    ("valkey 9.1.2", "text", "valkey 9.1.2"),
    (math.nan, "ms", "—"),
    (math.inf, "GB", "unbounded"),
])
def test_a_value_is_printed_with_its_unit(value, unit, shown):
    assert format_value(value, measure("Some value", unit)) == shown


def test_a_format_spec_overrides_the_unit_default():
    assert format_value(0.123456, measure("Hit ratio", "fraction", fmt=".3f")) == "12.346 %"


def test_labels_must_be_words_and_units_known():
    with pytest.raises(ValueError, match="words"):
        measure("hit_ratio", "fraction")
    with pytest.raises(ValueError, match="unknown unit"):
        measure("Hit ratio", "percent-ish")


def test_heading_carries_the_unit_for_tables_and_csv():
    assert measure("Cache hit, median", "µs").heading == "Cache hit, median (µs)"
    assert measure("Stale reads", "reads").heading == "Stale reads"          # the label already says it
    assert measure("Longest queue", "writes").heading == "Longest queue (writes)"
    assert measure("Hit ratio", "fraction").heading == "Hit ratio (%)"
    assert measure("Server", "text").heading == "Server"


def test_patterns_fill_their_label_from_what_the_star_matched():
    measures = {"hit_median_us": measure("Cache hit, median", "µs"),
                "*: hit_ratio": measure("Hit ratio — {0}", "fraction")}
    assert describe(measures, "hit_median_us").label == "Cache hit, median"
    assert describe(measures, "cache-aside: hit_ratio").label == "Hit ratio — cache-aside"
    assert describe(measures, "latency_us") is COMMON["latency_us"]
    assert describe(measures, "nothing_declared") is None


def test_an_experiment_describes_its_metrics():
    exp = Experiment("x", "X", "x", object, lambda p: Result({}), measures={"speedup": measure("Speed-up", "×")})
    assert exp.describe("speedup").format(3.5) == "3.50×"
