"""The stampede experiments: the discrete-event simulation, the real-thread run, and XFetch's odds."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import redis

from labs.core.backends import open_backend_for
from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, new_session_id
from labs.invalidation.stampede.real import run_real
from labs.invalidation.stampede.simulate import SIM_STRATEGIES, SimSpec, simulate, summarize, timeline
from labs.invalidation.stampede.strategies import STRATEGIES, xfetch_early, xfetch_probability

PAGE = "app_pages/invalidation.py"
VAT = "Vattani, Chierichetti, Lowenstein, 'Optimal Probabilistic Cache Stampede Prevention', PVLDB 8(8), 2015"


@dataclass(frozen=True)
class StampedeSimParams:
    rate_per_s: float = knob(500.0, min=1.0, max=20_000.0, unit="req/s", label="request rate",
                             help="Requests per second over all hot keys (Poisson, virtual clock).")
    recompute_ms: float = knob(100.0, min=1.0, max=10_000.0, unit="ms", label="recompute time D",
                               help="How long rebuilding a value takes on the database.")
    ttl_s: float = knob(10.0, min=0.1, max=3_600.0, unit="s", label="TTL", help="Lease of the cached value.")
    keys: int = knob(1, min=1, max=10_000, label="hot keys",
                     help="Keys cached at the same moment (more than one shows what TTL jitter is for).")
    duration_s: float = knob(60.0, min=1.0, max=3_600.0, unit="s", label="duration",
                             help="Virtual seconds simulated.")
    beta: float = knob(1.0, min=0.0, max=10.0, label="XFetch β",
                       help="XFetch eagerness: > 1 refreshes earlier, < 1 later, 0 never early.")
    jitter_s: float = knob(2.0, min=0.0, max=3_600.0, unit="s", label="TTL jitter",
                           help="TTL jitter strategy: each TTL gets a uniform extra of 0 … this.")
    stale_s: float = knob(10.0, min=0.0, max=3_600.0, unit="s", label="stale window",
                          help="Stale-while-revalidate: how long past its TTL a stale copy may be served.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same arrivals for every strategy.")

    def __post_init__(self) -> None:
        check_ranges(self)
        if self.rate_per_s * self.duration_s > 2_000_000:
            raise ValueError(f"{label_of(self, 'rate_per_s')} × {label_of(self, 'duration_s')} is over 2,000,000 "
                             f"requests: lower the {label_of(self, 'rate_per_s').lower()} or the "
                             f"{label_of(self, 'duration_s').lower()}.")


_SUMMARY = {
    "strategy": measure("Strategy", "text"), "requests": measure("Requests", "requests"),
    "reads": measure("Reads", "reads"),
    "db_recomputes": measure("Database recomputes", "recomputes", help="Times the value was rebuilt on the database."),
    "expiries": measure("Expiries", "expiries"),
    "recomputes_per_expiry": measure("Recomputes per expiry", "recomputes", fmt=",.1f"),
    "peak_recomputes_per_s": measure("Peak recomputes per second", "recomputes/s"),
    "max_concurrent_recomputes": measure("Most recomputes at once", "recomputes"),
    "misses": measure("Misses", "misses", help="Reads that found no value and had to wait."),
    "stale_reads": measure("Stale reads served", "reads"), "early_refreshes": measure("Early refreshes", "recomputes"),
    "latency_p50_ms": measure("Wait, median", "ms"), "latency_p99_ms": measure("Wait, 99th percentile", "ms"),
    "latency_max_ms": measure("Wait, longest", "ms"),
    "*: DB recomputes": measure("Database recomputes — {0}", "recomputes", headline=True),
}
SIM_MEASURES = {
    **_SUMMARY,
    "expected recomputes per expiry, no protection (1 + rate×D/keys)": measure(
        "Expected recomputes per expiry, no protection", "recomputes", fmt=",.1f",
        help="1 + rate × D ÷ keys: every reader during the recompute time D misses too."),
    "none: recomputes per expiry": measure("Recomputes per expiry, no protection", "recomputes", fmt=",.1f"),
    "XFetch: misses": measure("Misses with XFetch", "misses", help="0 when one reader always refreshes early."),
    "t_s": measure("Time", "s", help="On the virtual clock."), "recomputes_per_s": measure("Recomputes", "recomputes/s"),
}


@register("stampede-sim", title="Stampede on a virtual clock",
          summary="A hot key expires under load: database recomputes, latency and stale reads for no protection, "
                  "TTL jitter, a single-flight lock, XFetch and stale-while-revalidate.",
          params=StampedeSimParams, page=PAGE, measures=SIM_MEASURES)
def run_sim(params: StampedeSimParams, *, backend: Any = None, ns: Any = None, log: Any = None,
            on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    spec = SimSpec(rate_per_s=params.rate_per_s, recompute_s=params.recompute_ms / 1000, ttl_s=params.ttl_s,
                   keys=params.keys, duration_s=params.duration_s, beta=params.beta, jitter_s=params.jitter_s,
                   stale_s=params.stale_s, seed=params.seed)
    rows, lines = [], []
    for i, name in enumerate(SIM_STRATEGIES):
        run = simulate(name, spec)
        rows.append(summarize(name, run, spec))
        lines.append(timeline(name, run, spec))
        if on_progress:
            on_progress((i + 1) / len(SIM_STRATEGIES))
    summary = pd.DataFrame(rows)
    metrics: dict[str, Any] = {f"{r['strategy']}: DB recomputes": r["db_recomputes"] for r in rows}
    metrics["expected recomputes per expiry, no protection (1 + rate×D/keys)"] = round(
        1 + params.rate_per_s / params.keys * params.recompute_ms / 1000, 1)
    metrics["none: recomputes per expiry"] = rows[0]["recomputes_per_expiry"]
    metrics["XFetch: misses"] = rows[3]["misses"]
    notes = [f"SIMULATED on a virtual clock ({params.duration_s:g} s, no Redis, no sleeps), whatever the backend.",
             "Latency counts only waiting for a recompute (a hit costs 0 here); every key starts cached at t = 0 "
             "with the same TTL.",
             f"XFetch: {VAT}. A single-flight waiter polls every 10 ms."]
    return Result(metrics, {"summary": summary, "timeline": pd.concat(lines, ignore_index=True)}, notes)


MAX_THREADS = 100  # redis-py's default connection pool: one connection per reading thread


@dataclass(frozen=True)
class StampedeRealParams:
    threads: int = knob(50, min=2, max=MAX_THREADS, label="threads N",
                        help=f"Concurrent readers of the hot key (at most {MAX_THREADS}: each holds one connection "
                             "of the app's pool).")
    recompute_ms: float = knob(100.0, min=1.0, max=2_000.0, unit="ms", label="recompute time D",
                               help="The simulated database really sleeps this long per recompute.")
    ttl_ms: float = knob(500.0, min=50.0, max=60_000.0, unit="ms", label="TTL", help="Lease of the cached value.")
    duration_ms: float = knob(0.0, min=0.0, max=5_000.0, unit="ms", label="keep reading for",
                              help="0 = one read per thread (a burst on a just-expired key); more = steady load "
                                   "over several expiries.")
    think_ms: float = knob(10.0, min=1.0, max=1_000.0, unit="ms", label="pause between reads",
                           help="Each thread's pause between two reads (steady load only).")
    beta: float = knob(1.0, min=0.0, max=10.0, label="XFetch β", help="XFetch eagerness.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Seed of XFetch's random draws.")

    def __post_init__(self) -> None:
        check_ranges(self)


REAL_MEASURES = {
    **_SUMMARY,  # no tiles: the page leads with why XFetch cannot act on a key that has already expired
    "*: DB recomputes": measure("Database recomputes — {0}", "recomputes"),
    "threads": measure("Threads", "threads"), "elapsed_s": measure("Took", "s", help="Measured wall time."),
    "reads_hit": measure("Reads that hit", "reads"), "reads_recompute": measure("Reads that recomputed", "reads"),
    "reads_waited": measure("Reads that waited for the lock", "reads"),
    "reads_stale": measure("Reads served stale", "reads"),
    "reads_early_refresh": measure("Reads that refreshed early", "reads"),
}


@register("stampede-real", title="Stampede with real threads",
          summary="N threads read a just-expired hot key on the selected server; count the database recomputes "
                  "of each strategy.",
          params=StampedeRealParams, page=PAGE, measures=REAL_MEASURES)
def run_threads(params: StampedeRealParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
                on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    backend, opened = open_backend_for(backend)
    ns = ns or Namespace(new_session_id())
    rows = []
    try:
        for i, name in enumerate(STRATEGIES):
            rows.append(run_real(name, backend.client, ns, threads=params.threads, recompute_ms=params.recompute_ms,
                                 ttl_ms=params.ttl_ms, duration_ms=params.duration_ms, think_ms=params.think_ms,
                                 beta=params.beta, seed=params.seed))
            if on_progress:
                on_progress((i + 1) / len(STRATEGIES))
    except redis.exceptions.MaxConnectionsError:
        raise ValueError(f"{label_of(params, 'threads')} ({params.threads}) is more than this server's connection "
                         f"pool allows: lower {label_of(params, 'threads')}.") from None
    finally:
        for b in opened:
            b.close()
    releases = sorted({r.pop("lock_release") for r in rows} - {""})
    summary = pd.DataFrame(rows)
    metrics: dict[str, Any] = {f"{r['strategy']}: DB recomputes": r["db_recomputes"] for r in rows}
    metrics["reads"] = int(summary.reads.sum())
    notes = [f"REAL threads against the {backend.kind} backend ({backend.caps.server_label}); Redis calls and "
             "latencies are measured. The database recompute is simulated by a real sleep of "
             f"{params.recompute_ms:g} ms.",
             f"The lock was released with {' and '.join(releases) or 'nothing (no lock was taken)'}: a "
             "compare-and-delete, so a lock that expired and was taken by another reader is never removed. "
             "DELIFEQ and DELEX … IFEQ do it in one command, without Lua; on a server with neither, the lab sends "
             "the classic Lua script.",
             "The hot key starts just expired (stale-while-revalidate: just past its soft TTL, the stale copy "
             "still there). XFetch cannot help a key that is already gone — give it steady load to see it refresh "
             "early.",
             "Lock and value keys live under your namespace with a TTL; they are deleted after each run."]
    return Result(metrics, {"summary": summary}, notes)


@dataclass(frozen=True)
class XFetchParams:
    beta: float = knob(1.0, min=0.01, max=10.0, label="β (XFetch eagerness)",
                       help="> 1 refreshes earlier, < 1 later.")
    delta_ms: float = knob(100.0, min=1.0, max=60_000.0, unit="ms", label="δ (last recompute time)",
                           help="How long the last recompute took.")
    draws: int = knob(20_000, min=100, max=1_000_000, help="Reads simulated at each time-left point.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Seed of the random draws.")

    def __post_init__(self) -> None:
        check_ranges(self)


XFETCH_MEASURES = {
    "P(early) at time_left = δ, measured": measure("Chance a read refreshes early, δ before expiry, drawn", "fraction",
                                                   headline=True),
    "P(early) at time_left = δ, theory": measure("The same chance, in theory", "fraction", headline=True,
                                                 help="exp(−time left ÷ (β·δ)) = exp(−1/β) at time left = δ."),
    "largest gap": measure("Largest gap, drawn vs theory", "fraction", headline=True, fmt=".2f"),
    "time_left_over_delta": measure("Time left ÷ δ", "×"), "empirical": measure("Drawn", "fraction"),
    "theory": measure("Theory", "fraction"),
}


@register("xfetch-probability", title="XFetch: how often does a read refresh early?",
          summary="Draw the XFetch test many times at each time-left and compare with exp(−time_left/(β·δ)).",
          params=XFetchParams, page=PAGE, measures=XFETCH_MEASURES)
def run_xfetch(params: XFetchParams, *, backend: Any = None, ns: Any = None, log: Any = None, **_: Any) -> Result:
    """The strategies' own ``xfetch_early`` test, drawn ``draws`` times per point (SIMULATED draws)."""
    rng = random.Random(params.seed)
    delta = params.delta_ms / 1000
    rows = []
    for ratio in np.round(np.arange(0.0, 4.01, 0.25), 2):
        left = float(ratio) * delta
        early = sum(xfetch_early(left, delta, params.beta, 1.0 - rng.random()) for _ in range(params.draws))
        rows.append({"time_left_over_delta": float(ratio), "empirical": early / params.draws,
                     "theory": xfetch_probability(left, delta, params.beta)})
    frame = pd.DataFrame(rows)
    at_delta = frame.loc[frame.time_left_over_delta == 1.0].iloc[0]
    metrics = {"P(early) at time_left = δ, measured": float(at_delta.empirical),
               "P(early) at time_left = δ, theory": float(at_delta.theory),
               "largest gap": float((frame.empirical - frame.theory).abs().max())}
    notes = [f"{params.draws:,} draws of U(0, 1] per point, through the same function the real XFetch strategy "
             f"calls. Theory: P = exp(−time_left / (β·δ)) — {VAT}.", "No Redis is used here."]
    return Result(metrics, {"probability": frame}, notes)
