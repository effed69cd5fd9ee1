"""The stampede as a discrete-event simulation on a virtual clock (no Redis, no sleeps).

K hot keys are cached at t = 0 with the same TTL; requests arrive as a Poisson process (uniform over the
keys); a recompute takes D seconds of virtual time. Each strategy follows the same rules as its real
class in :mod:`labs.invalidation.stampede.strategies` — the XFetch decision is literally the same function:

* none / TTL jitter: every request that finds the key gone recomputes; jitter adds U(0, J) to each TTL
  so keys cached together do not expire together (it does nothing for one key);
* single-flight: the first miss takes the lock and recomputes; others poll every ``retry`` seconds;
* XFetch: a hit refreshes early with probability ``exp(−time_left/(β·δ))`` (the reader recomputes itself);
* stale-while-revalidate: past the soft TTL a read returns the stale copy at once and one background
  refresh (guarded by the lock) rebuilds it; only a key gone past its stale window is a real miss.

Expected (Vattani et al., PVLDB 2015, §1; asserted in tests/unit/test_stampede.py): with no protection an
expiry costs about ``1 + rate × D`` recomputes; single-flight costs exactly one; XFetch leaves ≈ 0 misses.
"""
from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labs.core.metrics import percentiles
from labs.invalidation.stampede.strategies import xfetch_early

SIM_STRATEGIES = ("none", "TTL jitter", "single-flight lock", "XFetch", "stale-while-revalidate")


@dataclass(frozen=True)
class SimSpec:
    rate_per_s: float = 500.0       # requests per second, all keys together
    recompute_s: float = 0.1        # D
    ttl_s: float = 10.0
    keys: int = 1
    duration_s: float = 60.0
    beta: float = 1.0
    jitter_s: float = 2.0
    stale_s: float = 10.0
    retry_s: float = 0.01
    seed: int = 1


@dataclass
class _Key:
    expires_at: float
    fresh_until: float
    delta: float
    lock_until: float = -math.inf
    in_flight: int = 0


def simulate(strategy: str, spec: SimSpec) -> dict:
    """Run one strategy; returns per-request and per-recompute tables plus counts."""
    if strategy not in SIM_STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(SIM_STRATEGIES)}.")
    rng = random.Random(spec.seed)
    arrivals_rng = np.random.default_rng(spec.seed)
    n = int(arrivals_rng.poisson(spec.rate_per_s * spec.duration_s))
    times = np.sort(arrivals_rng.uniform(0.0, spec.duration_s, size=n))
    key_of = arrivals_rng.integers(0, spec.keys, size=n)
    jitter = strategy == "TTL jitter"
    swr = strategy == "stale-while-revalidate"
    locked = strategy in ("single-flight lock", "stale-while-revalidate")

    def ttl() -> float:
        return spec.ttl_s + (rng.uniform(0.0, spec.jitter_s) if jitter else 0.0)

    keys = []
    for _ in range(spec.keys):
        fresh = ttl()
        keys.append(_Key(fresh + (spec.stale_s if swr else 0.0), fresh, spec.recompute_s))
    events: list[tuple] = [(float(t), i, "arrive", int(k), i) for i, (t, k) in enumerate(zip(times, key_of))]
    heapq.heapify(events)
    seq = n
    latency = np.zeros(n)
    outcome = np.empty(n, dtype=object)
    recomputes: list[tuple[float, int, str]] = []
    expiries = 0

    def start_recompute(now: float, k: int, req: int | None, why: str) -> None:
        nonlocal seq, expiries
        if why == "miss" and keys[k].in_flight == 0:
            expiries += 1  # the first miss of a cold key: one expiry
        keys[k].in_flight += 1
        recomputes.append((now, k, why))
        seq += 1
        heapq.heappush(events, (now + spec.recompute_s, seq, "done", k, -1 if req is None else req))

    while events:
        now, _, kind, k, req = heapq.heappop(events)
        state = keys[k]
        if kind == "done":
            state.in_flight -= 1
            fresh = now + ttl()
            state.fresh_until, state.expires_at = fresh, fresh + (spec.stale_s if swr else 0.0)
            state.delta = spec.recompute_s
            if locked:
                state.lock_until = -math.inf
            if req >= 0:
                latency[req] = now - times[req]
            continue
        present = now < state.expires_at
        if kind == "retry":  # a single-flight waiter polls again
            if present:
                latency[req], outcome[req] = now - times[req], "waited"
            elif state.lock_until <= now:
                state.lock_until = now + 5 * spec.recompute_s
                outcome[req] = "miss"
                start_recompute(now, k, req, "miss")
            else:
                seq += 1
                heapq.heappush(events, (now + spec.retry_s, seq, "retry", k, req))
            continue
        if present and swr and now >= state.fresh_until:
            outcome[req] = "stale"
            if state.lock_until <= now:
                state.lock_until = now + 5 * spec.recompute_s
                start_recompute(now, k, None, "background")
            continue
        if present:
            early = strategy == "XFetch" and xfetch_early(state.fresh_until - now, state.delta, spec.beta,
                                                          1.0 - rng.random())
            if early:
                outcome[req] = "early refresh"
                start_recompute(now, k, req, "early")
            else:
                outcome[req] = "hit"
            continue
        if locked and state.lock_until > now:
            outcome[req] = "waited"
            seq += 1
            heapq.heappush(events, (now + spec.retry_s, seq, "retry", k, req))
            continue
        if locked:
            state.lock_until = now + 5 * spec.recompute_s
        outcome[req] = "miss"
        start_recompute(now, k, req, "miss")
    return {"times": times, "latency_s": latency, "outcome": outcome,
            "recomputes": pd.DataFrame(recomputes, columns=["t_s", "key", "why"]), "expiries": expiries}


def max_overlap(starts: np.ndarray, length: float) -> int:
    """The most intervals [s, s + length) open at once (recomputes running together)."""
    if len(starts) == 0:
        return 0
    s = np.sort(starts)
    return int((np.arange(len(s)) - np.searchsorted(s, s - length, side="right") + 1).max())


def summarize(strategy: str, run: dict, spec: SimSpec) -> dict:
    out = run["outcome"]
    lat_ms = run["latency_s"] * 1000
    rec = run["recomputes"]
    per_second = np.bincount(rec.t_s.astype(int), minlength=int(math.ceil(spec.duration_s)) + 1) if len(rec) else [0]
    pct = percentiles(lat_ms, (50, 99))
    misses = int(sum(o in ("miss", "waited") for o in out))
    return {"strategy": strategy, "requests": len(out), "db_recomputes": len(rec),
            "expiries": run["expiries"], "recomputes_per_expiry": len(rec) / run["expiries"] if run["expiries"] else float("nan"),
            "peak_recomputes_per_s": int(np.max(per_second)), "max_concurrent_recomputes": max_overlap(rec.t_s.to_numpy(), spec.recompute_s),
            "misses": misses, "stale_reads": int(sum(o == "stale" for o in out)),
            "early_refreshes": int(sum(o == "early refresh" for o in out)),
            "latency_p50_ms": pct["p50"], "latency_p99_ms": pct["p99"], "latency_max_ms": float(lat_ms.max()) if len(lat_ms) else float("nan")}


def timeline(strategy: str, run: dict, spec: SimSpec, bin_s: float = 1.0) -> pd.DataFrame:
    """Recomputes per second of virtual time (the chart's line for this strategy)."""
    bins = np.arange(0.0, spec.duration_s + bin_s, bin_s)
    counts, _ = np.histogram(run["recomputes"].t_s, bins=bins)
    return pd.DataFrame({"t_s": bins[:-1], "recomputes_per_s": counts / bin_s, "strategy": strategy})
