"""Negative caching: remember "no such row" for a short while, so lookups of missing ids stop hitting the DB.

Cache-aside caches what it finds; a lookup for an id that does not exist finds nothing, caches nothing, and
goes to the database every time (a typo'd link, a scraper walking ids, a deleted product). Caching a
"not found" sentinel with a *shorter* TTL absorbs them — at a price: when the id is created later, readers
keep getting "not found" until the sentinel expires. (RFC 2308 does the same for DNS: NXDOMAIN answers are
cached for the SOA's negative TTL.) A miss is not a None: the sentinel is a cached ``null``, distinct from
:data:`labs.core.cache.MISS`.

Expected (asserted in tests): an id looked up as a Poisson stream of rate λ is queried at rate
λ / (1 + λ·τ) with a negative TTL τ (one query, then τ of silence, then the wait for the next lookup), so
database queries for missing ids drop by the factor Σλᵢ / Σ λᵢ/(1 + λᵢτ); no wrong "not found" outlives τ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.cache import MISS
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.invalidation.store import VersionedTable, VirtualCache
from labs.core.metrics import percentiles
from labs.core.workload import popularity

PAGE = "app_pages/invalidation.py"


class NegativeCaching:
    """Cache-aside that also caches "not found" (``null``) for ``negative_ttl_s`` (0 = do not)."""

    def __init__(self, cache: Any, db: Any, ttl_s: float, negative_ttl_s: float) -> None:
        self.cache, self.db, self.ttl_s, self.negative_ttl_s = cache, db, ttl_s, negative_ttl_s

    @property
    def name(self) -> str:
        return f"negative TTL {self.negative_ttl_s:g} s" if self.negative_ttl_s else "no negative caching"

    def read(self, entity: int) -> tuple[dict | None, bool]:
        """(row or None, answered from the cache?)."""
        cached = self.cache.get(f"user:{entity}")
        if cached is not MISS:
            return cached, True
        row = self.db.get(entity)
        if row is not None:
            self.cache.set(f"user:{entity}", row, self.ttl_s)
        elif self.negative_ttl_s > 0:
            self.cache.set(f"user:{entity}", None, self.negative_ttl_s)
        return row, False


@dataclass(frozen=True)
class NegativeParams:
    lookups: int = knob(20_000, min=100, max=500_000, help="Lookups in the simulated run.")
    rate_per_s: float = knob(200.0, min=1.0, max=100_000.0, unit="lookups/s", label="lookup rate",
                             help="Lookups per second on the virtual clock.")
    missing_share: float = knob(0.3, min=0.0, max=1.0, label="share for missing ids",
                                help="Share of lookups for ids that do not exist (yet).")
    missing_ids: int = knob(200, min=1, max=100_000, label="distinct missing ids",
                            help="How many different non-existent ids are looked up.")
    zipf_alpha: float = knob(0.0, min=0.0, max=2.0, label="Zipf α of missing ids",
                             help="Skew of the lookups over missing ids; 0 = uniform.")
    ttl_s: float = knob(300.0, min=1.0, max=86_400.0, unit="s", label="TTL of found rows",
                        help="Lease of a cached row that exists.")
    negative_ttl_s: float = knob(10.0, min=0.1, max=86_400.0, unit="s", label="negative TTL",
                                 help="Lease of a cached 'not found' (usually much shorter).")
    created_per_s: float = knob(0.5, min=0.0, max=1_000.0, unit="ids/s", label="creation rate",
                                help="Missing ids that get created per second (behind the cache).")
    seed: int = knob(1, min=0, max=2**31 - 1, help="Same seed, same lookups for both runs.")

    def __post_init__(self) -> None:
        check_ranges(self)


def simulate(p: NegativeParams, negative_ttl_s: float) -> dict[str, Any]:
    """Replay the lookups; existing ids are 1..1000, missing ids start at 1,000,001 (created over time)."""
    rng = np.random.default_rng(p.seed)
    t = np.cumsum(rng.exponential(1.0 / p.rate_per_s, size=p.lookups))
    is_missing = rng.random(p.lookups) < p.missing_share
    missing_ids = 1_000_001 + rng.choice(p.missing_ids, size=p.lookups, p=popularity(p.missing_ids, p.zipf_alpha))
    existing_ids = rng.integers(1, 1001, size=p.lookups)
    ids = np.where(is_missing, missing_ids, existing_ids)
    n_created = int(rng.poisson(p.created_per_s * t[-1])) if p.created_per_s else 0
    order = rng.permutation(p.missing_ids)[:n_created] + 1_000_001
    created = dict(zip(order.tolist(), np.sort(rng.uniform(0, t[-1], size=len(order))).tolist()))
    now = [0.0]
    clock: Callable[[], float] = lambda: now[0]
    db = VersionedTable(clock)
    for e in range(1, 1001):
        db.rows[e] = {"id": e, "version": 1, "value": "v0"}
    pending = sorted((when, e) for e, when in created.items())
    strategy = NegativeCaching(VirtualCache(clock), db, p.ttl_s, negative_ttl_s)
    missing_queries = 0
    wrong_ages: list[float] = []
    for when, entity, was_missing in zip(t.tolist(), ids.tolist(), is_missing.tolist()):
        now[0] = when
        while pending and pending[0][0] <= when:
            db.insert(pending[0][1], "created")
            pending.pop(0)
        before = db.reads
        row, _ = strategy.read(entity)
        if was_missing and db.reads > before and entity not in db.rows:
            missing_queries += 1
        if row is None and entity in db.rows:
            wrong_ages.append(db.staleness_age(entity, None))
    return {"name": strategy.name, "db_queries": db.reads, "missing_queries": missing_queries,
            "missing_lookups": int(is_missing.sum()), "duration_s": float(t[-1]), "wrong_not_found": wrong_ages}


def expected_factor(p: NegativeParams, duration_s: float) -> float:
    """Σλᵢ / Σ λᵢ/(1 + λᵢτ): the drop in queries for missing ids if none were ever created."""
    lam = p.rate_per_s * p.missing_share * popularity(p.missing_ids, p.zipf_alpha)
    if not lam.sum():  # no lookups of missing ids: nothing to cut
        return float("nan")
    return float(lam.sum() / (lam / (1 + lam * p.negative_ttl_s)).sum())


NEGATIVE_MEASURES = {
    "DB queries for missing ids, without": measure("Queries for missing ids, no negative caching", "queries",
                                                   headline=True),
    "DB queries for missing ids, with": measure("Queries for missing ids, with negative caching", "queries",
                                                headline=True),
    "drop factor, measured": measure("Queries cut by, simulated", "×", headline=True,
                                     help="Queries for missing ids without ÷ with."),
    "drop factor, expected": measure("Queries cut by, expected", "×", headline=True,
                                     help="Σλᵢ / Σ λᵢ/(1 + λᵢτ) for Poisson lookups and no creations."),
    "wrong 'not found' reads added": measure("Wrong 'not found' answers", "reads", headline=True,
                                             help="Reads of an id created after its 'not found' was cached."),
    "longest wrong 'not found' s": measure("Longest wrong 'not found'", "s", headline=True,
                                           help="At most the negative TTL."),
    "strategy": measure("Strategy", "text"), "db_queries": measure("Database queries", "queries"),
    "db_queries_for_missing_ids": measure("Queries for missing ids", "queries"),
    "db_queries_per_s": measure("Database queries per second", "queries/s"),
    "wrong_not_found_reads": measure("Wrong 'not found' answers", "reads"),
    "wrong_not_found_age_p50_s": measure("Wrong 'not found' age, median", "s"),
    "wrong_not_found_age_max_s": measure("Wrong 'not found' age, oldest", "s"),
}


@register("negative-caching", title="Negative caching",
          summary="Lookups for ids that do not exist: database load without and with a cached 'not found', "
                  "and the staleness it adds when such an id is created later.",
          params=NegativeParams, page=PAGE, measures=NEGATIVE_MEASURES)
def run(params: NegativeParams, *, backend: Any = None, ns: Any = None, log: Any = None, **_: Any) -> Result:
    """SIMULATED on a virtual clock with the same strategy class the live demo runs on Redis."""
    runs = [simulate(params, 0.0), simulate(params, params.negative_ttl_s)]
    rows = []
    for r in runs:
        ages = r["wrong_not_found"]
        pct = percentiles(ages, (50, 99))
        rows.append({"strategy": r["name"], "db_queries": r["db_queries"],
                     "db_queries_for_missing_ids": r["missing_queries"],
                     "db_queries_per_s": r["db_queries"] / r["duration_s"],
                     "wrong_not_found_reads": len(ages), "wrong_not_found_age_p50_s": pct["p50"],
                     "wrong_not_found_age_max_s": max(ages) if ages else float("nan")})
    summary = pd.DataFrame(rows)
    without, with_ = rows
    measured = without["db_queries_for_missing_ids"] / max(1, with_["db_queries_for_missing_ids"])
    metrics = {"DB queries for missing ids, without": without["db_queries_for_missing_ids"],
               "DB queries for missing ids, with": with_["db_queries_for_missing_ids"],
               "drop factor, measured": measured,
               "drop factor, expected": expected_factor(params, runs[0]["duration_s"]),
               "wrong 'not found' reads added": with_["wrong_not_found_reads"],
               "longest wrong 'not found' s": with_["wrong_not_found_age_max_s"]}
    notes = [f"SIMULATED on a virtual clock: {params.lookups:,} lookups over {runs[0]['duration_s']:,.0f} virtual "
             "seconds, no Redis, whatever the backend. The live demo below runs the same class on Redis.",
             "Expected factor assumes Poisson lookups and no creations: Σλᵢ / Σ λᵢ/(1 + λᵢ·τ).",
             "A wrong 'not found' is a read answered from the sentinel after the id was created; its age is the "
             "time since creation (at most the negative TTL)."]
    return Result(metrics, {"summary": summary}, notes)
