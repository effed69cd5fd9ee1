"""The production library beside the lab's own cache: RedisVL's ``SemanticCache`` on the same entries.

The lab writes its semantic cache by hand so a learner sees every command; an application would use RedisVL
(redis/redis-vl-python, ``redisvl.extensions.cache.llm.SemanticCache``). Here both hold the FAQ's canonical
questions for one tenant (``acme-co``: a hyphen, so the TAG filter must be escaped — RedisVL's ``Tag``
does it), embedded by the same all-MiniLM-L6-v2 (RedisVL's ``CustomVectorizer`` wraps the lab's embedder), and
every test-split question is looked up in both: same hit or miss, same cached question, same distance.

RedisVL speaks cosine DISTANCE (0 … 2; a hit needs distance ≤ the threshold), the lab similarity = 1 − d.

The threshold: RedisVL 0.5–0.7 shipped ``CacheThresholdOptimizer``; RedisVL 0.8 moved it to the
``redis-retrieval-optimizer`` package (redis/redis-vl-python#354), which pins pandas < 3 and so cannot be
installed beside this app. :func:`optimizer_threshold` runs its method on RedisVL's own range query: every
entry within distance 1 of each validation question, 60 thresholds from 0.01 to 0.8, the mean per-question
F1 as ranx computes it (a question that should miss scores 1 when nothing is within the threshold), the
lowest threshold on a tie (redis-applied-ai/redis-retrieval-optimizer
``threshold_optimization/cache.py``). The lab's own recommendation maximises F1 over all questions
(``evaluate.recommend``). Both are then scored on the test split, which neither saw.

Hygiene, as for every lab key: RedisVL's index and keys are named ``lab:{<session>}:semantic:redisvl:<lease>``
(its prefix is its index name), every entry has a TTL, the run deletes its index and entries when it ends,
and an index whose lease has passed (a run that crashed) is dropped by the next run — an index is not a key
and would otherwise never go away.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import redis

from labs.core.backends import open_backend_for
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, new_session_id
from labs.ai.semantic import evaluate
from labs.ai.semantic.dataset import embed_cached, load_faq
from labs.ai.semantic.embedder import Embedder, default_embedder
from labs.ai.semantic.store import SemanticCache, has_search

TENANT = "acme-co"
GRID = np.linspace(0.01, 0.8, 60)  # the optimizer's thresholds (cosine distance)
_LEASED = re.compile(r"^lab:\{[a-z0-9]{4,32}\}:semantic:redisvl:(\d+)$")


class RedisVLUnavailable(RuntimeError):
    """RedisVL cannot run here (no query engine on the server, or the package is missing)."""


def vectorizer(embedder: Embedder) -> Any:
    """RedisVL's ``CustomVectorizer`` around the lab's embedder: the same model, the same vectors."""
    from redisvl.utils.vectorize import CustomVectorizer

    return CustomVectorizer(embed=lambda text: embedder.embed([text])[0].tolist(),
                            embed_many=lambda texts: embedder.embed(list(texts)).tolist())


def _names(client: Any) -> list[str]:
    reply = client.execute_command("FT._LIST")
    return [name.decode() if isinstance(name, bytes) else str(name) for name in reply or ()]


def drop_expired_indexes(client: Any, now: float | None = None) -> list[str]:
    """Drop RedisVL indexes of this lab whose lease has passed (their entries expired already)."""
    now = time.time() if now is None else now
    dropped = []
    for name in _names(client):
        match = _LEASED.match(name)
        if match and int(match.group(1)) < now:
            try:
                client.ft(name).dropindex(delete_documents=False)
                dropped.append(name)
            except redis.ResponseError:
                pass  # another session dropped it first
    return dropped


def open_cache(client: Any, ns: Namespace, embedder: Embedder, *, distance_threshold: float, ttl_s: int,
               lease_s: int = 900) -> Any:
    """A RedisVL ``SemanticCache`` in the learner's namespace, its index leased for ``ttl_s + lease_s``.
    Raises RedisVLUnavailable with a message a learner can act on when the server has no query engine."""
    try:
        from redisvl.exceptions import RedisVLError
        from redisvl.extensions.cache.llm import SemanticCache
    except ImportError as exc:
        raise RedisVLUnavailable(f"RedisVL is not installed here ({exc}); install the pinned redisvl.") from None
    try:
        drop_expired_indexes(client)
        name = ns.for_lab("semantic").key(f"redisvl:{int(time.time()) + ttl_s + lease_s}")
        return SemanticCache(name=name, redis_client=client, vectorizer=vectorizer(embedder),
                             distance_threshold=distance_threshold, ttl=ttl_s,
                             filterable_fields=[{"name": "tenant", "type": "tag"}])
    except (RedisVLError, redis.ResponseError) as exc:
        if "unknown command" in str(exc).lower():
            raise RedisVLUnavailable("RedisVL needs a server with the query engine (FT.CREATE / FT.SEARCH: Redis 8, "
                                     "Redis Stack, or the embedded server with its search module); this one has "
                                     "none.") from None
        raise


def lookups(lab: Any, rvl: Any, questions: list[str], vectors: np.ndarray, distance: float) -> pd.DataFrame:
    """The same questions through the lab's cache and RedisVL's ``check``: one row per question."""
    from redisvl.query.filter import Tag

    rows = []
    for question, vector in zip(questions, vectors):
        mine = lab.check(question, TENANT, distance_threshold=distance, k=1, vector=vector)
        theirs = rvl.check(vector=vector.tolist(), num_results=1, distance_threshold=distance,
                           filter_expression=Tag("tenant") == TENANT)
        best = theirs[0] if theirs else None
        rows.append({"question": question, "lab_hit": mine.hit, "redisvl_hit": best is not None,
                     "lab_match": mine.best.prompt if mine.hit else "",
                     "redisvl_match": best["prompt"] if best else "",
                     "lab_distance": mine.best.distance if mine.hit else np.nan,
                     "redisvl_distance": float(best["vector_distance"]) if best else np.nan,
                     "server_top1": mine.best.prompt if mine.best else ""})  # the index's nearest, hit or not
    frame = pd.DataFrame(rows)
    frame["same"] = (frame.lab_hit == frame.redisvl_hit) & (frame.lab_match == frame.redisvl_match) & (
        ~frame.lab_hit | ((frame.lab_distance - frame.redisvl_distance).abs() < 1e-5))
    return frame


def candidates(rvl: Any, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
    """RedisVL's range query (distance ≤ 1, its 10 nearest) for each question, as the optimizer asks it."""
    from redisvl.query import VectorRangeQuery

    out = []
    for vector in vectors:
        query = VectorRangeQuery(vector.tolist(), vector_field_name="prompt_vector", distance_threshold=1.0)
        out.append([(row["id"], float(row["vector_distance"])) for row in rvl.index.query(query)])
    return out


def optimizer_scores(found: list[list[tuple[str, float]]], expected: list[str],
                     grid: np.ndarray = GRID) -> pd.DataFrame:
    """Mean per-question F1 at each threshold: the entries strictly closer than the threshold are what the
    cache returns ("no match" when none), the expected key (or "no match") is what it should return."""
    scores = []
    for threshold in grid:
        f1 = []
        for rows, want in zip(found, expected):
            got = {key for key, d in rows if d < threshold} or {""}
            right = 1 if want in got else 0
            precision, recall = right / len(got), right
            f1.append(2 * precision * recall / (precision + recall) if right else 0.0)
        scores.append(float(np.mean(f1)) if f1 else 0.0)
    return pd.DataFrame({"distance": grid, "mean_f1": scores})


def optimizer_threshold(scores: pd.DataFrame) -> float:
    """The best mean F1; the lowest threshold on a tie."""
    best = scores.mean_f1.max()
    return float(scores[scores.mean_f1 >= best - 1e-12].distance.min())


def app_code(distance: float, ttl_s: int) -> str:
    """The code a learner would put in an app: RedisVL's SemanticCache at the chosen threshold."""
    return f'''from redisvl.extensions.cache.llm import SemanticCache
from redisvl.query.filter import Tag
from redisvl.utils.vectorize import HFTextVectorizer

cache = SemanticCache(
    name="faq-cache",                      # the index name, and the prefix of every entry's key
    redis_url="redis://localhost:6379",    # Redis 8, Redis Stack or Redis Cloud (the query engine is needed)
    vectorizer=HFTextVectorizer(model="sentence-transformers/all-MiniLM-L6-v2"),
    distance_threshold={distance:.2f},               # cosine DISTANCE: a hit needs distance <= {distance:.2f}, i.e. similarity >= {1 - distance:.2f}
    ttl={ttl_s},                              # seconds; a hit renews the entry's lease
    filterable_fields=[{{"name": "tenant", "type": "tag"}}],
)

def answer(question: str, tenant: str) -> str:
    hits = cache.check(prompt=question, filter_expression=Tag("tenant") == tenant)
    if hits:
        return hits[0]["response"]
    response = call_your_llm(question)
    cache.store(prompt=question, response=response, filters={{"tenant": tenant}})
    return response
'''


# --------------------------------------------------------------------------- the registered experiment

PAGE = "app_pages/ai_cache.py"


@dataclass(frozen=True)
class RedisVLParams:
    distance_threshold: float = knob(0.30, min=0.0, max=2.0, unit="distance", label="distance threshold",
                                     help="Both caches answer at this cosine distance (RedisVL's unit): a hit needs "
                                          "distance ≤ this, i.e. similarity ≥ 1 − this.")
    ttl_s: int = knob(600, min=60, max=86_400, unit="s", label="entry TTL",
                      help="Lease of every entry in both caches (RedisVL's ttl=).")

    def __post_init__(self) -> None:
        check_ranges(self)


def tie_aware_agreement(picks_a: list[str], picks_b: list[str], queries: np.ndarray, vector_of: dict) -> float:
    """Share of queries whose two top-1 picks are the same entry, or two entries exactly as close (a tie)."""
    same = []
    for a, b, q in zip(picks_a, picks_b, queries):
        tie = a in vector_of and b in vector_of and abs(float(vector_of[a] @ q) - float(vector_of[b] @ q)) < 1e-6
        same.append(a == b or tie)
    return float(np.mean(same)) if same else 1.0


def _top1(rvl: Any, queries: np.ndarray, canon: pd.DataFrame, canon_vectors: np.ndarray) -> dict:
    """The nearest cached question for each query by numpy and by RedisVL at any distance (the lab's server
    index gave its own in :func:`lookups`)."""
    picks: dict[str, list[str]] = {"numpy": [], "redisvl": []}
    for vector in queries:
        picks["numpy"].append(canon.question.iloc[int(np.argmax(canon_vectors @ vector))])
        theirs = rvl.check(vector=vector.tolist(), num_results=1, distance_threshold=2.0)
        picks["redisvl"].append(theirs[0]["prompt"] if theirs else "")
    return picks


def _expected(part: pd.DataFrame, key_of: dict[str, str], canon_of: dict[str, str]) -> list[str]:
    """The RedisVL key each question should find (its canonical's), or "" when it should miss."""
    return [key_of.get(canon_of.get(intent, ""), "") if kind == "paraphrase" else ""
            for kind, intent in zip(part.kind, part.intent)]


def _scores(scored: pd.DataFrame, settings: list[tuple[str, float]], mean_f1: dict[str, float]) -> pd.DataFrame:
    rows = []
    for name, distance in settings:
        r = evaluate.rates(scored, 1 - distance, "none")
        rows.append({"setting": name, "distance": distance, "similarity": 1 - distance, "hit_rate": r["hit_rate"],
                     "precision": r["precision"], "wrong_answers": r["wrong_answers"], "recall": r["recall"],
                     "f1": r["f1"], "mean_f1": mean_f1.get(name, np.nan)})
    return pd.DataFrame(rows)


MEASURES = {
    "redisvl_available": measure("RedisVL could run here", "yes/no"),
    "lookups": measure("Test questions asked", "queries"),
    "same_outcome": measure("Same hit or miss, same match, same distance", "fraction", headline=True,
                            help="The lab's cache vs RedisVL's check on every test question."),
    "lab_hits": measure("Hits, the lab's cache", "hits"), "redisvl_hits": measure("Hits, RedisVL", "hits"),
    "max_distance_gap": measure("Largest distance difference on a hit", "distance", fmt=".1e",
                                help="Both distances come from the same server's FT.SEARCH: float rounding only."),
    "top1_numpy_vs_server": measure("Top-1: numpy = server index", "fraction", headline=True,
                                    help="Nearest cached question, whatever the threshold; ties count as equal."),
    "top1_server_vs_redisvl": measure("Top-1: server index = RedisVL", "fraction"),
    "optimizer_distance": measure("RedisVL optimizer's threshold", "distance", headline=True,
                                  help="Chosen on the validation split by the CacheThresholdOptimizer method."),
    "lab_threshold": measure("The lab's recommended threshold", "distance", headline=True,
                            help="Best F1 on the validation split (evaluate.recommend)."),
    "optimizer_test_precision": measure("Test precision at the optimizer's threshold", "fraction"),
    "optimizer_test_hit_rate": measure("Test hit rate at the optimizer's threshold", "fraction"),
    "optimizer_test_wrong_answers": measure("Test wrong answers at the optimizer's threshold", "count"),
    "lab_test_precision": measure("Test precision at the lab's threshold", "fraction"),
    "lab_test_hit_rate": measure("Test hit rate at the lab's threshold", "fraction"),
    "lab_test_wrong_answers": measure("Test wrong answers at the lab's threshold", "count"),
    "question": measure("Question", "text"), "lab_hit": measure("Hit, the lab", "yes/no"),
    "redisvl_hit": measure("Hit, RedisVL", "yes/no"), "lab_match": measure("Match, the lab", "text"),
    "redisvl_match": measure("Match, RedisVL", "text"), "lab_distance": measure("Distance, the lab", "distance"),
    "redisvl_distance": measure("Distance, RedisVL", "distance"), "same": measure("Same answer", "yes/no"),
    "numpy_top1": measure("Nearest, numpy", "text"), "server_top1": measure("Nearest, server index", "text"),
    "redisvl_top1": measure("Nearest, RedisVL", "text"),
    "setting": measure("Threshold chosen by", "text"), "distance": measure("Threshold", "distance"),
    "similarity": measure("Similarity", "similarity"), "hit_rate": measure("Hit rate (test)", "fraction"),
    "precision": measure("Precision (test)", "fraction"), "wrong_answers": measure("Wrong answers (test)", "count"),
    "recall": measure("Recall (test)", "fraction"), "f1": measure("F1 (test)", "fraction"),
    "mean_f1": measure("Mean per-question F1 (RedisVL's metric)", "fraction"),
}


@register("semantic-redisvl", title="RedisVL beside the lab's cache",
          summary="The FAQ in RedisVL's SemanticCache and in the lab's own, on the same server and model: the same "
                  "lookups, RedisVL's threshold optimizer beside the lab's recommendation, and the code to copy.",
          params=RedisVLParams, page=PAGE, measures=MEASURES)
def run_redisvl(params: RedisVLParams, *, backend: Any = None, ns: Namespace | None = None,
                embedder: Embedder | None = None, faq: pd.DataFrame | None = None, **_: Any) -> Result:
    embedder = embedder or default_embedder()
    faq = load_faq() if faq is None else faq
    backend, opened = open_backend_for(backend)
    try:
        return _compare(params, backend, ns or Namespace(new_session_id()), embedder, faq)
    finally:
        for b in opened:
            b.close()


def _compare(p: RedisVLParams, backend: Any, ns: Namespace, embedder: Embedder, faq: pd.DataFrame) -> Result:
    vectors, _ = embed_cached(embedder, list(faq.question))
    scored = evaluate.score_queries(faq, vectors)
    lab_distance = 1 - evaluate.recommend(evaluate.sweep(scored), "none")
    is_canon = (faq.kind == "canonical").to_numpy()
    canon, canon_vectors = faq[is_canon], vectors[is_canon]
    test_mask = ((faq.split == "test") & ~is_canon).to_numpy()
    test, test_vectors = faq[test_mask], vectors[test_mask]
    try:  # without a query engine (or RedisVL) the lab's numpy cache answers alone: nothing stored twice
        if not has_search(backend.caps):
            raise RedisVLUnavailable(f"RedisVL needs the query engine and {backend.label} has none: "
                                     f"{backend.caps.search_note()}")
        rvl = open_cache(backend.client, ns, embedder, distance_threshold=p.distance_threshold, ttl_s=p.ttl_s)
    except RedisVLUnavailable as exc:
        return _numpy_only(p, str(exc), lab_distance, scored, test, test_vectors, embedder, backend, ns, canon,
                           canon_vectors)
    lab = None
    try:
        lab = SemanticCache(backend.client, ns, embedder, index="FLAT", caps=backend.caps, name="rvl-lab",
                            ttl_s=p.ttl_s)
        lab.store_many(list(canon.question), list(canon.answer), TENANT, vectors=canon_vectors)
        key_of = {q: rvl.store(prompt=q, response=a, vector=v.tolist(), filters={"tenant": TENANT})
                  for q, a, v in zip(canon.question, canon.answer, canon_vectors)}
        frame = lookups(lab, rvl, list(test.question), test_vectors, p.distance_threshold)
        picks = _top1(rvl, test_vectors, canon, canon_vectors)
        canon_of = dict(zip(canon.intent, canon.question))
        validation_mask = ((faq.split == "validation") & ~is_canon).to_numpy()
        opt = optimizer_scores(candidates(rvl, vectors[validation_mask]),
                               _expected(faq[validation_mask], key_of, canon_of))
        opt_distance = optimizer_threshold(opt)
        test_found, test_expected = candidates(rvl, test_vectors), _expected(test, key_of, canon_of)
    finally:
        rvl.delete()
        if lab is not None:
            lab.clear()
    settings = [("RedisVL's optimizer", opt_distance), ("the lab's recommendation", lab_distance),
                ("this run's threshold", p.distance_threshold)]
    mean_f1 = {name: float(optimizer_scores(test_found, test_expected, np.array([d])).mean_f1.iloc[0])
               for name, d in settings}
    table = _scores(scored[scored.split == "test"], settings, mean_f1)
    vector_of = dict(zip(canon.question, canon_vectors))
    frame = frame.assign(numpy_top1=picks["numpy"], redisvl_top1=picks["redisvl"])
    hits = frame[frame.lab_hit & frame.redisvl_hit]
    at = table.set_index("setting")
    metrics = {
        "redisvl_available": True, "lookups": len(frame), "same_outcome": float(frame.same.mean()),
        "lab_hits": int(frame.lab_hit.sum()), "redisvl_hits": int(frame.redisvl_hit.sum()),
        "max_distance_gap": float((hits.lab_distance - hits.redisvl_distance).abs().max()) if len(hits) else 0.0,
        "top1_numpy_vs_server": tie_aware_agreement(picks["numpy"], list(frame.server_top1), test_vectors, vector_of),
        "top1_server_vs_redisvl": tie_aware_agreement(list(frame.server_top1), picks["redisvl"], test_vectors,
                                                      vector_of),
        "optimizer_distance": opt_distance, "lab_threshold": lab_distance,
        **{f"{who}_test_{k}": float(at.loc[name, k]) for who, name in (("optimizer", "RedisVL's optimizer"),
                                                                         ("lab", "the lab's recommendation"))
           for k in ("precision", "hit_rate", "wrong_answers")},
    }
    notes = [
        f"MEASURED on {backend.label} ({backend.caps.search}): {len(canon)} FAQ questions cached for tenant {TENANT} in "
        f"RedisVL {_version()} and in the lab's cache (server FLAT index), {len(frame)} test questions asked of both "
        f"at distance ≤ {p.distance_threshold:.2f} (similarity ≥ {1 - p.distance_threshold:.2f}).",
        "RedisVL's CacheThresholdOptimizer moved out of RedisVL (0.8) into redis-retrieval-optimizer, which needs "
        "pandas < 3: its method — RedisVL's range query, 60 thresholds from 0.01 to 0.8, mean per-question F1 — "
        "runs here on the validation split. Both thresholds are scored on the test split.",
        "Both caches were deleted after the run (RedisVL: its index and entries); every entry had a "
        f"{p.ttl_s} s TTL meanwhile.",
    ]
    return Result(metrics, {"lookups": frame, "thresholds": table, "optimizer": opt}, notes)


def _version() -> str:
    try:
        from redisvl.version import __version__
    except ImportError:
        return ""
    return __version__


def _numpy_only(p: RedisVLParams, why: str, lab_distance: float, scored: pd.DataFrame, test: pd.DataFrame,
                test_vectors: np.ndarray, embedder: Embedder, backend: Any, ns: Namespace, canon: pd.DataFrame,
                canon_vectors: np.ndarray) -> Result:
    """Without a query engine: the lab's own numpy cache answers the same questions, and says why."""
    lab = SemanticCache(backend.client, ns, embedder, index="numpy", name="rvl-lab", ttl_s=p.ttl_s)
    lab.store_many(list(canon.question), list(canon.answer), TENANT, vectors=canon_vectors)
    try:
        looks = [lab.check(q, TENANT, distance_threshold=p.distance_threshold, k=1, vector=v)
                 for q, v in zip(test.question, test_vectors)]
    finally:
        lab.clear()
    frame = pd.DataFrame({"question": list(test.question), "lab_hit": [look.hit for look in looks],
                          "lab_match": [look.best.prompt if look.hit else "" for look in looks],
                          "lab_distance": [look.best.distance if look.hit else np.nan for look in looks]})
    table = _scores(scored[scored.split == "test"], [("the lab's recommendation", lab_distance),
                                                     ("this run's threshold", p.distance_threshold)], {})
    at = table.set_index("setting").loc["the lab's recommendation"]
    metrics = {"redisvl_available": False, "lookups": len(frame), "lab_hits": int(frame.lab_hit.sum()),
               "lab_threshold": lab_distance, "lab_test_precision": float(at.precision),
               "lab_test_hit_rate": float(at.hit_rate), "lab_test_wrong_answers": float(at.wrong_answers)}
    notes = [f"{why} The lab's own cache (exact KNN in numpy) answered the {len(frame)} test questions instead.",
             f"MEASURED on {backend.label}: the lab's cache only; RedisVL's lookups and its threshold optimizer need "
             "the embedded server (with its search module) or a Redis 8 / Redis Stack server."]
    return Result(metrics, {"lookups": frame, "thresholds": table}, notes)
