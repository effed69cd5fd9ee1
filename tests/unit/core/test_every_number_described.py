"""The measures contract over every registered experiment, at its knobs' limits (issue 15).

Each experiment runs twice on a sandbox backend: every numeric knob at its declared minimum, then every
numeric knob at its declared maximum. Each run must end one of two ways:

* a result whose every metric and every table column has a label and a unit (``Result.describe``), with
  at most :data:`MAX_HEADLINES` headline tiles; or
* a ``ValueError`` whose message names a knob the way the form does (:func:`knob_label`) — a sentence
  a learner can act on — never a traceback, and never a message about a field name.

A run at the maxima can be long (2 million requests, a 30-minute replay): it gets a short time budget
(``LAB_KNOB_BUDGET_S``, 1.5 s by default) and is stopped there — by its own progress callback where it
takes one (as the page's Cancel button stops it), else by an alarm. A run still going when the budget
ends has neither crashed nor refused, so it passes. The semantic experiments get a hashing embedder
instead of the real model: the contract is about their numbers' labels, not the model.
"""
from __future__ import annotations

import inspect
import os
import re
import signal
import threading
import time
from typing import Any

import pytest

from labs import load_all
from labs.ai.semantic.embedder import HashingEmbedder
from labs.core.backends import BackendError, open_sandbox
from labs.core.experiment import MAX_HEADLINES, Result, knob_label, knobs
from labs.core.servers import ServerUnavailable

BUDGET_S = float(os.environ.get("LAB_KNOB_BUDGET_S", "1.5"))
EXPERIMENTS = sorted(load_all())


class OverBudget(BaseException):
    """Raised in the run by the budget's alarm (a BaseException, so the experiment's handlers let it pass)."""


def at_limit(params_cls: type, end: str) -> dict[str, Any]:
    """Every numeric knob at its declared ``min`` or ``max``; the other knobs keep their defaults."""
    values = {}
    for k in knobs(params_cls):
        if k["type"] in (int, float) and k.get(end) is not None:
            values[k["name"]] = k["type"](k[end])
    return values


def names_a_knob(message: str, params_cls: type) -> bool:
    text = message.lower()
    return any(knob_label(k).lower().split(" (")[0] in text for k in knobs(params_cls))


def undescribed(result: Result) -> list[str]:
    keys = [f"metric {k!r}" for k in result.metrics if result.describe(k) is None]
    for name, frame in result.frames.items():
        keys += [f"column {c!r} of {name!r}" for c in frame.columns if result.describe(str(c)) is None]
    return keys


def run_within_budget(exp, params) -> Result | None:
    """The run, or None when the budget ended it first (only the main thread can take the alarm)."""
    accepts = inspect.signature(exp.run).parameters
    deadline = time.monotonic() + BUDGET_S
    kwargs: dict[str, Any] = {"backend": open_sandbox()}
    if "embedder" in accepts:
        kwargs["embedder"] = HashingEmbedder(64)
    if "on_progress" in accepts:
        def on_progress(*_):
            if time.monotonic() > deadline:
                raise OverBudget
        kwargs["on_progress"] = on_progress
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover - pytest runs tests there
        return exp.run(params, **kwargs)

    def alarm(*_):
        raise OverBudget

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, BUDGET_S)
    try:
        return exp.run(params, **kwargs)
    except OverBudget:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("end", ["min", "max"])
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_knob_at_its_limit_runs_or_says_which_knob(name, end):
    exp = load_all()[name]
    values = at_limit(exp.params_cls, end)
    try:
        params = exp.params_cls(**values)
        result = run_within_budget(exp, params)
    except ValueError as exc:
        assert names_a_knob(str(exc), exp.params_cls), f"{name} at its {end}ima: {exc!r} names no knob"
        return
    except (BackendError, ServerUnavailable) as exc:  # no server here: a sentence, not a traceback
        pytest.skip(f"{name}: {exc}")
    if result is None:
        return
    missing = undescribed(result)
    assert not missing, f"{name} at its {end}ima: no label/unit for {missing}"
    assert len(result.headlines()) <= MAX_HEADLINES, f"{name}: {len(result.headlines())} headline tiles"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_declares_its_measures(name):
    """Every experiment declares measures whose labels are words (no field names), with at most 6 headlines."""
    exp = load_all()[name]
    assert exp.measures, f"{name} declares no measures"
    assert len([k for k, m in exp.measures.items() if m.headline and "*" not in k]) <= MAX_HEADLINES
    for key, m in exp.measures.items():
        # camelCase as the page walk sees it (tests/app/test_pages.py): "RedisVL" and "GiB" are words
        assert "_" not in m.label and not re.search(r"\b[a-z]+[A-Z]", m.label), f"{name}: {key} → {m.label!r}"
