"""Two caches behind one tiny interface — a virtual-clock cache for simulations and a real Redis one —
and a versioned table standing in for the primary database in simulations.

The invalidation strategies (:mod:`labs.invalidation.strategies`) only call ``get``/``set``/``delete``,
so the same strategy code runs on a virtual clock (hours of traffic in a second, no sleeps) and against
a real server (namespaced keys, ``SET … EX``). A lookup that finds nothing returns :data:`labs.core.cache.MISS`,
never ``None``: a cached ``null`` is a legitimate value (negative caching stores one).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from labs.core.cache import MISS
from labs.core.namespace import Namespace, check_ttl


class VirtualCache:
    """A dict with expiry on an injected clock (seconds). Mirrors GET / SET EX / DEL / SET NX."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._data: dict[str, tuple[Any, float]] = {}
        self.commands = 0

    def get(self, name: str) -> Any:
        self.commands += 1
        item = self._data.get(name)
        if item is None:
            return MISS
        value, expires_at = item
        if self.clock() >= expires_at:  # lazy expiry, as Redis does on access
            del self._data[name]
            return MISS
        return value

    def set(self, name: str, value: Any, ttl_s: float, *, nx: bool = False) -> bool:
        self.commands += 1
        if nx and self.get(name) is not MISS:
            return False
        self._data[name] = (value, self.clock() + ttl_s)
        return True

    def delete(self, name: str) -> int:
        self.commands += 1
        return int(self._data.pop(name, None) is not None)

    def ttl_left(self, name: str) -> float | None:
        item = self._data.get(name)
        return None if item is None else max(0.0, item[1] - self.clock())

    def __len__(self) -> int:
        now = self.clock()
        return sum(1 for _, exp in self._data.values() if exp > now)


class RedisCache:
    """The same interface on a real server: JSON values under the learner's namespace, always with a TTL."""

    def __init__(self, client: Any, ns: Namespace) -> None:
        self.client, self.ns = client, ns
        self.commands = 0

    def get(self, name: str) -> Any:
        self.commands += 1
        raw = self.client.get(self.ns.key(name))
        return MISS if raw is None else json.loads(raw)

    def set(self, name: str, value: Any, ttl_s: float, *, nx: bool = False) -> bool:
        self.commands += 1
        ttl_ms = max(1, int(round(ttl_s * 1000)))
        check_ttl(max(1, ttl_ms // 1000))
        return bool(self.client.set(self.ns.key(name), json.dumps(value, separators=(",", ":")), px=ttl_ms, nx=nx))

    def delete(self, name: str) -> int:
        self.commands += 1
        return int(self.client.delete(self.ns.key(name)))

    def ttl_left(self, name: str) -> float | None:
        ms = self.client.pttl(self.ns.key(name))
        return None if ms is None or ms < 0 else ms / 1000


@dataclass
class VersionedTable:
    """The primary database of the simulations: each entity has a value and a version (1, 2, 3 …).

    ``superseded_at[(entity, version)]`` records when that version stopped being current, so a stale
    read's *staleness age* (how long ago the value it returned was replaced) can be measured exactly.
    """

    clock: Callable[[], float]
    rows: dict[int, dict] = field(default_factory=dict)
    superseded_at: dict[tuple[int, int], float] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0

    def get(self, entity: int) -> dict | None:
        self.reads += 1
        row = self.rows.get(entity)
        return None if row is None else dict(row)

    def current_version(self, entity: int) -> int:
        row = self.rows.get(entity)
        return 0 if row is None else row["version"]

    def update(self, entity: int, value: Any) -> dict:
        """Write a new value; the version goes up by one (an insert when the row does not exist yet)."""
        self.writes += 1
        old = self.rows.get(entity)
        version = 1 if old is None else old["version"] + 1
        if old is not None:
            self.superseded_at[(entity, old["version"])] = self.clock()
        self.rows[entity] = {"id": entity, "version": version, "value": value}
        return dict(self.rows[entity])

    def staleness_age(self, entity: int, row: dict | None) -> float | None:
        """None when ``row`` is the current state; else seconds since the row it shows was replaced."""
        current = self.rows.get(entity)
        if row is None:  # a cached "not found"
            if current is None:
                return None
            return self.clock() - self.superseded_at.get((entity, 0), self.clock())
        if current is not None and row["version"] == current["version"]:
            return None
        return self.clock() - self.superseded_at[(entity, row["version"])]

    def insert(self, entity: int, value: Any) -> dict:
        """Create a row that did not exist: the cached 'not found' (version 0) is superseded now."""
        self.superseded_at[(entity, 0)] = self.clock()
        return self.update(entity, value)
