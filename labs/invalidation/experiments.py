"""The invalidation experiments that talk to a real server: the tutorial's PATCH → DEL demo (with negative
caching), and every race strategy through every interleaving.

The live demo runs :class:`DeleteOnWrite` and :class:`NegativeCaching` — the same classes the simulations
replay on a virtual clock — on a :class:`RedisCache` over the learner's namespace and on the learner's own
copy of the primary database (SQLite; its network time is simulated and not shown here).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.db import LatencyModel, PrimaryDB, default_db_path, ensure_seeded
from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.invalidation.negative import NegativeCaching
from labs.invalidation.race import INTERLEAVINGS, STRATEGIES, race_matrix
from labs.invalidation.store import RedisCache
from labs.invalidation.strategies import DeleteOnWrite
from labs.core.namespace import Namespace, new_session_id
from labs.core.recipe import commands_frame, transcript

PAGE = "app_pages/invalidation.py"
MISSING_ID = 999_999


class UsersTable:
    """The primary database's ``users`` table as the strategies see it: ``{"id", "version", "value"}``
    where value is the user's city; versions are counted here (the seed table has no version column)."""

    def __init__(self, db: PrimaryDB) -> None:
        self.db, self.versions = db, {}

    def get(self, entity: int) -> dict | None:
        row = self.db.get("users", entity)
        if not row.found:
            return None
        return {"id": entity, "version": self.versions.get(entity, 1), "value": row.value["city"]}

    def update(self, entity: int, value: Any) -> dict:
        self.db.update("users", entity, {"city": value})
        self.versions[entity] = self.versions.get(entity, 1) + 1
        return {"id": entity, "version": self.versions[entity], "value": value}

    def insert(self, entity: int, value: Any) -> dict:
        self.db.insert("users", {"id": entity, "name": "New user", "city": value})
        return {"id": entity, "version": 1, "value": value}


@dataclass(frozen=True)
class LiveParams:
    user_id: int = knob(123, min=1, max=2000, label="user id", help="The user to read and PATCH (1 … 2000 exist).")
    new_city: str = knob("Bergen", label="new city", help="What the PATCH writes.")
    ttl_s: int = knob(60, min=1, max=3600, unit="s", label="TTL", help="Lease of a cached row.")
    negative_ttl_s: int = knob(10, min=1, max=3600, unit="s", label="negative TTL",
                               help="Lease of a cached 'not found' for a missing id.")

    def __post_init__(self) -> None:
        check_ranges(self)
        if not self.new_city.strip() or len(self.new_city) > 60:
            raise ValueError(f"{label_of(self, 'new_city')} must be 1-60 characters.")


def _shown(row: Any) -> str:
    return "not found" if row is None else f"{row['value']} (v{row['version']})"


LIVE_MEASURES = {
    "database queries": measure("Database queries", "queries", headline=True),
    "stale answers": measure("Stale answers", "reads", headline=True,
                             help="Answers older than what the database held at that moment."),
    "reads from the cache": measure("Reads from the cache", "reads", headline=True),
    "step": measure("Step", "rank"), "what": measure("What happened", "text"), "answer": measure("Answer", "text"),
    "from": measure("Answered from", "text"), "db_queries": measure("Database queries", "queries"),
    "database_now": measure("Database holds", "text"), "stale": measure("Stale", "yes/no"),
    "cache_ttl_s": measure("Cache TTL left", "s", help="-2: no cached copy."),
    "measured_us": measure("Took", "µs", help="Measured."),
}


@register("invalidation-live", title="PATCH /user/123 → DEL user:123, live",
          summary="On your backend: read (miss, then hit), PATCH through the app (DEL), PATCH behind its back "
                  "(stale), and a cached 'not found'.",
          params=LiveParams, page=PAGE, measures=LIVE_MEASURES)
def run_live(params: LiveParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
             **_: Any) -> Result:
    backend, opened = open_backend_for(backend)
    ns = (ns or Namespace(new_session_id())).for_lab("invalidation")
    db = PrimaryDB.open_private_copy(ensure_seeded(default_db_path()).path,
                                     latency=LatencyModel(0, 0, 0, 0), rng=random.Random(0))
    table = UsersTable(db)
    uid = params.user_id
    rows: list[dict] = []
    try:
        with transcript(backend.client, log) as (client, own):
            cache = RedisCache(client, ns)
            app = DeleteOnWrite(cache, table, params.ttl_s)
            lookups = NegativeCaching(cache, table, params.ttl_s, params.negative_ttl_s)
            cache.delete(f"user:{uid}")
            cache.delete(f"user:{MISSING_ID}")

            def step(what: str, action, key: int) -> None:
                before = db.stats.reads
                start = time.perf_counter_ns()
                out = action()
                took = (time.perf_counter_ns() - start) / 1000
                queries = db.stats.reads - before
                row, hit = out if isinstance(out, tuple) else (out, None)
                truth = table.get(key)  # what the database holds now (not counted as the app's query)
                rows.append({"step": len(rows) + 1, "what": what, "answer": _shown(row),
                             "from": "" if hit is None else ("cache" if hit else "database"),
                             "db_queries": queries, "database_now": _shown(truth),
                             "stale": hit is not None and _shown(row) != _shown(truth),
                             "cache_ttl_s": cache.ttl_left(f"user:{key}"), "measured_us": round(took, 1)})

            step(f"GET /user/{uid}", lambda: app.read(uid), uid)
            step(f"GET /user/{uid} again", lambda: app.read(uid), uid)
            step(f"PATCH /user/{uid} city={params.new_city} (UPDATE, then DEL)", lambda: app.write(uid, params.new_city), uid)
            step(f"GET /user/{uid}", lambda: app.read(uid), uid)
            step(f"another service UPDATEs user {uid} (no DEL)", lambda: table.update(uid, "Trondheim"), uid)
            step(f"GET /user/{uid}", lambda: app.read(uid), uid)
            step(f"GET /user/{MISSING_ID} (no such user)", lambda: lookups.read(MISSING_ID), MISSING_ID)
            step(f"GET /user/{MISSING_ID} again", lambda: lookups.read(MISSING_ID), MISSING_ID)
            step(f"sign-up creates user {MISSING_ID}", lambda: table.insert(MISSING_ID, "Oslo"), MISSING_ID)
            step(f"GET /user/{MISSING_ID}", lambda: lookups.read(MISSING_ID), MISSING_ID)
            for key in (uid, MISSING_ID):
                cache.delete(f"user:{key}")
    finally:
        db.close()
        for b in opened:
            b.close()
    frame = pd.DataFrame(rows)
    metrics = {"database queries": int(frame.db_queries.sum()), "stale answers": int(frame.stale.sum()),
               "reads from the cache": int((frame["from"] == "cache").sum())}
    notes = [f"Real commands on the {backend.kind} backend ({backend.caps.server_label}), real SQLite queries on "
             "your private copy of the database; times are measured (no simulated network here).",
             "Version numbers are counted by the lab (the users table has no version column).",
             "The keys are deleted at the end; while they lived they carried the TTLs shown."]
    return Result(metrics, {"steps": frame, "commands": commands_frame(own, ns)}, notes)


@dataclass(frozen=True)
class RaceParams:
    ttl_s: int = knob(300, min=1, max=3600, unit="s", label="TTL",
                      help="Lease of a cached row (how long a stale value can survive).")
    backstop_ttl_s: int = knob(5, min=1, max=3600, unit="s", label="backstop TTL",
                               help="The short TTL 'update then delete' uses as its backstop.")

    def __post_init__(self) -> None:
        check_ranges(self)


RACE_MEASURES = {
    "*: stale interleavings": measure("Stale endings — {0}", "interleavings", headline=True,
                                      help="Of the 10 orders, those that leave the cache older than the database."),
    "interleaving": measure("Interleaving", "text", help="R = reader step, W = writer step, in time order."),
    **{s: measure(s[:1].upper() + s[1:], "text") for s in STRATEGIES},
    "strategy": measure("Strategy", "text"), "stale": measure("Stale at the end", "yes/no"),
    "stale_for_s": measure("Stale for", "s", help="How long the stale value survives: its TTL."),
    "set_rejected": measure("Late SET refused", "yes/no"), "verdict": measure("Verdict", "text"),
    "pattern": measure("Order", "text"), "steps": measure("Steps", "text"),
}


@register("invalidation-race", title="The delete-vs-set race: every interleaving",
          summary="Reader (GET miss → read DB → SET) and writer (UPDATE + invalidate) in all 10 orders, for "
                  "delete first, update then delete, a lease and versioned SETs.",
          params=RaceParams, page=PAGE, measures=RACE_MEASURES)
def run_race(params: RaceParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
             **_: Any) -> Result:
    backend, opened = open_backend_for(backend)
    ns = ns or Namespace(new_session_id())
    try:
        with transcript(backend.client, log) as (client, own):
            rows = race_matrix(client, ns, ttl_s=params.ttl_s, backstop_ttl_s=params.backstop_ttl_s)
    finally:
        for b in opened:
            b.close()
    outcomes = pd.DataFrame(rows)
    matrix = outcomes.pivot(index="interleaving", columns="strategy", values="verdict")
    matrix = matrix.reindex([" ".join(p) for p in INTERLEAVINGS])[list(STRATEGIES)].reset_index()
    metrics: dict[str, Any] = {f"{s}: stale interleavings": int(outcomes[outcomes.strategy == s].stale.sum())
                               for s in STRATEGIES}
    notes = [f"Every step ran on the {backend.kind} backend ({backend.caps.server_label}) in the order shown; the "
             "'database' is a single row in this process. Keys are deleted after each interleaving.",
             "R = reader (GET → read the database → SET), W = writer (its two steps depend on the strategy)."]
    return Result(metrics, {"matrix": matrix, "outcomes": outcomes, "commands": commands_frame(own, ns.for_lab("race"))},
                  notes)
