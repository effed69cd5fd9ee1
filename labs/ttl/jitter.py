"""Synchronized expiry vs jitter: keys written together expire together — unless their TTLs are spread.

K keys written at once with the same TTL all run out in the same second; if they are hot, every one is
re-read right after it expires, misses, and goes to the database in that same second (a "thundering
herd" / cache avalanche). Adding a uniform random jitter in [0, J] seconds to each TTL spreads the
expirations over J + 1 seconds, so the peak drops by roughly (J + 1)× minus binomial noise.

The experiment is SIMULATED on a virtual clock (no waiting, no keys). :func:`write_keys` does it for
real on a given client (``SET … EX ttl + jitter`` in a pipeline) and reads the TTLs back.

Source: AWS whitepaper "Performance at Scale with Amazon ElastiCache", section on the thundering herd:
"add some randomness to your TTL: ttl = 3600 + (rand() * 120)" (quoted in
sal-razzaq.blogspot.com/2016/01/aws-elasticache-memcached.html); AWS "Caching best practices" makes the
same recommendation. Note that Redis removes an expired key lazily (on access) or in its active expire
cycle (``hz``, 10 times a second by default), so memory is reclaimed slightly after the logical expiry;
reads see the key as gone from the moment its TTL runs out (redis.io docs, "EXPIRE — How Redis expires keys").
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, check_ttl, new_session_id

LAB = "ttl-cost"
PAGE = "app_pages/ttl_cost.py"
_CHUNK = 500  # commands per pipeline round trip


@dataclass(frozen=True)
class JitterParams:
    keys: int = knob(10_000, min=1, max=1_000_000, label="keys", help="How many keys are written at the same moment.")
    ttl_s: int = knob(60, min=1, max=86_400, unit="s", label="TTL", help="The base lease of every key.")
    jitter_s: int = knob(120, min=0, max=86_400, unit="s", label="jitter",
                         help="Each key's TTL gets a uniform random extra of 0 … jitter seconds.")
    target_peak_per_s: int = knob(100, min=1, max=1_000_000, unit="misses/s", label="target peak",
                                  help="The most database misses per second you can absorb.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the random jitter (same seed, same draws).")

    def __post_init__(self) -> None:
        check_ranges(self)


def jitter_draws(keys: int, jitter_s: int, seed: int) -> np.ndarray:
    """Whole-second jitters, uniform on {0, …, jitter_s} (``SET … EX`` takes whole seconds)."""
    rng = np.random.default_rng(seed)
    return np.floor(rng.random(keys) * (jitter_s + 1)).astype(np.int64)


def expirations_per_second(ttls: np.ndarray) -> np.ndarray:
    """Keys written at t = 0 with these TTLs: how many expire in each second (index = second)."""
    return np.bincount(ttls.astype(np.int64))


def peak_with_jitter(keys: int, ttl_s: int, jitter_s: int, seed: int) -> int:
    return int(expirations_per_second(ttl_s + jitter_draws(keys, jitter_s, seed)).max())


def jitter_needed(keys: int, ttl_s: int, target_peak_per_s: int, seed: int, max_jitter_s: int = 10 * 86_400) -> int:
    """Smallest J with a simulated peak ≤ target, by bisection (−1 if even ``max_jitter_s`` is not enough).

    The peak is random (binomial counts), so it is not strictly monotone in J: the bisection returns a J
    whose simulated peak is under the target with J − 1 above it, for this seed. The lower bound
    ceil(K / target) − 1 holds for any spread: J + 1 seconds cannot hold K keys at ≤ target per second.
    """
    if keys <= target_peak_per_s:
        return 0
    lo = max(0, math.ceil(keys / target_peak_per_s) - 1)  # below this no draw can meet the target
    if peak_with_jitter(keys, ttl_s, lo, seed) <= target_peak_per_s:
        return lo
    hi = max(lo + 1, 2 * lo)
    while peak_with_jitter(keys, ttl_s, hi, seed) > target_peak_per_s:
        if hi >= max_jitter_s:
            return -1
        lo, hi = hi, min(max_jitter_s, 2 * hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if peak_with_jitter(keys, ttl_s, mid, seed) <= target_peak_per_s:
            hi = mid
        else:
            lo = mid
    return hi


JITTER_MEASURES = {
    "keys": measure("Keys written at once", "keys"),
    "peak_no_jitter": measure("Peak without jitter", "misses/s", headline=True,
                              help="Database misses in the busiest second when every TTL is the same."),
    "peak_with_jitter": measure("Peak with jitter", "misses/s", headline=True, help="The busiest second of this draw."),
    "peak_reduction": measure("Peak cut by", "×", headline=True, help="Peak without jitter ÷ peak with jitter."),
    "spread_s": measure("Seconds with expirations", "s", help="How many distinct seconds the expirations fell in."),
    "jitter_needed_s": measure("Jitter needed for the target", "s", headline=True,
                               help="The smallest jitter whose simulated peak stays under the target (−1: none)."),
    "jitter_lower_bound_s": measure("Jitter needed at the least", "s", headline=True,
                                    help="⌈keys ÷ target⌉ − 1: fewer seconds cannot hold the keys at the target rate."),
    "target_peak_per_s": measure("Target peak", "misses/s"),
    "second": measure("Second after the write", "s"), "strategy": measure("Strategy", "text"),
    "expirations": measure("Expirations", "keys"), "db_misses": measure("Database misses", "misses"),
}


@register("expiry-jitter", title="Synchronized expiry and jitter",
          summary="10,000 keys written together expire in the same second; random jitter on the TTL spreads them.",
          params=JitterParams, page=PAGE, measures=JITTER_MEASURES)
def run(params: JitterParams, *, backend: Any = None, ns: Any = None, log: Any = None,
        on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    """SIMULATED on a virtual clock: every key is written at t = 0, hot keys are re-read as they expire."""
    fixed = expirations_per_second(np.full(params.keys, params.ttl_s))
    jittered = expirations_per_second(params.ttl_s + jitter_draws(params.keys, params.jitter_s, params.seed))
    seconds = np.arange(max(len(fixed), len(jittered)) + 1)
    rows = []
    for name, counts in (("fixed TTL", fixed), ("TTL + jitter", jittered)):
        padded = np.zeros(len(seconds), dtype=np.int64)
        padded[:len(counts)] = counts
        keep = seconds >= max(0, params.ttl_s - 1)
        rows.append(pd.DataFrame({"second": seconds[keep], "strategy": name, "expirations": padded[keep],
                                  "db_misses": padded[keep]}))
    frame = pd.concat(rows, ignore_index=True)
    peak_fixed, peak_jitter = int(fixed.max()), int(jittered.max())
    needed = jitter_needed(params.keys, params.ttl_s, params.target_peak_per_s, params.seed)
    if on_progress:
        on_progress(1.0)
    metrics = {"keys": params.keys, "peak_no_jitter": peak_fixed, "peak_with_jitter": peak_jitter,
               "peak_reduction": peak_fixed / peak_jitter, "spread_s": int(np.count_nonzero(jittered)),
               "jitter_needed_s": needed,
               "jitter_lower_bound_s": max(0, math.ceil(params.keys / params.target_peak_per_s) - 1),
               "target_peak_per_s": params.target_peak_per_s}
    notes = [f"SIMULATED on a virtual clock: {params.keys:,} keys written at t = 0, no real waiting and no keys — "
             "whichever backend (embedded, sandbox or live) is selected. 'Do it for real' writes a small "
             "batch with SET … EX.",
             "Misses per second on the database = expirations per second, assuming every key is hot (re-read "
             "right after it expires) and nothing coalesces the refills.",
             f"Jitter is uniform on 0 … {params.jitter_s} whole seconds (seed {params.seed}); the peak is the "
             "busiest second of that draw, so it varies a little with the seed.",
             "Source: AWS, 'Performance at Scale with Amazon ElastiCache' — add randomness to TTLs "
             "(ttl = 3600 + rand() * 120) to avoid the thundering herd."]
    if needed < 0:
        notes.append("No jitter up to 10 days keeps the peak under the target with this seed.")
    return Result(metrics, {"expirations": frame}, notes)


def write_keys(client: Any, ns: Namespace | None = None, keys: int = 1_000, ttl_s: int = 60, jitter_s: int = 120,
               seed: int = 7, value: str = "x") -> pd.DataFrame:
    """Write ``keys`` namespaced keys with ``SET … EX ttl_s + jitter`` (pipelined), read ``TTL`` back.

    Returns the histogram of TTLs read back: columns ``ttl_s`` and ``keys``. Every key is under the
    learner's namespace (``lab:{sid}:ttl-cost:jitter:<i>``) and keeps a lease of at most 24 h.
    """
    if not 1 <= keys <= 100_000:
        raise ValueError(f"keys must be between 1 and 100,000 for a real write, got {keys}.")
    check_ttl(ttl_s)
    check_ttl(ttl_s + jitter_s)
    ns = (ns or Namespace(new_session_id())).for_lab(LAB)
    names = [ns.key(f"jitter:{i}") for i in range(keys)]
    ttls = ttl_s + jitter_draws(keys, jitter_s, seed)
    for start in range(0, keys, _CHUNK):
        pipe = client.pipeline(transaction=False)
        for name, ttl in zip(names[start:start + _CHUNK], ttls[start:start + _CHUNK]):
            pipe.set(name, value, ex=int(ttl))
        pipe.execute()
    read: list[int] = []
    for start in range(0, keys, _CHUNK):
        pipe = client.pipeline(transaction=False)
        for name in names[start:start + _CHUNK]:
            pipe.ttl(name)
        read.extend(int(t) for t in pipe.execute())
    counts = Counter(read)
    return pd.DataFrame(sorted(counts.items()), columns=["ttl_s", "keys"])
