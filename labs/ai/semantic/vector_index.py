"""FLAT or HNSW? The same cache entries in both server indexes, beside exact KNN in numpy.

A FLAT index compares the query with every vector (exact, like numpy); HNSW walks a graph of ``M`` links
per node built with ``EF_CONSTRUCTION`` candidates, keeping ``EF_RUNTIME`` candidates while it searches —
approximate, so its answers are scored against exact KNN on the same entries:

- recall@1: the share of queries whose HNSW top-1 is the exact top-1 (a tie in distance counts as found);
- recall@5: the share of the exact top-5 that HNSW's top-5 contains, averaged over the queries.

The entries are the FAQ's real embeddings (all-MiniLM-L6-v2) plus filler up to the chosen size: noisy copies
of FAQ embeddings ("FAQ-like": SYNTHETIC vectors, near the real ones, so the neighbourhood is as crowded as a
large real cache), or random unit vectors (no structure at all: the case where HNSW recall collapses —
FIELD_NOTES measured recall@1 0.01 at 100k random vectors and EF_RUNTIME 10). The queries are the FAQ's
paraphrases, hard negatives and unrelated questions. Memory: ``FT.INFO`` ``vector_index_sz_mb`` of each
index beside the hashes' own ``MEMORY USAGE``.

It runs on a private server with the search module, started for the run and stopped after it: loading
tens of thousands of vectors and building two indexes is not something to do to a shared server.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.servers import start_private
from labs.ai.semantic.dataset import embed_cached, load_faq
from labs.ai.semantic.embedder import Embedder, default_embedder, normalize
from labs.ai.semantic.server_index import HNSW, ServerIndex

PAGE = "app_pages/ai_cache.py"
FILLERS = ("FAQ-like", "random")
EF_SWEEP = (10, 20, 50, 100, 200, 500)
SESSION, CACHE, TENANT = "vecbench", "bench", "acme"


@dataclass(frozen=True)
class IndexParams:
    entries: int = knob(5_000, min=200, max=100_000, unit="entries", label="cached entries",
                        help="How many entries the cache holds: the FAQ's canonical questions plus filler.")
    filler: str = knob("FAQ-like", choices=FILLERS, label="filler",
                       help="FAQ-like: noisy copies of real FAQ embeddings (synthetic, crowded like a real cache); "
                            "random: random unit vectors (no structure).")
    m: int = knob(16, min=2, max=128, label="HNSW M", help="Links per node of the HNSW graph (RediSearch default 16).")
    ef_construction: int = knob(200, min=10, max=1000, label="HNSW EF_CONSTRUCTION",
                                help="Candidates kept while building the graph (RediSearch default 200).")
    ef_runtime: int = knob(50, min=1, max=2000, label="HNSW EF_RUNTIME",
                           help="Candidates kept while searching, per query (RediSearch default 10).")
    queries: int = knob(200, min=10, max=661, unit="queries",
                        help="How many FAQ questions (paraphrases, hard negatives, unrelated) to ask.")
    seed: int = knob(11, min=0, max=2**31 - 1, help="Seed of the filler and of the choice of queries.")

    def __post_init__(self) -> None:
        check_ranges(self)


def filler_vectors(base: np.ndarray, n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` synthetic unit vectors: noisy copies of rows of ``base`` (cosine ≈ 0.7–0.95 to their row), or random."""
    if kind == "random":
        return normalize(rng.normal(size=(n, base.shape[1])))
    rows = base[rng.integers(0, len(base), n)]
    scale = rng.uniform(0.35, 1.0, size=(n, 1)) / np.sqrt(base.shape[1])
    return normalize(rows + rng.normal(size=rows.shape) * scale)


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indexes and similarities of each query's exact top-k (numpy, the reference)."""
    sims = queries @ matrix.T
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return top, np.take_along_axis(sims, top, axis=1)


def recall(found: list[list[str]], found_sims: list[list[float]], exact: list[list[str]],
           exact_sims: np.ndarray) -> tuple[float, float]:
    """(recall@1, recall@k) against the exact top-k; a neighbour as close as the exact one (a tie in distance)
    counts as found."""
    at1, atk = [], []
    for keys, sims, truth, truth_sims in zip(found, found_sims, exact, exact_sims):
        at1.append(bool(keys) and (keys[0] == truth[0] or sims[0] >= truth_sims[0] - 1e-6))
        cut = truth_sims[-1] - 1e-6
        atk.append(min(1.0, sum(1 for key, sim in zip(keys, sims) if key in truth or sim >= cut) / len(truth)))
    return float(np.mean(at1)), float(np.mean(atk))


def _load(client: Any, keys: list[str], vectors: np.ndarray, dims: int,
          on_progress: Callable[[float, str], None] | None) -> float:
    """HSET every entry (the fields the lab's cache writes), 1,000 per pipeline; returns the seconds it took."""
    start = time.perf_counter()
    for i in range(0, len(keys), 1000):
        pipe = client.pipeline(transaction=False)
        for key, vector in zip(keys[i:i + 1000], vectors[i:i + 1000]):
            pipe.hset(key, mapping={"ns": SESSION, "cache": CACHE, "tenant": TENANT, "vector_dims": dims,
                                    "prompt": key.rsplit(":", 1)[-1], "vector": vector.tobytes()})
            pipe.expire(key, 3600)
        pipe.execute()
        if on_progress:
            on_progress(0.1 + 0.5 * (i + 1000) / len(keys), f"Indexing {min(i + 1000, len(keys)):,} entries…")
    return time.perf_counter() - start


def _timed_search(index: ServerIndex, queries: np.ndarray, ef: int | None = None,
                  policy: str | None = None) -> tuple[list, list, list]:
    keys, sims, ms = [], [], []
    for q in queries:
        start = time.perf_counter()
        found = index.search(q, SESSION, CACHE, TENANT, 5, ef_runtime=ef, hybrid_policy=policy)
        ms.append((time.perf_counter() - start) * 1000)
        keys.append([k for k, _ in found])
        sims.append([s for _, s in found])
    return keys, sims, ms


@register("semantic-index", title="FLAT or HNSW: recall, latency and memory",
          summary="The FAQ's embeddings plus filler in a FLAT and an HNSW index on a private server: HNSW's "
                  "recall against exact KNN, search time and index memory, at several EF_RUNTIME values.",
          params=IndexParams, page=PAGE, measures={
              "recall_at_1": measure("HNSW recall@1", "fraction", headline=True,
                                     help="Share of queries whose HNSW top-1 is the exact top-1 (ties count)."),
              "recall_at_5": measure("HNSW recall@5", "fraction", headline=True,
                                     help="Share of the exact top-5 found in HNSW's top-5, averaged."),
              "flat_top1_agreement": measure("FLAT top-1 = numpy top-1", "fraction",
                                             help="FLAT is exact: it must agree with numpy (ties excepted)."),
              "flat_p50_ms": measure("FLAT search, median", "ms", headline=True, help="FT.SEARCH KNN 5, measured."),
              "hnsw_p50_ms": measure("HNSW search, median", "ms", headline=True, help="FT.SEARCH KNN 5, measured."),
              "numpy_p50_ms": measure("numpy exact KNN, median", "ms", help="In this process, measured."),
              "hnsw_auto_p50_ms": measure("HNSW with the cache's filter, median", "ms",
                                          help="FT.SEARCH KNN 5 with RediSearch choosing brute force or the graph."),
              "hnsw_auto_recall_at_1": measure("HNSW with the cache's filter, recall@1", "fraction",
                                               help="Brute force over the filtered entries is exact."),
              "flat_index_mb": measure("FLAT index memory", "MB", headline=True, help="FT.INFO vector_index_sz_mb."),
              "hnsw_index_mb": measure("HNSW index memory", "MB", headline=True, help="FT.INFO vector_index_sz_mb."),
              "hashes_mb": measure("Entry hashes memory", "MB", help="MEMORY USAGE of 200 entries, times the count."),
              "load_s": measure("Time to write and index every entry", "s", help="HSET in pipelines of 1,000; "
                                "both indexes update on every write."),
              "entries": measure("Cached entries", "entries"), "queries": measure("Queries asked", "queries"),
              "ef_runtime": measure("HNSW candidates per search", "",
                                    help="EF_RUNTIME: the candidates HNSW keeps while searching."),
              "recall@1": measure("HNSW recall@1", "fraction"), "recall@5": measure("HNSW recall@5", "fraction"),
              "p50_ms": measure("HNSW search, median", "ms"), "p95_ms": measure("HNSW search, 95th percentile", "ms"),
              "index": measure("Index", "text"), "memory_mb": measure("Memory", "MB"),
              "what": measure("What", "text"), "ms": measure("Search time per question", "ms"),
          })
def run_index(params: IndexParams, *, embedder: Embedder | None = None, faq: pd.DataFrame | None = None,
              on_progress: Callable[[float, str], None] | None = None, **_: Any) -> Result:
    embedder = embedder or default_embedder()
    faq = load_faq() if faq is None else faq
    vectors, _ = embed_cached(embedder, list(faq.question))
    rng = np.random.default_rng(params.seed)
    canon = vectors[(faq.kind == "canonical").to_numpy()]
    asked = np.flatnonzero((faq.kind != "canonical").to_numpy())
    asked = rng.choice(asked, size=min(params.queries, len(asked)), replace=False)
    matrix = np.vstack([canon, filler_vectors(vectors, max(0, params.entries - len(canon)), params.filler, rng)])
    keys = [f"lab:{{{SESSION}}}:semantic:{CACHE}:entry:{i}" for i in range(len(matrix))]
    queries = vectors[asked]
    server = start_private("The FLAT/HNSW comparison", search=True, maxmemory="2gb")
    try:
        if server.search_problem:
            raise ValueError(f"The FLAT/HNSW comparison needs the search module: {server.search_problem}")
        return _measure(params, server, embedder.dims, matrix, keys, queries, len(canon), on_progress)
    finally:
        server.stop()


def _measure(p: IndexParams, server: Any, dims: int, matrix: np.ndarray, keys: list[str], queries: np.ndarray,
             canonical: int, on_progress: Callable[[float, str], None] | None) -> Result:
    client = server.client()
    hnsw = HNSW(m=p.m, ef_construction=p.ef_construction, ef_runtime=p.ef_runtime)
    flat = ServerIndex(client, dims, "FLAT", name="lab:semantic:bench:flat")
    graph = ServerIndex(client, dims, "HNSW", hnsw=hnsw, name="lab:semantic:bench:hnsw")
    load_s = _load(client, keys, matrix.astype(np.float32), dims, on_progress)
    flat.wait_indexed(60), graph.wait_indexed(60)
    top, top_sims = exact_top(matrix, queries, min(5, len(matrix)))
    exact = [[keys[i] for i in row] for row in top]
    numpy_ms = []
    for q in queries:
        start = time.perf_counter()
        exact_top(matrix, q[None, :], 5)
        numpy_ms.append((time.perf_counter() - start) * 1000)
    if on_progress:
        on_progress(0.65, "Searching the FLAT index…")
    flat_keys, flat_sims, flat_ms = _timed_search(flat, queries)
    flat_agree, _ = recall(flat_keys, flat_sims, exact, top_sims)
    sweep = []
    for n, ef in enumerate(sorted({*EF_SWEEP, p.ef_runtime})):
        if on_progress:
            on_progress(0.7 + 0.3 * n / (len(EF_SWEEP) + 1), f"Searching HNSW with EF_RUNTIME {ef}…")
        h_keys, h_sims, h_ms = _timed_search(graph, queries, ef, "BATCHES")
        if ef == p.ef_runtime:
            graph_ms = h_ms  # the tile and the latency chart's graph-walk line come from this one run
        r1, r5 = recall(h_keys, h_sims, exact, top_sims)
        sweep.append({"ef_runtime": ef, "recall@1": r1, "recall@5": r5, "p50_ms": statistics.median(h_ms),
                      "p95_ms": float(np.percentile(h_ms, 95))})
    sweep = pd.DataFrame(sweep)
    chosen = sweep[sweep.ef_runtime == p.ef_runtime].iloc[0]
    auto_keys, auto_sims, auto_ms = _timed_search(graph, queries, p.ef_runtime)  # as the cache asks it
    auto_r1, _ = recall(auto_keys, auto_sims, exact, top_sims)
    sample = keys[:: max(1, len(keys) // 200)][:200]
    pipe = client.pipeline(transaction=False)
    for key in sample:
        pipe.memory_usage(key, samples=0)
    per_entry = float(np.mean([b or 0 for b in pipe.execute()]))
    flat_info, graph_info = flat.info(), graph.info()
    hashes_mb = per_entry * len(keys) / 2**20
    memory = pd.DataFrame([
        {"what": "entry hashes (MEMORY USAGE, sampled)", "memory_mb": hashes_mb},
        {"what": "FLAT vector index (FT.INFO)", "memory_mb": flat_info["vector_index_sz_mb"]},
        {"what": f"HNSW vector index, M {p.m} (FT.INFO)", "memory_mb": graph_info["vector_index_sz_mb"]}])
    latency = pd.concat([pd.DataFrame({"index": name, "ms": ms}) for name, ms in (
        ("numpy exact KNN (in the app)", numpy_ms), ("server FLAT", flat_ms), ("server HNSW, graph walk", graph_ms),
        ("server HNSW, RediSearch's choice", auto_ms))], ignore_index=True)
    metrics = {"recall_at_1": float(chosen["recall@1"]), "recall_at_5": float(chosen["recall@5"]),
               "flat_top1_agreement": flat_agree, "flat_p50_ms": statistics.median(flat_ms),
               "hnsw_p50_ms": float(chosen.p50_ms), "numpy_p50_ms": statistics.median(numpy_ms),
               "hnsw_auto_p50_ms": statistics.median(auto_ms), "hnsw_auto_recall_at_1": auto_r1,
               "flat_index_mb": flat_info["vector_index_sz_mb"], "hnsw_index_mb": graph_info["vector_index_sz_mb"],
               "hashes_mb": hashes_mb, "load_s": load_s, "entries": len(keys), "queries": len(queries)}
    binary = f"{server.binary.name} with RediSearch" if server.binary else "a private server"
    notes = [
        f"MEASURED on {binary} started for this run (stopped after it): {len(keys):,} entries, {len(queries)} FAQ "
        "questions asked, KNN 5 through redis-py's FT.SEARCH; recall is against exact numpy KNN on the same entries.",
        f"SYNTHETIC filler: {len(keys) - canonical:,} {'noisy copies of FAQ embeddings' if p.filler == 'FAQ-like' else 'random unit vectors'}"
        f" (not real questions) beside the FAQ's {canonical} real canonical embeddings.",
        f"HNSW built with M {p.m}, EF_CONSTRUCTION {p.ef_construction}; the table sweeps EF_RUNTIME per query "
        "(no rebuild needed), walking the graph (HYBRID_POLICY BATCHES). FLAT must agree with numpy: it is exact too.",
        "Every query carries the cache's TAG filter (learner, cache, tenant). Left to choose, RediSearch may answer a "
        "filtered HNSW query by brute force over the filtered entries (ADHOC_BF): exact, but without the graph's "
        f"speed — here recall@1 {auto_r1:.2f} at a median {statistics.median(auto_ms):.2f} ms.",
    ]
    return Result(metrics, {"ef_sweep": sweep, "memory": memory, "latency": latency}, notes)
