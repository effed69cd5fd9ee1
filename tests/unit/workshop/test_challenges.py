"""Every challenge is judged on a real run: its ``solution`` params pass, its ``miss`` params fail with a hint.

The experiments run headless (sandbox backend; patterns-crash starts its own private server, as on the
page). A challenge is never judged from anything but the params submitted and the Result returned.
"""
from __future__ import annotations

import dataclasses

import pytest

from labs.workshop import challenges
from labs.workshop.challenges import CHALLENGES, Challenge, Rule, check
from labs.core.experiment import Result
from labs import load_all

NEEDS_PRIVATE_SERVER = {"patterns-crash"}


@pytest.fixture(scope="module")
def sandbox():
    from labs.core.backends import open_sandbox

    backend = open_sandbox()
    yield backend
    backend.close()


def _run(challenge: Challenge, values: dict, backend):
    exp = load_all()[challenge.experiment]
    if challenge.experiment in NEEDS_PRIVATE_SERVER:
        from labs.core.servers import PrivateServer, ServerUnavailable

        try:
            PrivateServer().start().stop()
        except ServerUnavailable as exc:
            pytest.skip(f"{challenge.experiment} needs a private server: {exc}")
    params = exp.params_cls(**values)
    return params, exp.run(params, backend=backend)


def test_every_challenge_names_a_registered_experiment_and_a_page_that_shows_it():
    registry = load_all()
    for c in CHALLENGES:
        assert c.experiment in registry, c.id
        page = registry[c.experiment].page
        assert not page or page == c.page, (c.id, page, c.page)
        fields = {f.name for f in dataclasses.fields(registry[c.experiment].params_cls)}
        assert {r.key for r in c.constraints} <= fields, c.id
        assert set(c.solution) <= fields and set(c.miss) <= fields, c.id


def test_two_or_three_challenges_per_lab():
    for lab, items in challenges.by_lab().items():
        assert 2 <= len(items) <= 3, lab


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_a_run_that_meets_the_goal_passes_with_its_reason(challenge, sandbox):
    params, result = _run(challenge, dict(challenge.solution), sandbox)
    verdict = check(challenge, params, result)
    assert verdict.passed, verdict.reason
    assert "{" not in verdict.reason, verdict.reason  # every placeholder filled with the run's numbers
    assert verdict.reason


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.id)
def test_a_run_that_misses_fails_with_a_hint(challenge, sandbox):
    params, result = _run(challenge, dict(challenge.miss), sandbox)
    verdict = check(challenge, params, result)
    assert not verdict.passed
    assert verdict.hint == challenge.hint and verdict.hint
    assert verdict.reason.startswith("Not yet:"), verdict.reason  # missed the goal, not the rules
    assert verdict.missed


def test_breaking_a_constraint_is_not_a_pass_even_when_the_metric_is_met():
    """A bigger cache reaches 75 % easily — but the challenge caps maxmemory at 1,100 keys."""
    challenge = challenges.get("eviction-three-quarters")
    exp = load_all()[challenge.experiment]
    params = exp.params_cls(capacity=2000)
    fake = Result(metrics={"allkeys-lfu: hit_ratio": 0.85})
    verdict = check(challenge, params, fake)
    assert not verdict.passed and "at most 1,100" in verdict.reason and "2,000" in verdict.reason


def test_a_missing_metric_or_nan_never_passes():
    rule = Rule("hit_ratio", ">=", 0.5)
    assert not rule.holds(None) and not rule.holds(float("nan")) and not rule.holds("high")
    challenge = challenges.get("jitter-flatten")
    params = load_all()[challenge.experiment].params_cls(jitter_s=140)
    verdict = check(challenge, params, Result(metrics={}))
    assert not verdict.passed and "no peak misses per second" in verdict.reason


def test_a_glob_goal_is_met_by_any_matching_metric():
    rule = Rule("allkeys-*: hit_ratio", ">=", 0.75)
    assert challenges._metric_values(rule.key, {"allkeys-lru: hit_ratio": 0.7, "allkeys-lfu: hit_ratio": 0.8,
                                                 "opt: hit_ratio": 0.9}) == [
        ("allkeys-lru: hit_ratio", 0.7), ("allkeys-lfu: hit_ratio", 0.8)]


def test_ids_are_unique_and_well_formed():
    assert len({c.id for c in CHALLENGES}) == len(CHALLENGES)
    with pytest.raises(ValueError):
        Challenge("Bad Id", "x", "y", "t", "g", (), (), "h", "r")
