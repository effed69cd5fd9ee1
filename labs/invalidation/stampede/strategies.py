"""Cache-stampede defences as small classes over a real Redis client and the learner's namespace.

A hot key expires while many clients read it; each one that misses recomputes the value (D ms on the
database), so one expiry turns into about ``rate × D`` identical queries — the thundering herd.

* :class:`NoProtection` — plain cache-aside: every miss recomputes.
* :class:`SingleFlight` — the first miss takes a lock (``SET lock token NX PX``), recomputes, writes the
  value and releases the lock with a compare-and-delete (only the token's owner may delete it: redis.io,
  "Distributed Locks with Redis" and the ``SET`` page's lock pattern): the server's own command where it
  has one — ``DELIFEQ key token`` (Valkey 9.0+), ``DELEX key IFEQ token`` (Redis 8.4+, Valkey 9.2+) —
  else the classic Lua script. Waiters poll the key. (``SET … IFEQ``, Valkey 8.1+ / Redis 8.4+, can
  *extend* a lock one still holds without Lua; it cannot delete.) A single-instance lock is not safe
  across a failover: replication is asynchronous, so a replica promoted before it received the ``SET``
  lets a second client take the same lock (redis.io, "Distributed Locks with Redis").
* :class:`XFetch` — probabilistic early expiration (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic
  Cache Stampede Prevention", PVLDB 8(8), 2015): a read recomputes early when
  ``now − δ·β·ln(rand()) ≥ expiry``, where δ is how long the last recompute took. The chance is
  ``exp(−time_left / (β·δ))``, so one reader refreshes shortly before expiry and the key never goes cold.
* :class:`StaleWhileRevalidate` — the value carries a soft "fresh until"; the key lives a stale window
  longer. A stale read returns the old value at once and one reader (holding the lock) refreshes in the
  background.

Every key, the lock included, is namespaced and written with a TTL. ``recompute`` is injected (the
simulated database of :mod:`labs.invalidation.stampede.real`), as are the clock, the sleep and the random source.
"""
from __future__ import annotations

import json
import math
import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import redis

from labs.core.namespace import Namespace

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Compare-and-delete commands, tried in order before the script: (name shown, command builder).
NATIVE_RELEASES: tuple[tuple[str, Callable[[str, str], tuple]], ...] = (
    ("DELIFEQ (Valkey 9.0+)", lambda key, token: ("DELIFEQ", key, token)),
    ("DELEX … IFEQ (Redis 8.4+, Valkey 9.2+)", lambda key, token: ("DELEX", key, "IFEQ", token)),
)
LUA_RELEASE = "EVAL compare-and-delete (Lua)"


def xfetch_early(time_left_s: float, delta_s: float, beta: float, u: float) -> bool:
    """XFetch's test, for one draw ``u`` ~ U(0, 1]: refresh now if ``−δ·β·ln(u) ≥ time_left``."""
    if time_left_s <= 0:
        return True
    if delta_s <= 0 or beta <= 0:
        return False
    return -delta_s * beta * math.log(u) >= time_left_s


def xfetch_probability(time_left_s: float, delta_s: float, beta: float) -> float:
    """The exact chance that one read refreshes early: ``exp(−time_left / (β·δ))`` (1 once expired)."""
    if time_left_s <= 0:
        return 1.0
    if delta_s <= 0 or beta <= 0:
        return 0.0
    return math.exp(-time_left_s / (beta * delta_s))


@dataclass(frozen=True)
class Read:
    """One read as the caller saw it: where the value came from and how long it took (measured)."""

    value: Any
    source: str          # "hit", "recompute", "waited", "stale", "early refresh"
    latency_s: float


class StampedeStrategy:
    name = "base"

    def __init__(self, client: Any, ns: Namespace, recompute: Callable[[], Any], *, ttl_s: float = 1.0,
                 beta: float = 1.0, lock_ttl_s: float = 5.0, retry_s: float = 0.005, stale_s: float = 5.0,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.ns, self.recompute = client, ns, recompute
        self.ttl_s, self.beta, self.lock_ttl_s, self.retry_s, self.stale_s = ttl_s, beta, lock_ttl_s, retry_s, stale_s
        self.rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.clock, self.sleep = clock, sleep
        self.key = ns.key("hot")
        self.lock_key = ns.key("hot:lock")
        self.background: list[threading.Thread] = []

    def _u(self) -> float:
        with self._rng_lock:
            return 1.0 - self.rng.random()  # in (0, 1]: ln(u) is finite

    def _store(self, value: Any, delta_s: float) -> None:
        now = self.clock()
        payload = {"value": value, "delta_s": delta_s, "expires_at": now + self.ttl_s}
        self.client.set(self.key, json.dumps(payload), px=max(1, int(self.ttl_s * 1000)))

    def _load(self) -> dict | None:
        raw = self.client.get(self.key)
        return None if raw is None else json.loads(raw)

    def _compute_and_store(self) -> Any:
        start = self.clock()
        value = self.recompute()
        self._store(value, self.clock() - start)
        return value

    def prepare_just_expired(self) -> None:
        """The state right after the hot key's TTL ran out: no value, no lock."""
        self.client.delete(self.key, self.lock_key)

    def read(self) -> Read:
        raise NotImplementedError

    def join_background(self, timeout_s: float = 10.0) -> None:
        """Wait for refreshes running in the background (stale-while-revalidate only)."""

    def cleanup(self) -> None:
        self.client.delete(self.key, self.lock_key)


class NoProtection(StampedeStrategy):
    name = "none"

    def read(self) -> Read:
        start = self.clock()
        cached = self._load()
        if cached is not None:
            return Read(cached["value"], "hit", self.clock() - start)
        value = self._compute_and_store()
        return Read(value, "recompute", self.clock() - start)


class SingleFlight(StampedeStrategy):
    name = "single-flight lock"

    def acquire(self, token: str) -> bool:
        return bool(self.client.set(self.lock_key, token, nx=True, px=max(1, int(self.lock_ttl_s * 1000))))

    use_native_release = True             # False: always the Lua script (to compare both)
    released_with = ""                    # how the last release was done, for the page's notes
    _natives = NATIVE_RELEASES            # narrowed per instance to the commands this server knows

    def release(self, token: str) -> bool:
        """Compare-and-delete: never remove a lock another client took after ours expired. The first
        command this server knows (``NATIVE_RELEASES``), else the Lua script; an unknown command is
        dropped from this instance's list so it is tried once."""
        if self.use_native_release:
            for name, build in self._natives:
                try:
                    reply = self.client.execute_command(*build(self.lock_key, token))
                except redis.ResponseError as exc:
                    if "unknown command" not in str(exc).lower():
                        raise
                    self._natives = tuple(n for n in self._natives if n[0] != name)
                    continue
                self.released_with = name
                return bool(reply)
        self.released_with = LUA_RELEASE
        return bool(self.client.eval(RELEASE_LUA, 1, self.lock_key, token))

    def read(self) -> Read:
        start = self.clock()
        deadline = start + 2 * self.lock_ttl_s
        first = True
        while True:
            cached = self._load()
            if cached is not None:
                return Read(cached["value"], "hit" if first else "waited", self.clock() - start)
            first = False
            token = secrets.token_hex(8)
            if self.acquire(token):
                try:
                    cached = self._load()  # filled while we were acquiring? then do not recompute
                    if cached is not None:
                        return Read(cached["value"], "waited", self.clock() - start)
                    value = self._compute_and_store()
                finally:
                    self.release(token)
                return Read(value, "recompute", self.clock() - start)
            if self.clock() > deadline:  # the lock holder is stuck: serve from the source
                return Read(self.recompute(), "recompute", self.clock() - start)
            self.sleep(self.retry_s)


class XFetch(StampedeStrategy):
    name = "XFetch"

    def read(self) -> Read:
        start = self.clock()
        cached = self._load()
        if cached is not None:
            time_left = cached["expires_at"] - start
            if not xfetch_early(time_left, cached["delta_s"], self.beta, self._u()):
                return Read(cached["value"], "hit", self.clock() - start)
            value = self._compute_and_store()
            return Read(value, "early refresh", self.clock() - start)
        value = self._compute_and_store()
        return Read(value, "recompute", self.clock() - start)


class StaleWhileRevalidate(SingleFlight):
    name = "stale-while-revalidate"

    def _store(self, value: Any, delta_s: float) -> None:
        now = self.clock()
        payload = {"value": value, "delta_s": delta_s, "expires_at": now + self.ttl_s}
        self.client.set(self.key, json.dumps(payload), px=max(1, int((self.ttl_s + self.stale_s) * 1000)))

    def prepare_just_expired(self) -> None:
        """Just past its soft TTL: the stale copy is still there (its hard TTL covers the stale window)."""
        self.client.delete(self.lock_key)
        payload = {"value": "previous", "delta_s": 0.0, "expires_at": self.clock() - 0.001}
        self.client.set(self.key, json.dumps(payload), px=max(1, int(self.stale_s * 1000)))

    def read(self) -> Read:
        start = self.clock()
        cached = self._load()
        if cached is None:
            return super().read()  # nothing to serve: behave like single-flight
        if start < cached["expires_at"]:
            return Read(cached["value"], "hit", self.clock() - start)
        token = secrets.token_hex(8)
        if self.acquire(token):
            worker = threading.Thread(target=self._refresh, args=(token,), daemon=True)
            self.background.append(worker)
            worker.start()
        return Read(cached["value"], "stale", self.clock() - start)

    def join_background(self, timeout_s: float = 10.0) -> None:
        for worker in self.background:
            worker.join(timeout_s)

    def _refresh(self, token: str) -> None:
        try:
            self._compute_and_store()
        finally:
            self.release(token)


STRATEGIES: dict[str, type[StampedeStrategy]] = {
    c.name: c for c in (NoProtection, SingleFlight, XFetch, StaleWhileRevalidate)}
