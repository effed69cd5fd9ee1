"""The delete-vs-set race, step by step, on a real backend — and three fixes run through the same interleavings.

Two clients share one cached row. The *reader* does cache-aside: ``GET`` (miss) → read the row from the
database → ``SET`` it into the cache. The *writer* changes the row and invalidates the cache. Each client's
steps keep their order, but the two can interleave in 10 ways (3 reader steps, 2 writer steps). In the
classic bad one the reader reads the old row, the writer updates and deletes, and then the reader's late
``SET`` puts the old row back — stale until the TTL.

Strategies (the writer's two steps in brackets):

* **delete first** [DEL, UPDATE] — stale whenever the reader's miss falls between the two writer steps.
* **update then delete** [UPDATE, DEL] — Microsoft's cache-aside guidance: update the data store, then
  invalidate (https://learn.microsoft.com/en-us/azure/architecture/patterns/cache-aside); closes that
  interleaving but not "reader spans the whole write"; a short TTL is its backstop.
* **lease (Lua)** — Nishtala et al., "Scaling Memcache at Facebook", NSDI 2013, §3.2.1: a miss hands the
  reader a lease token; a delete invalidates the token; a SET with a stale token is rejected. Each step is
  one Lua script, so it is atomic on the server.
* **versioned (WATCH/MULTI)** — rows carry a version; the writer leaves a tombstone with the new version
  instead of deleting, and a SET only lands if its version is not older (optimistic WATCH/MULTI/EXEC).

Every key is under the learner's namespace with a TTL. The "database" of this step-through is a single
row held in this process (value + version): the race is about ordering, not latency.
"""
from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import redis

from labs.core.namespace import Namespace, check_ttl

STRATEGIES = ("delete first", "update then delete", "lease (Lua)", "versioned (WATCH/MULTI)")
ENTITY = 123

# Every order of the reader's 3 steps and the writer's 2 steps (each client keeps its own order).
INTERLEAVINGS: tuple[str, ...] = tuple("".join("W" if i in w else "R" for i in range(5))
                                       for w in itertools.combinations(range(5), 2))

_LEASE_GET = """
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {0, ARGV[1]}
"""
_LEASE_SET = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
_LEASE_INVALIDATE = "return redis.call('DEL', KEYS[1], KEYS[2])"


def describe(pattern: str) -> str:
    """'RRWWR' → 'R R W W R' (the reader's and writer's steps in time order)."""
    return " ".join(pattern)


def writer_steps(strategy: str) -> tuple[str, str]:
    if strategy == "delete first":
        return ("invalidate", "update")
    return ("update", "invalidate")


@dataclass
class RaceRun:
    """One interleaving of one strategy, executed a step at a time on a real client."""

    strategy: str
    pattern: str
    ns: Namespace
    ttl_s: int = 300
    lease_ms: int = 10_000
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    position: int = 0
    db: dict = field(default_factory=lambda: {"value": "Oslo", "version": 1})
    log: list[dict] = field(default_factory=list)
    _reader_row: dict | None = None
    _token: str | None = None
    set_rejected: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}.")
        if self.pattern not in INTERLEAVINGS:
            raise ValueError(f"Interleaving {self.pattern!r} must order 3 reader (R) and 2 writer (W) steps, "
                             f"e.g. {INTERLEAVINGS[0]}.")
        check_ttl(self.ttl_s)
        self.ns = self.ns.for_lab("race")
        slug = self.strategy.split()[0]
        self.key = self.ns.key(f"{slug}:{self.run_id}:user:{ENTITY}")
        self.lease_key = self.ns.key(f"{slug}:{self.run_id}:user:{ENTITY}:lease")
        r, w = iter(("get", "read_db", "set")), iter(writer_steps(self.strategy))
        self.steps = [("reader", next(r)) if c == "R" else ("writer", next(w)) for c in self.pattern]

    @property
    def finished(self) -> bool:
        return self.position >= len(self.steps)

    def step(self, client: Any) -> dict:
        """Run the next step against ``client``; returns (and logs) what happened."""
        if self.finished:
            raise ValueError("This interleaving has run all its steps; start it again to replay it.")
        actor, action = self.steps[self.position]
        what = getattr(self, f"_{actor}_{action}")(client)
        self.position += 1
        entry = {"step": self.position, "client": actor, "action": what, **self.snapshot(client)}
        self.log.append(entry)
        return entry

    def run_all(self, client: Any) -> dict:
        while not self.finished:
            self.step(client)
        return self.outcome(client)

    # -- reader --------------------------------------------------------------------
    def _reader_get(self, client: Any) -> str:
        if self.strategy == "lease (Lua)":
            hit, token = client.eval(_LEASE_GET, 2, self.key, self.lease_key, secrets.token_hex(4), self.lease_ms)
            if hit:
                return "GET → hit"
            self._token = token.decode() if isinstance(token, bytes) else token
            return f"GET → miss; lease token {self._token} granted (SET lease NX PX {self.lease_ms})"
        if self.strategy.startswith("versioned"):
            cached = client.hgetall(self.key)
            if cached.get(b"data"):
                return "HGETALL → hit"
            return "HGETALL → miss" + (" (tombstone v" + cached[b"v"].decode() + ")" if cached else "")
        return "GET → hit" if client.get(self.key) is not None else "GET → miss"

    def _reader_read_db(self, client: Any) -> str:
        self._reader_row = dict(self.db)
        return f"reads the row from the database: {self._reader_row['value']} (v{self._reader_row['version']})"

    def _reader_set(self, client: Any) -> str:
        row = self._reader_row
        data = json.dumps(row)
        if self.strategy == "lease (Lua)":
            ok = client.eval(_LEASE_SET, 2, self.key, self.lease_key, self._token or "", data, self.ttl_s)
            self.set_rejected = not ok
            return (f"SET with lease {self._token} → " + ("accepted" if ok else "REJECTED (lease was invalidated)"))
        if self.strategy.startswith("versioned"):
            ok = _set_if_not_older(client, self.key, row["version"], data, self.ttl_s)
            self.set_rejected = not ok
            return f"SET v{row['version']} if not older → " + ("accepted" if ok else "REJECTED (cache has a newer version)")
        client.set(self.key, data, ex=self.ttl_s)
        return f"SET {row['value']} (v{row['version']}) EX {self.ttl_s}"

    # -- writer --------------------------------------------------------------------
    def _writer_update(self, client: Any) -> str:
        self.db = {"value": "Bergen", "version": self.db["version"] + 1}
        return f"UPDATE the database: {self.db['value']} (v{self.db['version']})"

    def _writer_invalidate(self, client: Any) -> str:
        if self.strategy == "lease (Lua)":
            client.eval(_LEASE_INVALIDATE, 2, self.key, self.lease_key)
            return "DEL the key and its lease (any outstanding token is now void)"
        if self.strategy.startswith("versioned"):
            _set_if_not_older(client, self.key, self.db["version"], "", self.ttl_s, strictly_newer=True)
            return f"tombstone v{self.db['version']} (a SET older than v{self.db['version']} will be refused)"
        client.delete(self.key)
        return "DEL the key"

    # -- state ---------------------------------------------------------------------
    def cached_row(self, client: Any) -> dict | None:
        if self.strategy.startswith("versioned"):
            data = client.hget(self.key, "data")
            return json.loads(data) if data else None
        raw = client.get(self.key)
        return None if raw is None else json.loads(raw)

    def snapshot(self, client: Any) -> dict:
        row = self.cached_row(client)
        ttl = client.ttl(self.key)
        return {"cache": "(empty)" if row is None else f"{row['value']} (v{row['version']})",
                "cache_ttl_s": ttl if ttl >= 0 else None,
                "database": f"{self.db['value']} (v{self.db['version']})"}

    def outcome(self, client: Any) -> dict:
        """After the last step: is the cache stale (older than the database), and for how long?"""
        row = self.cached_row(client)
        ttl = client.ttl(self.key)
        if row is None:
            verdict = "empty (next read reloads)"
        elif row["version"] == self.db["version"]:
            verdict = "fresh"
        else:
            verdict = f"STALE for {ttl} s (until the TTL)"
        return {"strategy": self.strategy, "interleaving": describe(self.pattern),
                "stale": row is not None and row["version"] != self.db["version"],
                "stale_for_s": ttl if row is not None and row["version"] != self.db["version"] else 0,
                "set_rejected": self.set_rejected, "verdict": verdict}

    def cleanup(self, client: Any) -> None:
        client.delete(self.key, self.lease_key)


def _set_if_not_older(client: Any, key: str, version: int, data: str, ttl_s: int, *, strictly_newer: bool = False,
                      retries: int = 5) -> bool:
    """HSET v/data unless the cache already holds a newer version (or, for a tombstone, the same one) —
    optimistic concurrency with WATCH/MULTI/EXEC: if the key changes before EXEC, try again."""
    for _ in range(retries):
        with client.pipeline() as pipe:
            try:
                pipe.watch(key)
                current = pipe.hget(key, "v")
                if current is not None and (int(current) >= version if strictly_newer else int(current) > version):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.hset(key, mapping={"v": version, "data": data})
                pipe.expire(key, ttl_s)
                pipe.execute()
                return True
            except redis.WatchError:
                continue
    return False


def race_matrix(client: Any, ns: Namespace, *, ttl_s: int = 300, backstop_ttl_s: int = 5) -> list[dict]:
    """Every strategy through every interleaving on ``client``; one outcome row each (keys cleaned up)."""
    rows = []
    for strategy in STRATEGIES:
        ttl = backstop_ttl_s if strategy == "update then delete" else ttl_s
        for pattern in INTERLEAVINGS:
            run = RaceRun(strategy, pattern, ns, ttl_s=ttl)
            try:
                rows.append({**run.run_all(client), "pattern": pattern,
                             "steps": " → ".join(f"{a[0].upper()}:{s}" for a, s in run.steps)})
            finally:
                run.cleanup(client)
    return rows
