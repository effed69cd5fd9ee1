"""The Home experiment on each backend, side by side in one run: miss vs hit medians and their ratios.

Prints measured figures (this machine is shared: compare the ratios, not the absolute times).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.core.backends import open_embedded, open_sandbox  # noqa: E402
from labs.core.db import PrimaryDB, ensure_seeded, default_db_path  # noqa: E402
from labs.home.first_read import FirstReadParams, run  # noqa: E402

SAMPLES = 300


def main() -> dict[str, dict[str, float]]:
    seed = ensure_seeded(default_db_path())
    out = {}
    for name, opener in (("embedded", open_embedded), ("sandbox", open_sandbox)):
        backend = opener()
        try:
            for preset in ("remote Postgres, same region", "local SQLite (no network)"):
                db = PrimaryDB.open_private_copy(seed.path)
                m = run(FirstReadParams(samples=SAMPLES, db_latency=preset), backend=backend, db=db).metrics
                db.close()
                out[f"{name} / {preset}"] = m
        finally:
            backend.close()
    print(f"first-read, {SAMPLES} miss/hit pairs per row (medians; 'measured' excludes the simulated DB time)")
    print(f"{'backend / db latency':48} {'miss':>9} {'hit':>9} {'miss/hit':>9} {'no-cache/hit':>13} {'GET':>8} {'SQLite':>8}")
    for label, m in out.items():
        print(f"{label:48} {m['miss_median_us']:8.0f}µ {m['hit_median_us']:8.1f}µ {m['speedup']:8.1f}× "
              f"{m['hit_vs_db_only']:12.2f}× {m['redis_get_median_us']:7.1f}µ {m['db_real_median_us']:7.1f}µ")
    emb = out["embedded / remote Postgres, same region"]["hit_median_us"]
    sbx = out["sandbox / remote Postgres, same region"]["hit_median_us"]
    print(f"hit on embedded (loopback TCP) / hit on sandbox (in-process): {emb / sbx:.2f}×")
    return out


if __name__ == "__main__":
    main()
