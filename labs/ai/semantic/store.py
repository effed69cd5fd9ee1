"""The semantic cache itself: entries are Redis hashes, lookups are cosine KNN within one tenant.

Each entry is a hash in the learner's namespace, ``lab:{sid}:semantic:<cache>:entry:<id>``, with the fields
``prompt``, ``answer``, ``tenant``, ``vector`` (float32 bytes), ``created`` and ``hits``, and a TTL that
a hit refreshes — RedisVL's ``SemanticCache`` does the same (``check`` calls ``_refresh_ttl`` on the key it
returns; redis/redis-vl-python ``redisvl/extensions/cache/llm/semantic.py``).

The hash also carries ``ns`` (the learner), ``cache`` and ``vector_dims``: the TAG fields and the FILTER of
the server's index. Three indexes find the nearest entries:

- :class:`NumpyIndex` — exact cosine KNN over a matrix of the entries' vectors per tenant, in this process,
  rebuilt from the hashes by ``SCAN`` (works on every backend, fakeredis included). The hashes stay the
  truth: a neighbour whose key has expired is dropped from the matrix when it is met.
- the server's FLAT index (``server_index.ServerIndex``) — exact KNN by the query engine, so the same top-1
  as numpy; the default wherever the capabilities probe finds a search module (not on a cluster, where an
  index covers one shard).
- the server's HNSW index — approximate: fast on large caches, with a recall below 1 to measure.

Thresholds: the lab speaks cosine *similarity* s (1 = same direction); Redis and RedisVL speak cosine
*distance* d = 1 − s (0 … 2). A hit needs s ≥ threshold, i.e. d ≤ 1 − threshold. A distance threshold of
0 means "exact repeats only" and is honoured as such (RedisVL once replaced 0 by its default:
redis/redis-vl-python#649).
"""
from __future__ import annotations

import hashlib
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import redis

from labs.core.namespace import Namespace, check_ttl
from labs.ai.semantic.embedder import Embedder
from labs.ai.semantic.server_index import SHARED_HNSW, ServerIndex

LAB = "semantic"
EPSILON = 1e-5  # float32 rounding: a text compared with itself scores 0.99999994, not exactly 1
INDEXES = ("auto", "numpy", "FLAT", "HNSW")
_CACHE_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_-"


def check_tenant(tenant: str) -> str:
    """A tenant is 1-40 characters of any script, punctuation and inner spaces included (they are escaped
    in queries) — but no ',' (the TAG separator would index "a,b" as two tenants, a and b), no space at
    either end (the index trims it) and no control characters."""
    if not isinstance(tenant, str) or not 1 <= len(tenant) <= 40:
        raise ValueError(f"A tenant must be 1 to 40 characters, got {tenant!r}.")
    if "," in tenant:
        raise ValueError(f"A tenant may not contain ',' (the index would read {tenant!r} as several tenants).")
    if tenant != tenant.strip():
        raise ValueError(f"A tenant may not start or end with a space (the index trims it): {tenant!r}.")
    if any(unicodedata.category(ch).startswith("C") for ch in tenant):
        raise ValueError(f"A tenant may not contain control characters: {tenant!r}.")
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


def has_search(caps: Any) -> bool:
    """Does the capabilities probe find a query engine (FT.*) that can index this learner's entries?
    Not on a cluster: an index there covers the keys of one shard only."""
    return bool(getattr(caps, "search", "")) and not getattr(caps, "cluster", False)


class ServerView:
    """The server index seen by one learner's cache: queries filter on the learner, the cache and the tenant.
    Writing a hash under the prefix indexes it, and an expired hash leaves the index, so add/remove do nothing."""

    def __init__(self, index: ServerIndex, session_id: str, cache: str) -> None:
        self.server, self.session_id, self.cache = index, session_id, cache

    kind = property(lambda self: self.server.kind)

    def __len__(self) -> int:
        return 0

    def add(self, key: str, tenant: str, vector: np.ndarray) -> None:
        """Nothing to do: the server indexes a hash when it is written."""

    def add_many(self, keys: list[str], tenant: str, vectors: np.ndarray) -> None:
        """Nothing to do (see :meth:`add`)."""

    def remove(self, key: str) -> None:
        """Nothing to do: an expired hash leaves the index by itself."""

    def search(self, vector: np.ndarray, tenant: str, k: int) -> list[tuple[str, float]]:
        return self.server.search(vector, self.session_id, self.cache, tenant, k)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else ("" if value is None else str(value))


class SemanticCache:
    """Store answers under prompt embeddings; return a cached answer for a similar prompt of the same tenant."""

    def __init__(self, client: Any, ns: Namespace, embedder: Embedder, *, threshold: float = 0.8,
                 ttl_s: int = 3600, index: str = "numpy", caps: Any = None, guard: Guard | None = None,
                 name: str = "cache", clock: Callable[[], float] = time.time) -> None:
        self.client, self.embedder, self.guard, self.clock = client, embedder, guard, clock
        self.ns = ns.for_lab(LAB)
        if not 1 <= len(name) <= 40 or set(name) - set(_CACHE_NAME):
            raise ValueError(f"cache name must be short lowercase letters/digits/-/_, got {name!r}.")
        self.name = name
        self.threshold = check_similarity(threshold)
        self.ttl_s = check_ttl(ttl_s)
        self.index: NumpyIndex | ServerView = NumpyIndex(embedder.dims)
        self.index_note = ""  # why numpy answers where a server index was asked for or could have
        self.use_index(index, caps)

    def bind(self, client: Any) -> None:
        """Send from now on through ``client`` (a page keeps the cache across reruns, and each rerun has its
        own client, logging into that run's command log); the server index follows."""
        self.client = client
        server = getattr(self.index, "server", None)
        if server is not None:
            server.client = client

    def use_index(self, index: str, caps: Any = None) -> None:
        """"auto" (the server's FLAT index where the probe finds search, else numpy), "numpy", "FLAT" or "HNSW"."""
        choice = {"search": "FLAT", "flat": "FLAT", "hnsw": "HNSW"}.get(index, index)
        if choice not in INDEXES:
            raise ValueError(f"index must be one of {', '.join(INDEXES)}, got {index!r}.")
        server = choice in ("FLAT", "HNSW") and (caps is None or has_search(caps))
        if choice == "auto":
            server, choice = has_search(caps), "FLAT"
        refused = ""
        if server:
            try:
                shared = ServerIndex(self.client, self.embedder.dims, choice, hnsw=SHARED_HNSW)
                self.index, self.index_note = ServerView(shared, self.ns.session_id, self.name), ""
                return
            except redis.ResponseError as exc:  # a query engine that does not take this index (e.g. no FILTER)
                refused = f"numpy answers: the server refused the lab's vector index ({exc})."
        if not isinstance(self.index, NumpyIndex):
            self.index = NumpyIndex(self.embedder.dims)
        self.index_note = refused or ("" if index == "numpy" else _why_numpy(caps))

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

    def check_vectors(self, vectors: Any, rows: int) -> np.ndarray:
        """``rows`` float32 vectors of the embedder's dimension, or a ValueError saying what is wrong."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (rows, self.embedder.dims):
            raise ValueError(f"Expected {rows} vector(s) of {self.embedder.dims} dimensions ({self.embedder.name}), "
                             f"got an array of shape {vectors.shape}: embed with the cache's own model.")
        return vectors

    def store_many(self, prompts: list[str], answers: list[str], tenant: str, *,
                   vectors: np.ndarray | None = None) -> list[str]:
        """HSET each entry and give it the cache's TTL, in one pipeline; index it."""
        check_tenant(tenant)
        vectors = self.check_vectors(self.embedder.embed(prompts) if vectors is None else vectors, len(prompts))
        keys = [self.entry_key(tenant, p) for p in prompts]
        now = self.clock()
        pipe = self.client.pipeline(transaction=False)
        for key, prompt, answer, vector in zip(keys, prompts, answers, vectors):
            pipe.hset(key, mapping={"prompt": prompt, "answer": answer, "tenant": tenant, "ns": self.ns.session_id,
                                    "cache": self.name, "vector_dims": self.embedder.dims,
                                    "vector": vector.tobytes(), "created": f"{now:.3f}", "hits": 0})
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
        vector = self.check_vectors(self.embedder.embed([prompt]) if vector is None else
                                    np.asarray(vector, np.float32).reshape(1, -1), 1)[0]
        embedded = time.perf_counter()
        found = self.nearest(vector, tenant, k)
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

    def nearest(self, vector: np.ndarray, tenant: str, k: int) -> list[Neighbour]:
        """Top-k from the index, read back from the hashes; entries that expired are dropped and replaced.
        No side effect on a hit (``check`` counts it and renews its TTL)."""
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

    @property
    def notice(self) -> str:
        """A message for the learner when the server index had to be created again mid-session."""
        return getattr(getattr(self.index, "server", None), "notice", "")

    def clear(self) -> int:
        """Delete this learner's entries (SCAN MATCH + UNLINK) and empty the numpy index; a server index stays
        (every learner shares it) and forgets the deleted hashes by itself."""
        keys = [_text(k) for k in self.client.scan_iter(match=self.ns.key(f"{self.name}:entry:") + "*", count=500)]
        removed = 0
        for start in range(0, len(keys), 200):  # small batches: each UNLINK also updates the server's indexes
            removed += int(self.client.unlink(*keys[start:start + 200]))
        if isinstance(self.index, NumpyIndex):
            self.index = NumpyIndex(self.embedder.dims)
        return removed


def _why_numpy(caps: Any) -> str:
    """Why exact KNN in numpy answers on this backend."""
    if caps is None:
        return ""
    if getattr(caps, "search", "") and getattr(caps, "cluster", False):
        return "numpy answers: on a cluster a server index covers one shard only."
    note = caps.search_note() if hasattr(caps, "search_note") else "the server has no search module."
    return f"numpy answers: {note}"
