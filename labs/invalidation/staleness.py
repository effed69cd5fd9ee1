"""Staleness vs freshness: how stale each invalidation strategy leaves the data, on a virtual clock.

Entities are read (Zipf popularity) and updated at configurable rates; a share of the updates goes
*behind the app's back* (straight to the database, e.g. by another service), the rest through the app's
PATCH path. Every strategy of :mod:`labs.invalidation.strategies` replays the same events against its own
virtual-clock cache and its own copy of the table. A read is *stale* when the row it returns is older than
the database's current row; its *staleness age* is how long ago that row was replaced.

Expected (and asserted in tests/unit/test_invalidation.py): with every update going through the app,
delete-on-write, write-through and versioned keys serve 0 stale reads; updates behind the app's back are
stale until the TTL; with TTL only, no stale read is older than the TTL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.invalidation.store import VersionedTable, VirtualCache
from labs.invalidation.strategies import STRATEGIES
from labs.core.metrics import percentiles
from labs.core.workload import popularity

PAGE = "app_pages/invalidation.py"
MAX_UPDATE_RATE = 10_000.0


@dataclass(frozen=True)
class StalenessParams:
    reads: int = knob(20_000, min=100, max=200_000, help="Reads in the simulated run.")
    entities: int = knob(500, min=1, max=100_000, help="Distinct users that are read and updated.")
    zipf_alpha: float = knob(0.9, min=0.0, max=2.0, label="Zipf α", help="Read and update skew; 0 = uniform.")
    read_rate_per_s: float = knob(200.0, min=1.0, max=100_000.0, unit="reads/s", label="read rate",
                                  help="Reads per second on the virtual clock.")
    update_rate_per_s: float = knob(5.0, min=0.0, max=MAX_UPDATE_RATE, unit="updates/s", label="update rate",
                                    help="Updates per second on the virtual clock.")
    behind_back: float = knob(0.0, min=0.0, max=1.0, label="updates behind the app's back",
                              help="Share of updates written straight to the database by another service "
                                   "(the app never hears of them).")
    ttl_s: float = knob(30.0, min=0.1, max=86_400.0, unit="s", label="cache TTL",
                        help="Lease of a cached row (virtual seconds).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same events for every strategy.")

    def __post_init__(self) -> None:
        check_ranges(self)


@dataclass(frozen=True)
class Events:
    t: np.ndarray          # seconds, sorted
    is_read: np.ndarray
    entity: np.ndarray
    behind: np.ndarray     # for updates: written behind the app's back


def make_events(p: StalenessParams) -> Events:
    """Poisson reads and updates on one virtual clock, Zipf over shuffled entity ids, from one seed."""
    rng = np.random.default_rng(p.seed)
    t_reads = np.cumsum(rng.exponential(1.0 / p.read_rate_per_s, size=p.reads))
    duration = float(t_reads[-1])
    n_updates = int(rng.poisson(p.update_rate_per_s * duration)) if p.update_rate_per_s > 0 else 0
    t_updates = np.sort(rng.uniform(0.0, duration, size=n_updates))
    probs = popularity(p.entities, p.zipf_alpha)
    ids = rng.permutation(p.entities) + 1
    ent_reads = ids[rng.choice(p.entities, size=p.reads, p=probs)]
    ent_updates = ids[rng.choice(p.entities, size=n_updates, p=probs)]
    behind = rng.random(n_updates) < p.behind_back
    t = np.concatenate([t_reads, t_updates])
    order = np.argsort(t, kind="stable")
    return Events(t[order], np.concatenate([np.ones(p.reads, bool), np.zeros(n_updates, bool)])[order],
                  np.concatenate([ent_reads, ent_updates])[order],
                  np.concatenate([np.zeros(p.reads, bool), behind])[order])


def simulate(strategy_name: str, events: Events, entities: int, ttl_s: float) -> dict[str, Any]:
    """Replay ``events`` through one strategy; returns its counts and the staleness age of each stale read."""
    now = [0.0]
    clock: Callable[[], float] = lambda: now[0]
    db = VersionedTable(clock)
    for e in range(1, entities + 1):
        db.rows[e] = {"id": e, "version": 1, "value": "v0"}
    cache = VirtualCache(clock)
    strategy = STRATEGIES[strategy_name](cache, db, ttl_s)
    hits = reads = 0
    ages: list[float] = []
    for t, is_read, entity, behind in zip(events.t.tolist(), events.is_read.tolist(), events.entity.tolist(),
                                          events.behind.tolist()):
        now[0] = t
        if is_read:
            row, hit = strategy.read(entity)
            reads += 1
            hits += hit
            age = db.staleness_age(entity, row)
            if age is not None:
                ages.append(age)
        elif behind:
            db.update(entity, f"t{t:.3f}")
        else:
            strategy.write(entity, f"t{t:.3f}")
    return {"strategy": strategy_name, "reads": reads, "hits": hits, "db_reads": db.reads,
            "cache_commands": cache.commands, "ages": ages}


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    ages = run["ages"]
    pct = percentiles(ages, (50, 99))
    return {"strategy": run["strategy"], "reads": run["reads"], "hit_ratio": run["hits"] / run["reads"],
            "db_reads": run["db_reads"], "stale_reads": len(ages), "stale_fraction": len(ages) / run["reads"],
            "age_p50_s": pct["p50"], "age_p99_s": pct["p99"], "age_max_s": max(ages) if ages else float("nan"),
            "cache_commands_per_read": run["cache_commands"] / run["reads"]}


def sweep(p: StalenessParams, strategies: tuple[str, ...] = ("TTL only", "delete on write")) -> pd.DataFrame:
    """Stale-read fraction over a grid of TTLs × update rates (a smaller run per cell)."""
    ttls = sorted({max(0.1, round(p.ttl_s * f, 3)) for f in (0.125, 0.25, 0.5, 1, 2, 4)})
    base_rate = p.update_rate_per_s or 1.0
    rates = sorted({min(base_rate * f, MAX_UPDATE_RATE) for f in (0.25, 1, 4)})  # the sweep stays in range
    rows = []
    reads = min(p.reads, 4_000)
    for rate in rates:
        events = make_events(StalenessParams(**{**p.__dict__, "reads": reads, "update_rate_per_s": rate}))
        for ttl in ttls:
            for name in strategies:
                s = summarize(simulate(name, events, p.entities, ttl))
                rows.append({"strategy": name, "ttl_s": ttl, "update_rate_per_s": rate,
                             "series": f"{name}, {rate:g} updates/s", "stale_fraction": s["stale_fraction"],
                             "hit_ratio": s["hit_ratio"]})
    return pd.DataFrame(rows)


_STALE = "A read that returned an older version than the database held (simulated)."
STALENESS_MEASURES = {
    "virtual_seconds": measure("Simulated time", "s"), "updates": measure("Updates", "updates"),
    "updates_behind_back": measure("Updates behind the app's back", "updates"),
    "*: stale reads": measure("Stale reads — {0}", "reads", headline=True, help=_STALE),
    "TTL only: max staleness age s": measure("Oldest stale read, TTL only", "s", headline=True,
                                             help="Time since the version it returned was replaced."),
    "strategy": measure("Strategy", "text"), "reads": measure("Reads", "reads"),
    "hit_ratio": measure("Hit ratio", "fraction"), "db_reads": measure("Database reads", "reads"),
    "stale_reads": measure("Stale reads", "reads", help=_STALE), "stale_fraction": measure("Stale share", "fraction"),
    "age_p50_s": measure("Staleness age, median", "s"), "age_p99_s": measure("Staleness age, 99th percentile", "s"),
    "age_max_s": measure("Staleness age, oldest", "s"),
    "cache_commands_per_read": measure("Cache commands per read", "commands", fmt=",.2f"),
    "ttl_s": measure("Cache TTL", "s"), "update_rate_per_s": measure("Update rate", "/s"),
    "series": measure("Series", "text"),
}


@register("invalidation-staleness", title="Staleness vs freshness",
          summary="TTL only, delete on write, write-through and versioned keys on the same reads and updates: "
                  "stale reads, staleness age, database reads.",
          params=StalenessParams, page=PAGE, measures=STALENESS_MEASURES)
def run(params: StalenessParams, *, backend: Any = None, ns: Any = None, log: Any = None,
        on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    """SIMULATED on a virtual clock (no Redis): the strategies' own code on a virtual-time cache."""
    events = make_events(params)
    rows = []
    for i, name in enumerate(STRATEGIES):
        rows.append(summarize(simulate(name, events, params.entities, params.ttl_s)))
        if on_progress:
            on_progress((i + 1) / (len(STRATEGIES) + 1))
    summary = pd.DataFrame(rows)
    grid = sweep(params)
    if on_progress:
        on_progress(1.0)
    updates = int((~events.is_read).sum())
    metrics: dict[str, Any] = {"virtual_seconds": round(float(events.t[-1]), 1), "updates": updates,
                               "updates_behind_back": int(events.behind.sum())}
    for r in rows:
        metrics[f"{r['strategy']}: stale reads"] = r["stale_reads"]
    metrics["TTL only: max staleness age s"] = rows[0]["age_max_s"]
    notes = [f"SIMULATED on a virtual clock: {params.reads:,} reads at {params.read_rate_per_s:g}/s and {updates:,} "
             f"updates over {float(events.t[-1]):,.0f} virtual seconds; no Redis is used, whatever the backend. "
             "The strategies are the same classes the live demo runs against Redis.",
             "A read is stale when it returns an older version than the database holds; its staleness age is "
             "the time since that version was replaced.",
             "The sweep re-runs TTL only and delete on write with at most 4,000 reads per cell."]
    return Result(metrics, {"summary": summary, "sweep": grid}, notes)
