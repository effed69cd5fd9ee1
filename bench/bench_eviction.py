"""Eviction-simulator speed, side by side in one run (issue 6 targets):

1. throughput against libCacheSim (PyPI ``libcachesim``, a C simulator; a bench-only dependency) on one
   Zipf(1.0) trace — 1,000,000 requests over 100,000 keys, a cache of 10,000 keys — for LRU, LFU and
   random eviction, each side fed the same trace (libCacheSim reads it as an oracleGeneral binary file,
   its fastest path; the lab's time includes turning the key list into arrays). Target ≥ 1.0×.
   The miss ratios are printed beside the speeds: exact LRU and LFU must agree with libCacheSim's to
   the last digit (random eviction draws different random numbers, so it only agrees closely);
2. Redis's sampled LRU with the 16-entry pool (``allkeys-lru``, maxmemory-samples 5): target ≥ 5 M req/s;
3. a miss-ratio curve of 8 policies × 12 sizes on a 200,000-request trace, warm: target < 1.5 s, and the
   pure-Python reference's time for the same curve (one policy-size pair timed, scaled) for the speedup.

Rounds are interleaved and the best of each is kept, so machine noise hits both sides alike.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.eviction import fast, make  # noqa: E402
from labs.eviction.experiments import workload_keys  # noqa: E402
from labs.eviction.simulate import run_trace  # noqa: E402

ROUNDS = 3
MRC_POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "lru", "lfu", "fifo", "opt"]


def write_oracle_general(keys: np.ndarray, path: Path) -> None:
    """libCacheSim's oracleGeneral format: packed little-endian (u32 time, u64 id, u32 size, i64 next)."""
    rec = np.zeros(len(keys), dtype=[("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec["t"] = np.arange(len(keys)) // 1000
    rec["id"] = keys.astype(np.uint64) + 1
    rec["size"] = 1
    rec["next"] = -1
    rec.tofile(path)


def best(fn, rounds: int = ROUNDS) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    try:
        import libcachesim as lcs
    except ImportError:
        lcs = None
        print("libcachesim is not installed (requirements-dev.txt): the comparison column is skipped")
    n, universe, capacity = 1_000_000, 100_000, 10_000
    keys = np.asarray(workload_keys("zipf", n, universe, 1.0, 1))
    times = np.arange(n) * 0.001                     # 1,000 requests per LRU-clock second
    start = time.perf_counter()
    fast.warm_up()
    print(f"compile or load the kernels: {time.perf_counter() - start:.2f} s (once per process)")

    print(f"\n1. throughput, {n:,} requests, Zipf(1.0) over {universe:,} keys, cache {capacity:,} keys")
    print(f"{'policy':<16}{'lab M req/s':>12}{'libCacheSim':>13}{'ratio':>8}{'lab miss':>11}{'lcs miss':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.oracleGeneral"
        write_oracle_general(keys, trace)
        pairs = [("lru", "LRU"), ("lfu", "LFU"), ("allkeys-random", "Random")]
        for ours, theirs in pairs:
            lab_s, lcs_s = [], []
            for _ in range(ROUNDS):
                t = time.perf_counter()
                stats = fast.run(ours, capacity, keys, times)
                lab_s.append(time.perf_counter() - t)
                if lcs:
                    reader = lcs.TraceReader(str(trace), lcs.TraceType.ORACLE_GENERAL_TRACE)
                    cache = getattr(lcs, theirs)(cache_size=capacity)
                    t = time.perf_counter()
                    miss, _ = cache.process_trace(reader)
                    lcs_s.append(time.perf_counter() - t)
            lab_rate = n / min(lab_s) / 1e6
            if lcs:
                lcs_rate = n / min(lcs_s) / 1e6
                print(f"{ours:<16}{lab_rate:>12.1f}{lcs_rate:>13.1f}{lab_rate / lcs_rate:>7.1f}×"
                      f"{stats.miss_ratio:>11.6f}{miss:>11.6f}")
            else:
                print(f"{ours:<16}{lab_rate:>12.1f}{'-':>13}{'-':>8}{stats.miss_ratio:>11.6f}")

    print("\n2. Redis-faithful policies (eviction pool, 1-second LRU clock), same trace")
    for name in ("allkeys-lru", "allkeys-lfu", "volatile-ttl"):
        ttls = np.full(n, 3600.0) if name.startswith("volatile") else None
        secs, stats = best(lambda: fast.run(name, capacity, keys, times, ttls, samples=5))
        target = "  (target ≥ 5 M req/s)" if name == "allkeys-lru" else ""
        print(f"{name:<16}{n / secs / 1e6:>8.1f} M req/s   miss ratio {stats.miss_ratio:.4f}{target}")

    print("\n3. miss-ratio curve: 8 policies × 12 sizes on 200,000 requests (20,000 keys)")
    k2 = np.asarray(workload_keys("zipf", 200_000, 20_000, 1.0, 1))
    t2 = np.arange(len(k2)) * 0.01
    ttl2 = np.full(len(k2), 3600.0)                  # so volatile-lru has keys it may evict
    caps = sorted({int(c) for c in np.geomspace(200, 10_000, 12)})
    walls = []
    for _ in range(5):
        start = time.perf_counter()
        curve = fast.miss_ratio_curve(MRC_POLICIES, k2, caps, times=t2, ttls=ttl2)
        walls.append(time.perf_counter() - start)
    warm = statistics.median(walls)
    t = time.perf_counter()
    run_trace(make("allkeys-lru", caps[6], seed=0), k2.tolist(), t2.tolist(), ttl2.tolist())
    one_ref = time.perf_counter() - t
    ref_total = one_ref * len(MRC_POLICIES) * len(caps)
    print(f"lab (compiled, parallel): median {warm:.3f} s of 5 warm runs (target < 1.5 s); "
          f"{len(curve)} points")
    print(f"pure-Python reference: {one_ref:.2f} s for one policy-size pair → ≈ {ref_total:.0f} s for the curve "
          f"(≈ {ref_total / warm:,.0f}× slower)")


if __name__ == "__main__":
    main()
