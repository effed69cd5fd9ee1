"""The server's vector index: one per server for the whole lab, FLAT or HNSW, queried through redis-py.

``FT.CREATE lab:semantic:v1:flat:384 ON HASH PREFIX 1 lab:{ FILTER '@vector_dims=="384"' SCHEMA ns TAG
CASESENSITIVE cache TAG CASESENSITIVE tenant TAG CASESENSITIVE vector VECTOR FLAT … DISTANCE_METRIC COSINE``
covers every learner's cache entries (hashes under ``lab:{<session>}:semantic:…`` carrying ``vector_dims``):
an index is not a key and has no TTL, so one per server rather than one per session that would pile up. Each
query filters on the learner (``ns``), the cache and the tenant, all TAG fields:

- TAG values fold case unless ``CASESENSITIVE`` ("Acme" would match "acme"), are split on the separator
  (``,`` by default: "a,b" would be indexed as two tenants) and trimmed — so tenants may not contain ``,``
  nor start or end with a space (``store.check_tenant``);
- punctuation and spaces in a TAG query must be escaped with a backslash: ``@tenant:{globex-co}`` is a
  syntax error, ``@tenant:{globex\\-co}`` is not (redis.io "Tag fields", "Query syntax: escaping").

An expired or deleted hash leaves the index by itself (the module listens to keyspace events), a learner's
reset deletes only their hashes, and an index another process dropped is created again on the next query.
Replies are parsed by redis-py's search API (``client.ft(name).search(Query(…))``): a ``Result`` on RESP2
and on redis-py 8's default RESP3 connection, a map on an explicit ``protocol=3`` client — both read here.

HNSW answers approximately: ``M`` links per node and ``EF_CONSTRUCTION`` are fixed when the index is
created, ``EF_RUNTIME`` (candidates kept while searching) is chosen per query. Defaults in RediSearch:
M 16, EF_CONSTRUCTION 200, EF_RUNTIME 10 (redis.io "Vectors" reference).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis
from redis.commands.search.field import TagField, VectorField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query

ALGORITHMS = ("FLAT", "HNSW")
HYBRID_POLICIES = ("ADHOC_BF", "BATCHES")
INDEX_PREFIX = "lab:{"       # every learner's keys start with it; the FILTER keeps only cache entries
SCHEMA_VERSION = "v1"        # in the index name: a later schema gets a new index, never a clash


@dataclass(frozen=True)
class HNSW:
    """HNSW parameters: ``m`` and ``ef_construction`` build the graph, ``ef_runtime`` is per query."""

    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10

    def __post_init__(self) -> None:
        for name, lo, hi in (("m", 2, 512), ("ef_construction", 1, 4096), ("ef_runtime", 1, 100_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"HNSW {name} must be a whole number from {lo} to {hi}, got {value!r}.")


# The shared HNSW index: RediSearch's M and EF_CONSTRUCTION; EF_RUNTIME measured on the FAQ's embeddings plus
# 100,000 FAQ-like entries (bench/bench_semantic.py): 10 (the default) found the exact nearest for 99 % of the
# questions, 20 for all of them, 50 too with room to spare, each at a median of about 0.4 ms.
SHARED_HNSW = HNSW(m=16, ef_construction=200, ef_runtime=50)


def escape_tag(value: str) -> str:
    """A TAG value for a query: every character but letters, digits and ``_`` gets a backslash."""
    return "".join(ch if ch.isalnum() or ch == "_" else "\\" + ch for ch in value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _get(mapping: Any, key: str, default: Any = None) -> Any:
    """A RESP3 map's value whatever the key type (redis-py decodes some keys, not others)."""
    if not isinstance(mapping, dict):
        return default
    return mapping.get(key, mapping.get(key.encode(), default))


def hits(reply: Any) -> list[tuple[str, float]]:
    """(key, cosine distance) from ``ft().search``: a ``Result`` (RESP2, and RESP3 as redis-py 8 parses it
    by default) or the map an explicit ``protocol=3`` client returns."""
    if isinstance(reply, dict):
        rows = _get(reply, "results") or []
        return [(_text(_get(row, "id")), float(_text(_get(_get(row, "extra_attributes", {}), "distance"))))
                for row in rows]
    return [(_text(doc.id), float(_text(doc.distance))) for doc in reply.docs]


def _missing_index(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such index" in text or "unknown index name" in text or "not found" in text and "index" in text


class ServerIndex:
    """One vector index on the server, shared by every learner; a cache queries it for its own entries."""

    def __init__(self, client: Any, dims: int, algorithm: str = "FLAT", *, hnsw: HNSW = SHARED_HNSW,
                 name: str | None = None, prefix: str = INDEX_PREFIX) -> None:
        algorithm = str(algorithm).upper()
        if algorithm not in ALGORITHMS:
            raise ValueError(f"The vector index must be FLAT or HNSW, got {algorithm!r}.")
        self.client, self.dims, self.algorithm, self.hnsw, self.prefix = client, int(dims), algorithm, hnsw, prefix
        suffix = "" if algorithm == "FLAT" else f":m{hnsw.m}:efc{hnsw.ef_construction}"
        self.name = name or f"lab:semantic:{SCHEMA_VERSION}:{algorithm.lower()}:{self.dims}{suffix}"
        self.notice = ""  # set when the index had to be created again mid-session
        self.created = self.ensure()
        # a new index scans the existing hashes in the background: a query before it is done would miss entries
        self.wait_indexed()

    @property
    def kind(self) -> str:
        extra = f", M {self.hnsw.m}, EF_RUNTIME {self.hnsw.ef_runtime}" if self.algorithm == "HNSW" else ""
        return f"server {self.algorithm} index{extra} (FT.SEARCH)"

    def _schema(self) -> list:
        attributes: dict[str, Any] = {"TYPE": "FLOAT32", "DIM": self.dims, "DISTANCE_METRIC": "COSINE"}
        if self.algorithm == "HNSW":
            attributes.update(M=self.hnsw.m, EF_CONSTRUCTION=self.hnsw.ef_construction)
        return [TagField("ns", case_sensitive=True), TagField("cache", case_sensitive=True),
                TagField("tenant", separator=",", case_sensitive=True),
                VectorField("vector", self.algorithm, attributes)]

    def ensure(self) -> bool:
        """Create the index unless it exists; True when this call created it. Safe when two sessions race:
        the loser's "Index already exists" is the outcome it wanted."""
        definition = IndexDefinition(prefix=[self.prefix], filter=f'@vector_dims=="{self.dims}"',
                                     index_type=IndexType.HASH)
        try:
            self.client.ft(self.name).create_index(self._schema(), definition=definition)
            return True
        except redis.ResponseError as exc:
            if "already exists" in str(exc).lower():
                return False
            raise

    def check_vector(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dims:
            raise ValueError(f"This vector has {vector.shape[0]} dimensions but the index {self.name} holds "
                             f"{self.dims}-dimension vectors: embed with the model the cache was filled with.")
        return vector

    def query(self, ns: str, cache: str, tenant: str, k: int, ef_runtime: int | None = None,
              hybrid_policy: str | None = None) -> Query:
        """The KNN query for one learner's cache and tenant (TAG values escaped). With a filter RediSearch
        picks per query between brute force over the filtered entries (ADHOC_BF: exact) and walking the
        graph in batches (BATCHES); ``hybrid_policy`` forces one."""
        extra = ""
        if self.algorithm == "HNSW":
            extra = f" EF_RUNTIME {int(ef_runtime or self.hnsw.ef_runtime)}"
        if hybrid_policy:
            if hybrid_policy not in HYBRID_POLICIES:
                raise ValueError(f"hybrid_policy must be one of {', '.join(HYBRID_POLICIES)}, got {hybrid_policy!r}.")
            extra += f" HYBRID_POLICY {hybrid_policy}"
        text = (f"(@ns:{{{escape_tag(ns)}}} @cache:{{{escape_tag(cache)}}} @tenant:{{{escape_tag(tenant)}}})"
                f"=>[KNN {int(k)} @vector $vec{extra} AS distance]")
        return Query(text).sort_by("distance").return_fields("distance").paging(0, int(k)).dialect(2)

    def search(self, vector: np.ndarray, ns: str, cache: str, tenant: str, k: int,
               ef_runtime: int | None = None, hybrid_policy: str | None = None) -> list[tuple[str, float]]:
        """(key, cosine similarity) of the ``k`` nearest entries; recreates the index if it was dropped."""
        blob = self.check_vector(vector).tobytes()
        query = self.query(ns, cache, tenant, k, ef_runtime, hybrid_policy)
        try:
            reply = self.client.ft(self.name).search(query, query_params={"vec": blob})
        except redis.ResponseError as exc:
            if not _missing_index(exc):
                raise
            self.ensure()
            self.notice = (f"The server's index {self.name} had been dropped (by another process?): it was created "
                           "again and re-indexed the entries that still exist.")
            self.wait_indexed()
            reply = self.client.ft(self.name).search(query, query_params={"vec": blob})
        return [(key, 1.0 - distance) for key, distance in hits(reply)]

    def info(self) -> dict[str, float]:
        """FT.INFO figures: documents, vector index memory (MB), share indexed."""
        raw = self.client.ft(self.name).info()
        out = {}
        for field in ("num_docs", "vector_index_sz_mb", "total_index_memory_sz_mb", "percent_indexed",
                      "hash_indexing_failures"):
            value = _get(raw, field)
            try:
                out[field] = float(_text(value)) if value is not None else float("nan")
            except ValueError:
                out[field] = float("nan")
        return out

    def wait_indexed(self, timeout_s: float = 10.0) -> float:
        """Wait until a (re)created index has scanned the existing hashes; returns the share indexed."""
        deadline = time.monotonic() + timeout_s
        share = 0.0
        while time.monotonic() < deadline:
            share = self.info().get("percent_indexed", 1.0)
            if share >= 1.0 or share != share:
                return 1.0
            time.sleep(0.02)
        return share

    def drop(self) -> None:
        """Drop the index, keeping the hashes (FT.DROPINDEX without DD). For a reset of the whole lab only:
        a learner's reset never drops the index every learner shares."""
        try:
            self.client.ft(self.name).dropindex(delete_documents=False)
        except redis.ResponseError as exc:
            if not _missing_index(exc):
                raise
