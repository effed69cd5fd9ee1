"""The semantic cache itself: entries are Redis hashes, lookups are cosine KNN within one tenant.

Each entry is a hash in the learner's namespace, ``lab:{sid}:semantic:<cache>:entry:<id>``, with the fields
``prompt``, ``answer``, ``tenant``, ``vector`` (float32 bytes), ``created`` and ``hits``, and a TTL that
a hit refreshes — RedisVL's ``SemanticCache`` does the same (``check`` calls ``_refresh_ttl`` on the key it
returns; redis/redis-vl-python ``redisvl/extensions/cache/llm/semantic.py``).

Two indexes find the nearest entries, both exact cosine KNN, so both give the same top-1:

- :class:`NumpyIndex` — a matrix of the entries' vectors per tenant, in this process, rebuilt from the
  hashes by ``SCAN`` (works on every backend, fakeredis included). The hashes stay the truth: a neighbour
  whose key has expired is dropped from the matrix when it is met.
- :class:`SearchIndex` — the server's query engine (``FT.CREATE … VECTOR FLAT … DISTANCE_METRIC COSINE``,
  Redis 8 / Redis Stack / valkey-search), used only when the capabilities probe lists a search module.

Thresholds: the lab speaks cosine *similarity* s (1 = same direction); Redis and RedisVL speak cosine
*distance* d = 1 − s (0 … 2). A hit needs s ≥ threshold, i.e. d ≤ 1 − threshold. A distance threshold of
0 means "exact repeats only" and is honoured as such (RedisVL once replaced 0 by its default:
redis/redis-vl-python#649).
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from labs.core.namespace import Namespace, check_ttl
from labs.ai.semantic.embedder import Embedder

LAB = "semantic"
EPSILON = 1e-5  # float32 rounding: a text compared with itself scores 0.99999994, not exactly 1
_TENANT = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
SEARCH_MODULES = ("search", "ft", "searchlight", "valkey-search")


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise ValueError(f"tenant must be 1-40 letters, digits, '-' or '_', got {tenant!r}.")
    return tenant


def check_similarity(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1 <= value <= 1:
        raise ValueError(f"A similarity threshold must be between -1 and 1, got {value!r}.")
    return float(value)


def check_distance(value: float) -> float:
    """RedisVL's rule (``SemanticCache.set_threshold``): a cosine distance threshold lies in [0, 2]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 2:
        raise ValueError(f"A cosine distance threshold must be between 0 and 2, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class Neighbour:
    key: str
    prompt: str
    answer: str
    tenant: str
    similarity: float

    @property
    def distance(self) -> float:
        return 1.0 - self.similarity


@dataclass
class Lookup:
    """What one ``check`` found: the nearest entries, hit or miss, and what each step took."""

    prompt: str
    tenant: str
    threshold: float                      # similarity
    neighbours: list[Neighbour] = field(default_factory=list)
    hit: bool = False
    rejected_by: str = ""                 # why the guard refused the nearest entry
    embed_ms: float = 0.0
    search_ms: float = 0.0
    vector: np.ndarray | None = None

    @property
    def answer(self) -> str | None:
        return self.neighbours[0].answer if self.hit else None

    @property
    def best(self) -> Neighbour | None:
        return self.neighbours[0] if self.neighbours else None


Guard = Callable[[str, str], str]  # (query, cached prompt) → "" to accept, else the reason to reject


class NumpyIndex:
    """Exact cosine KNN over unit vectors, one growing matrix per tenant."""

    kind = "numpy exact KNN"

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._keys: dict[str, list[str]] = {}
        self._mats: dict[str, np.ndarray] = {}
        self._where: dict[str, tuple[str, int]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def add(self, key: str, tenant: str, vector: np.ndarray) -> None:
        if key in self._where:
            t, row = self._where[key]
            self._mats[t][row] = vector
            return
        keys = self._keys.setdefault(tenant, [])
        mat = self._mats.get(tenant)
        if mat is None or len(keys) == len(mat):
            grown = np.zeros((max(16, 2 * len(keys)), self.dims), dtype=np.float32)
            if mat is not None:
                grown[:len(keys)] = mat
            self._mats[tenant] = mat = grown
        mat[len(keys)] = vector
        self._where[key] = (tenant, len(keys))
        keys.append(key)

    def add_many(self, keys: list[str], tenant: str, vectors: np.ndarray) -> None:
        for key, vector in zip(keys, vectors):
            self.add(key, tenant, vector)

    def remove(self, key: str) -> None:
        """Swap the last row into the removed one (O(1))."""
        if key not in self._where:
            return
        tenant, row = self._where.pop(key)
        keys, mat = self._keys[tenant], self._mats[tenant]
        last = len(keys) - 1
        if row != last:
            keys[row] = keys[last]
            mat[row] = mat[last]
            self._where[keys[row]] = (tenant, row)
        keys.pop()

    def search(self, vector: np.ndarray, tenant: str, k: int) -> list[tuple[str, float]]:
        keys = self._keys.get(tenant) or []
        if not keys:
            return []
        sims = self._mats[tenant][:len(keys)] @ vector
        k = min(k, len(keys))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(keys) else np.arange(len(keys))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(keys[i], float(sims[i])) for i in top]


class SearchIndex:
    """The server's vector index (FT.CREATE … VECTOR FLAT, COSINE) over this learner's entry hashes.

    Only used when the server lists a search module. An index is not a key and has no TTL: ``drop()``
    removes it (the page's reset does), never the hashes of anyone else.
    """

    kind = "server vector index (FT.SEARCH)"

    def __init__(self, client: Any, ns: Namespace, dims: int, cache_name: str = "cache") -> None:
        self.client, self.dims = client, dims
        self.name = ns.key(f"{cache_name}:idx")
        self.prefix = ns.key(f"{cache_name}:entry:")
        try:
            client.execute_command("FT.INFO", self.name)
        except Exception:  # noqa: BLE001 — "Unknown index name" differs by server; any error means: create it
            client.execute_command(
                "FT.CREATE", self.name, "ON", "HASH", "PREFIX", 1, self.prefix, "SCHEMA",
                "tenant", "TAG", "vector", "VECTOR", "FLAT", 6, "TYPE", "FLOAT32", "DIM", dims,
                "DISTANCE_METRIC", "COSINE")

    def __len__(self) -> int:
        return 0

    def add(self, key: str, tenant: str, vector: np.ndarray) -> None:
        """Nothing to do: the server indexes a hash as soon as it is written under the prefix."""

    def add_many(self, keys: list[str], tenant: str, vectors: np.ndarray) -> None:
        """Nothing to do (see :meth:`add`)."""

    def remove(self, key: str) -> None:
        """Nothing to do: an expired hash leaves the index by itself."""

    def search(self, vector: np.ndarray, tenant: str, k: int) -> list[tuple[str, float]]:
        query = f"(@tenant:{{{tenant}}})=>[KNN {int(k)} @vector $vec AS distance]"
        reply = self.client.execute_command(
            "FT.SEARCH", self.name, query, "PARAMS", 2, "vec", np.asarray(vector, np.float32).tobytes(),
            "SORTBY", "distance", "RETURN", 1, "distance", "LIMIT", 0, int(k), "DIALECT", 2)
        out = []
        for i in range(1, len(reply), 2):
            key = reply[i].decode() if isinstance(reply[i], bytes) else str(reply[i])
            fields = reply[i + 1]
            values = {(f.decode() if isinstance(f, bytes) else f): v for f, v in zip(fields[::2], fields[1::2])}
            out.append((key, 1.0 - float(values["distance"])))
        return out

    def drop(self) -> None:
        self.client.execute_command("FT.DROPINDEX", self.name)


def has_search(caps: Any) -> bool:
    """Does the capabilities probe list a query-engine module (FT.*) on this server?"""
    modules = {m.lower() for m in getattr(caps, "modules", ()) or ()}
    return bool(modules & set(SEARCH_MODULES))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else ("" if value is None else str(value))


class SemanticCache:
    """Store answers under prompt embeddings; return a cached answer for a similar prompt of the same tenant."""

    def __init__(self, client: Any, ns: Namespace, embedder: Embedder, *, threshold: float = 0.8,
                 ttl_s: int = 3600, index: str = "numpy", caps: Any = None, guard: Guard | None = None,
                 name: str = "cache", clock: Callable[[], float] = time.time) -> None:
        self.client, self.embedder, self.guard, self.clock = client, embedder, guard, clock
        self.ns = ns.for_lab(LAB)
        if not re.match(r"^[a-z0-9_\-]{1,40}$", name):
            raise ValueError(f"cache name must be short lowercase letters/digits/-/_, got {name!r}.")
        self.name = name
        self.threshold = check_similarity(threshold)
        self.ttl_s = check_ttl(ttl_s)
        if index not in ("numpy", "search", "auto"):
            raise ValueError(f"index must be numpy, search or auto, got {index!r}.")
        if index == "search" or (index == "auto" and has_search(caps)):
            self.index: NumpyIndex | SearchIndex = SearchIndex(client, self.ns, embedder.dims, name)
        else:
            self.index = NumpyIndex(embedder.dims)

    @property
    def distance_threshold(self) -> float:
        return 1.0 - self.threshold

    def set_distance_threshold(self, distance: float) -> None:
        self.threshold = 1.0 - check_distance(distance)

    def entry_key(self, tenant: str, prompt: str) -> str:
        digest = hashlib.blake2b(f"{tenant}\0{prompt}".encode(), digest_size=8).hexdigest()
        return self.ns.key(f"{self.name}:entry:{digest}")

    def store(self, prompt: str, answer: str, tenant: str, *, vector: np.ndarray | None = None) -> str:
        return self.store_many([prompt], [answer], tenant, vectors=None if vector is None else vector[None, :])[0]

    def store_many(self, prompts: list[str], answers: list[str], tenant: str, *,
                   vectors: np.ndarray | None = None) -> list[str]:
        """HSET each entry and give it the cache's TTL, in one pipeline; index it."""
        check_tenant(tenant)
        vectors = self.embedder.embed(prompts) if vectors is None else np.asarray(vectors, np.float32)
        keys = [self.entry_key(tenant, p) for p in prompts]
        now = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for key, prompt, answer, vector in zip(keys, prompts, answers, vectors):
            pipe.hset(key, mapping={"prompt": prompt, "answer": answer, "tenant": tenant,
                                    "vector": vector.astype(np.float32).tobytes(), "created": f"{now:.3f}",
                                    "hits": 0})
            pipe.expire(key, self.ttl_s)
        pipe.execute()
        self.index.add_many(keys, tenant, vectors)
        return keys

    def check(self, prompt: str, tenant: str, *, threshold: float | None = None,
              distance_threshold: float | None = None, k: int = 3, vector: np.ndarray | None = None) -> Lookup:
        """Nearest ``k`` entries of ``tenant``; a hit when the nearest is within the threshold (and passes the guard).

        ``threshold`` is a similarity, ``distance_threshold`` a cosine distance; None means the cache's
        own — a 0 is a real threshold, never "unset" (redis-vl-python#649).
        """
        check_tenant(tenant)
        if threshold is not None and distance_threshold is not None:
            raise ValueError("Give a similarity threshold or a distance threshold, not both.")
        sim_threshold = (self.threshold if threshold is None and distance_threshold is None
                         else check_similarity(threshold) if threshold is not None
                         else 1.0 - check_distance(distance_threshold))
        start = time.perf_counter()
        if vector is None:
            vector = self.embedder.embed([prompt])[0]
        embedded = time.perf_counter()
        found = self._neighbours(vector, tenant, k)
        searched = time.perf_counter()
        out = Lookup(prompt, tenant, sim_threshold, found, embed_ms=(embedded - start) * 1000,
                     search_ms=(searched - embedded) * 1000, vector=vector)
        best = out.best
        if best is not None and best.similarity >= sim_threshold - EPSILON:
            reason = self.guard(prompt, best.prompt) if self.guard else ""
            if reason:
                out.rejected_by = reason
            else:
                out.hit = True
                pipe = self.client.pipeline(transaction=False)
                pipe.hincrby(best.key, "hits", 1)
                pipe.expire(best.key, self.ttl_s)  # a hit renews the lease, as RedisVL's check does
                pipe.execute()
        return out

    def _neighbours(self, vector: np.ndarray, tenant: str, k: int) -> list[Neighbour]:
        """Top-k from the index, read back from the hashes; entries that expired are dropped and replaced."""
        for _ in range(3):
            candidates = self.index.search(vector, tenant, k)
            if not candidates:
                return []
            pipe = self.client.pipeline(transaction=False)
            for key, _sim in candidates:
                pipe.hmget(key, "prompt", "answer", "tenant")
            rows = pipe.execute()
            found, gone = [], []
            for (key, sim), (prompt, answer, owner) in zip(candidates, rows):
                if prompt is None:
                    gone.append(key)
                elif _text(owner) == tenant:  # belt and braces: the index is per tenant already
                    found.append(Neighbour(key, _text(prompt), _text(answer), tenant, sim))
            if not gone:
                return found
            for key in gone:
                self.index.remove(key)
        return found

    def load(self) -> int:
        """Rebuild the numpy index from this learner's entry hashes (SCAN MATCH, never KEYS); returns entries."""
        if not isinstance(self.index, NumpyIndex):
            return 0
        self.index = NumpyIndex(self.embedder.dims)
        keys = [_text(k) for k in self.client.scan_iter(match=self.ns.key(f"{self.name}:entry:") + "*", count=500)]
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            pipe = self.client.pipeline(transaction=False)
            for key in chunk:
                pipe.hmget(key, "tenant", "vector")
            for key, (tenant, raw) in zip(chunk, pipe.execute()):
                if raw is not None and len(raw) == 4 * self.embedder.dims:
                    self.index.add(key, _text(tenant), np.frombuffer(raw, dtype=np.float32))
        return len(self.index)

    def clear(self) -> int:
        """Delete this learner's entries (SCAN MATCH + UNLINK) and empty the index."""
        keys = [_text(k) for k in self.client.scan_iter(match=self.ns.key(f"{self.name}:entry:") + "*", count=500)]
        removed = int(self.client.unlink(*keys)) if keys else 0
        if isinstance(self.index, NumpyIndex):
            self.index = NumpyIndex(self.embedder.dims)
        return removed
