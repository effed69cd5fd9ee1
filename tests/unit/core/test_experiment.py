from dataclasses import dataclass

import pandas as pd
import pytest

from labs.core.experiment import Result, check_ranges, knob, knobs, params_from_strings

from labs import load_all


@dataclass(frozen=True)
class DemoParams:
    n: int = knob(10, min=1, max=100, help="how many")
    rate: float = knob(0.5, min=0.0, max=1.0, help="a fraction")
    policy: str = knob("lru", choices=("lru", "lfu"), help="a policy")
    fast: bool = knob(False, help="a flag")

    def __post_init__(self):
        check_ranges(self)


def test_strings_become_typed_validated_params():
    p = params_from_strings(DemoParams, {"n": "1_0", "rate": "0.25", "policy": "lfu", "fast": "yes"})
    assert p == DemoParams(n=10, rate=0.25, policy="lfu", fast=True)


@pytest.mark.parametrize("values,message", [
    ({"n": "abc"}, "n must be a whole number, got 'abc'"),
    ({"n": "1.5"}, "n must be a whole number"),
    ({"n": "0"}, "n must be between 1 and 100, got 0"),
    ({"rate": "2"}, "rate must be between 0.0 and 1.0"),
    ({"rate": "nan"}, "rate must be a finite number"),
    ({"policy": "fifo"}, "policy must be one of lru, lfu"),
    ({"fast": "maybe"}, "fast must be true or false"),
    ({"colour": "red"}, "Unknown parameter 'colour'. Known: n, rate, policy, fast"),
])
def test_bad_values_get_a_message_a_learner_can_act_on(values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        params_from_strings(DemoParams, values)


def test_direct_construction_is_validated_too():
    with pytest.raises(ValueError, match="n must be a number"):
        DemoParams(n="3")


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
