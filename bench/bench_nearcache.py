"""The near cache, side by side in one run: a local hit vs a Redis GET vs a SQLite read, and the stale window
(writer's acknowledged SET → the reader's copy dropped) for both invalidation channels, plus what tracking
costs the server per key — on the embedded server and, when ``REDIS_URL`` is set, on that Redis too.

Prints measured figures (this machine is shared: compare the ratios, not the absolute times) and the load.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.core.backends import open_embedded, open_live  # noqa: E402
from labs.core.db import PrimaryDB, default_db_path, ensure_seeded  # noqa: E402
from labs.core.metrics import CommandLog  # noqa: E402
from labs.core.namespace import Namespace, new_session_id  # noqa: E402
from labs.invalidation.nearcache.experiments import stale_window  # noqa: E402
from labs.invalidation.nearcache.links import REDIRECT, RESP3, open_link  # noqa: E402
from labs.invalidation.nearcache.local import LocalCache  # noqa: E402
from labs.invalidation.nearcache.modes import MemoryParams, run_tracking_memory  # noqa: E402
from labs.invalidation.nearcache.reader import LOCAL, NearCache  # noqa: E402

READS, WRITES = 5000, 1000


def tiers(backend, ns) -> dict[str, float]:
    """Medians (µs) of a local hit, a plain Redis GET and a SQLite primary-key read, interleaved."""
    reader = NearCache(lambda: open_link(RESP3, backend.client, [CommandLog()], ("NOLOOP",)), LocalCache(100, 60))
    db = PrimaryDB.open_private_copy(ensure_seeded(default_db_path()).path)
    key = ns.key("bench")
    backend.client.set(key, b"x" * 100, ex=60)
    reader.read(key)
    out: dict[str, list[float]] = {"local hit": [], "Redis GET": [], "SQLite read": []}
    try:
        for _ in range(READS):
            t = time.perf_counter_ns()
            assert reader.read(key).tier == LOCAL
            out["local hit"].append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            backend.client.get(key)
            out["Redis GET"].append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            db.get("users", 123)
            out["SQLite read"].append(time.perf_counter_ns() - t)
    finally:
        reader.close()
        db.close()
        backend.client.delete(key)
    return {k: float(np.median(v)) / 1000 for k, v in out.items()}


def windows(backend, ns) -> dict[str, tuple[float, float, int]]:
    out = {}
    for mode in (RESP3, REDIRECT):
        reader = NearCache(lambda: open_link(mode, backend.client, [CommandLog()], ("NOLOOP",)), LocalCache(10, 60))
        try:
            rows = stale_window(reader, backend.client, ns.key("window"), WRITES)
        finally:
            reader.close()
            backend.client.delete(ns.key("window"))
        w = np.array([r["window_us"] for r in rows])
        out[mode] = (float(np.percentile(w, 50)), float(np.percentile(w, 99)),
                     sum(r["stale_reads_after_ack"] for r in rows))
    return out


def main() -> None:
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
          f"{os.cpu_count()} cores")
    backends = [("embedded", open_embedded)]
    if os.environ.get("REDIS_URL"):
        backends.append(("live", lambda: open_live(os.environ["REDIS_URL"])))
    for name, opener in backends:
        backend = opener()
        ns = Namespace(new_session_id()).for_lab("nearcache")
        try:
            t = tiers(backend, ns)
            w = windows(backend, ns)
        finally:
            backend.close()
        print(f"\n{name} ({backend.caps.server_label}), medians of {READS} interleaved reads:")
        for k, v in t.items():
            print(f"  {k:12} {v:8.2f} µs")
        print(f"  Redis GET / local hit: {t['Redis GET'] / t['local hit']:.1f}×   "
              f"SQLite / local hit: {t['SQLite read'] / t['local hit']:.1f}×   "
              f"Redis GET / SQLite: {t['Redis GET'] / t['SQLite read']:.1f}×")
        print(f"  stale window over {WRITES} writes (ack → copy dropped), p50 / p99, stale reads after the ack:")
        for mode, (p50, p99, stale) in w.items():
            print(f"    {mode:40} {p50:7.1f} / {p99:8.1f} µs   {stale:6d} stale reads "
                  f"({stale / WRITES:.2f} per write; p50 window / local hit {p50 / t['local hit']:.1f}×)")
    m = run_tracking_memory(MemoryParams(keys=20_000, optin_share=0.1, never_read=100)).frames["modes"]
    print("\ntracking memory on private servers (20,000 keys read once; control subtracted):")
    for row in m.itertuples():
        per_key = f"{row.bytes_per_tracked_key:6.1f} B/key" if row.tracked_keys else "   (no per-key table)"
        print(f"  {row.mode:24} tracked keys {row.tracked_keys:6d}  memory {row.memory_bytes:10,d} B {per_key}  "
              f"never-read keys invalidated {row.never_read_keys_invalidated}")


if __name__ == "__main__":
    main()
