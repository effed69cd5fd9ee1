from dataclasses import dataclass

import pandas as pd
import pytest

from labs.core.experiment import (Result, check_ranges, knob, knob_label, knobs, label_of, params_from_strings,
                                  register)
from labs.core.measures import measure

from labs import load_all


@dataclass(frozen=True)
class DemoParams:
    n: int = knob(10, min=1, max=100, help="how many", label="requests")
    rate: float = knob(0.5, min=0.0, max=1.0, help="a fraction")
    policy: str = knob("lru", choices=("lru", "lfu"), help="a policy")
    fast: bool = knob(False, help="a flag")

    def __post_init__(self):
        check_ranges(self)


def test_strings_become_typed_validated_params():
    p = params_from_strings(DemoParams, {"n": "1_0", "rate": "0.25", "policy": "lfu", "fast": "yes"})
    assert p == DemoParams(n=10, rate=0.25, policy="lfu", fast=True)


@pytest.mark.parametrize("values,message", [
    ({"n": "abc"}, "Requests must be a whole number, got 'abc'"),
    ({"n": "1.5"}, "Requests must be a whole number"),
    ({"n": "0"}, "Requests must be between 1 and 100, got 0"),
    ({"rate": "2"}, "Rate must be between 0 and 1, got 2"),
    ({"rate": "nan"}, "Rate must be a finite number"),
    ({"policy": "fifo"}, "Policy must be one of lru, lfu"),
    ({"fast": "maybe"}, "Fast must be true or false"),
    ({"colour": "red"}, "Unknown parameter 'colour'. Known: n, rate, policy, fast"),
])
def test_bad_values_get_a_message_a_learner_can_act_on(values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        params_from_strings(DemoParams, values)


def test_direct_construction_is_validated_too():
    with pytest.raises(ValueError, match="Requests must be a number"):
        DemoParams(n="3")


def test_messages_use_the_forms_words():
    """A message names the knob as the form labels it, never by its field name (issue 15)."""
    assert knob_label({"name": "crash_after"}) == "Crash after"
    assert knob_label({"name": "beta", "label": "β (XFetch eagerness)"}) == "β (XFetch eagerness)"
    assert label_of(DemoParams, "n") == "Requests"
    with pytest.raises(ValueError, match=r"^Rate must be between 0 and 1, got 1\.5\.$"):
        DemoParams(rate=1.5)


def test_knobs_describe_the_params():
    names = [k["name"] for k in knobs(DemoParams)]
    assert names == ["n", "rate", "policy", "fast"]
    assert knobs(DemoParams)[0]["max"] == 100


def test_result_json_turns_nan_into_null_and_keeps_frames(tmp_path):
    result = Result({"hit_ratio": float("nan"), "n": 3}, {"reads": pd.DataFrame({"a": [1, 2]})}, ["measured"])
    assert result.to_json() == {"metrics": {"hit_ratio": None, "n": 3}, "frames": {"reads": [{"a": 1}, {"a": 2}]},
                                "notes": ["measured"]}
    paths = result.write_csv(tmp_path / "out")
    assert sorted(p.name for p in paths) == ["metrics.csv", "reads.csv"]
    assert pd.read_csv(tmp_path / "out" / "reads.csv")["a"].tolist() == [1, 2]


def test_registry_has_the_home_experiment():
    registry = load_all()
    assert "first-read" in registry
    assert registry["first-read"].page == "app_pages/home.py"


def test_a_registered_run_returns_a_result_that_describes_itself(tmp_path):
    @dataclass(frozen=True)
    class P:
        n: int = knob(1, min=1, max=2, help="n")

    @register("demo-described", title="Demo", summary="demo", params=P,
              measures={"hit_ratio": measure("Hit ratio", "fraction", headline=True),
                        "t_ms": measure("Time", "ms")})
    def run(params, **_):
        return Result({"hit_ratio": 0.25}, {"reads": pd.DataFrame({"t_ms": [1.5], "hit_ratio": [0.5]})})

    from labs.core.experiment import REGISTRY

    try:
        result = REGISTRY["demo-described"].run(P())
        assert result.headlines() == ["hit_ratio"]
        assert result.describe("hit_ratio").format(0.25) == "25.0 %"
        assert result.to_json()["measures"]["t_ms"] == {"label": "Time", "unit": "ms", "help": "",
                                                        "shown": "Time (ms)"}
        result.write_csv(tmp_path)
        assert list(pd.read_csv(tmp_path / "reads.csv").columns) == ["Time (ms)", "Hit ratio (fraction, 0-1)"]
        metrics = pd.read_csv(tmp_path / "metrics.csv")
        assert metrics.iloc[0].to_dict() == {"metric": "hit_ratio", "label": "Hit ratio", "value": 0.25,
                                             "unit": "fraction", "shown": "25.0 %"}
    finally:
        REGISTRY.pop("demo-described", None)


def test_more_than_six_headlines_are_refused_at_registration():
    with pytest.raises(ValueError, match="at most 6"):
        register("demo-too-many", title="T", summary="t", params=DemoParams,
                 measures={f"m{i}": measure(f"Metric {i}", headline=True) for i in range(7)})
