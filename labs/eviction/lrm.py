"""LRU against LRM: what a cache keeps when reads no longer count (simulated; Redis 8.6+ only).

Redis 8.6 added ``allkeys-lrm`` and ``volatile-lrm`` (redis/redis#14624; redis.io "Key eviction", section
"LRM eviction"): the same sampled pool and 1-second clock as LRU, but a key's clock is stamped only when
the key is *modified*. A key read a thousand times a second but written once ages from that one write.

The workload has two kinds of keys, both Zipf-popular: **read-only** keys (reference data: written once,
by the cache-aside fill after a miss, then only read) and **rewritten** keys (the application ``SET``\\ s
them again and again: counters, sessions, prices). Reads go to every key; writes only to the rewritten
ones. Measured per policy on the virtual clock: the read hit ratio, split by kind of key, and the *age
since last write* of every key still cached at the end — how fresh the data an eviction policy chooses to
keep is. The servers this lab starts (valkey 9.1.2, Redis 7.0.15) refuse the LRM policies, so nothing
here can be replayed on a real server: every figure is from the simulator, whose LRU is checked against a
real server on the *Real server vs simulator* tab.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.workload import popularity
from labs.eviction import POLICIES, fast
from labs.eviction.experiments import PAGE, SIMULATED
from labs.eviction.redis_policies import LRM_SERVERS

KINDS = ("read-only", "rewritten")


def parse_lrm_policies(text: str) -> list[str]:
    """Policy names for this workload: any policy that evicts from all keys (no TTLs are written here)."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if not names or unknown:
        raise ValueError(f"Unknown policy {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(sorted(p for p in POLICIES if not p.startswith('volatile')))}, "
                         "separated by commas.")
    volatile = [p for p in names if p.startswith("volatile")]
    if volatile:
        raise ValueError(f"{', '.join(volatile)}: this workload writes no TTLs, so a volatile-* policy could "
                         "only refuse writes. Compare allkeys-lru with allkeys-lrm here.")
    return names


def lrm_trace(requests: int, keys: int, read_only_share: float, write_share: float, alpha: float,
              seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(key ids, is_write, key_is_read_only)``: reads Zipf over every key, writes Zipf over the
    rewritten keys only; which key is read-only is drawn per key (seeded), independent of popularity."""
    rng = np.random.default_rng(seed)
    read_only = rng.random(keys) < read_only_share
    rewritten = np.flatnonzero(~read_only)
    reads = rng.choice(keys, size=requests, p=popularity(keys, alpha))
    is_write = rng.random(requests) < write_share if len(rewritten) else np.zeros(requests, bool)
    if len(rewritten):
        written = rewritten[rng.choice(len(rewritten), size=requests, p=popularity(len(rewritten), alpha))]
        ids = np.where(is_write, written, reads)
    else:
        ids = reads
    return ids.astype(np.int64), is_write, read_only


def _one(name: str, params: "LRMParams", ids: np.ndarray, is_write: np.ndarray, read_only: np.ndarray,
         times: np.ndarray) -> tuple[dict, pd.DataFrame]:
    stats, hit, cached = fast.run_detail(name, params.capacity, ids, times, writes=is_write,
                                         samples=params.samples, seed=params.seed)
    reads = ~is_write
    hit_b = hit.astype(bool)
    kind_ro = read_only[ids]
    row = {"policy": name, "hit_ratio": stats.hit_ratio, "evictions": stats.evictions}
    for label, mask in (("read_only", reads & kind_ro), ("rewritten", reads & ~kind_ro)):
        row[f"{label}_hit_ratio"] = float(hit_b[mask].mean()) if mask.any() else float("nan")
    # a key's last write: a write request, or the fill after a read miss
    stored = is_write | (reads & ~hit_b)
    last = pd.Series(times[stored]).groupby(ids[stored]).max()
    survivors = np.unique(ids[cached])
    end = float(times[-1])
    ages = pd.DataFrame({"policy": name, "kind": np.where(read_only[survivors], KINDS[0], KINDS[1]),
                         "age_s": end - last.reindex(survivors).to_numpy()})
    row["cached_read_only_share"] = float(read_only[survivors].mean()) if len(survivors) else float("nan")
    row["write_age_median_s"] = float(ages.age_s.median()) if len(ages) else float("nan")
    row["write_age_p90_s"] = float(ages.age_s.quantile(0.9)) if len(ages) else float("nan")
    return row, ages


@dataclass(frozen=True)
class LRMParams:
    policies: str = knob("allkeys-lru,allkeys-lrm,allkeys-lfu",
                         help="Comma-separated policies (allkeys-*, lru, lfu, fifo; no TTLs are written here).")
    requests: int = knob(200_000, min=1_000, max=2_000_000, help="Requests in the trace, reads and writes.")
    keys: int = knob(10_000, min=20, max=1_000_000, help="Distinct keys.")
    read_only_share: float = knob(0.5, min=0.0, max=1.0, label="keys never rewritten",
                                  help="Share of keys only read after their fill (reference data).")
    write_share: float = knob(0.2, min=0.0, max=0.9, label="requests that are writes",
                              help="Share of requests that SET one of the other keys again.")
    zipf_alpha: float = knob(1.0, min=0.0, max=2.0, label="Zipf α", help="Popularity skew, reads and writes.")
    capacity: int = knob(2_000, min=1, max=1_000_000, help="maxmemory, in keys.")
    samples: int = knob(5, min=1, max=64, label="maxmemory-samples", help="Keys sampled per eviction.")
    interval_ms: float = knob(10.0, min=0.001, max=60_000.0, unit="ms", label="time between requests",
                              help="Virtual time per request (the LRU/LRM clock has 1-second resolution).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace and same samples.")

    def __post_init__(self) -> None:
        check_ranges(self)
        parse_lrm_policies(self.policies)


MEASURES = {
    "*: hit_ratio": measure("Read hit ratio — {0}", "fraction", headline=True,
                            help="Reads answered from the cache, every key (simulated)."),
    "*: write_age_median_s": measure("Median age since last write of what is cached — {0}", "s", headline=True,
                                     help="At the end of the trace, for every cached key: time since its last "
                                          "SET (a write or a fill), median (simulated, virtual clock)."),
    "policy": measure("Policy", "text", help="maxmemory-policy value, or an exact baseline."),
    "hit_ratio": measure("Read hit ratio", "fraction", help="Reads answered from the cache."),
    "evictions": measure("Evictions", "keys", help="Keys the policy deleted to make room."),
    "read_only_hit_ratio": measure("Hit ratio, read-only keys", "fraction",
                                   help="Reads of keys that are never rewritten."),
    "rewritten_hit_ratio": measure("Hit ratio, rewritten keys", "fraction", help="Reads of keys the app rewrites."),
    "cached_read_only_share": measure("Read-only keys among the cached", "fraction",
                                      help="Of the keys cached at the end, the share that are never rewritten."),
    "write_age_median_s": measure("Age since last write, median", "s", help="Over the keys cached at the end."),
    "write_age_p90_s": measure("Age since last write, 90th percentile", "s", help="Over the keys cached at the end."),
    "kind": measure("Kind of key", "text", help="read-only: written once by its fill; rewritten: SET again and again."),
    "age_s": measure("Age since last write", "s", help="One cached key at the end of the trace."),
}


@register("eviction-lrm", title="LRU vs LRM: reads that no longer count", params=LRMParams, page=PAGE,
          summary="Read-only and rewritten keys under one memory limit: what LRM (Redis 8.6+) keeps (simulated).",
          measures=MEASURES)
def run_lrm(params: LRMParams, *, backend: Any = None, ns: Any = None, log: Any = None) -> Result:
    ids, is_write, read_only = lrm_trace(params.requests, params.keys, params.read_only_share,
                                         params.write_share, params.zipf_alpha, params.seed)
    times = np.arange(len(ids)) * params.interval_ms / 1000
    rows, ages = [], []
    for name in parse_lrm_policies(params.policies):
        row, age = _one(name, params, ids, is_write, read_only, times)
        rows.append(row)
        ages.append(age)
    summary = pd.DataFrame(rows)
    metrics: dict[str, float] = {}
    for r in rows:
        metrics[f"{r['policy']}: hit_ratio"] = r["hit_ratio"]
        metrics[f"{r['policy']}: write_age_median_s"] = r["write_age_median_s"]
    notes = [SIMULATED,
             f"allkeys-lrm and volatile-lrm exist in {LRM_SERVERS}: these results cannot be measured here.",
             f"{int(is_write.sum()):,} of {len(ids):,} requests are writes; {int(read_only.sum()):,} of "
             f"{params.keys:,} keys are never rewritten (their only write is the fill after a miss). Ages are "
             "on the virtual clock, in seconds before the last request."]
    return Result(metrics, {"summary": summary, "ages": pd.concat(ages, ignore_index=True)}, notes)


__all__ = ["KINDS", "LRMParams", "lrm_trace", "parse_lrm_policies", "run_lrm"]
