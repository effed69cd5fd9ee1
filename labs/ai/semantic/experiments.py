"""The semantic-cache experiments: a query stream through a real cache, and the threshold evaluation.

``semantic-stream`` fills a real cache on the learner's backend with the FAQ's canonical questions (one
copy per tenant), then replays a stream of questions — repeats, paraphrases, hard negatives, unrelated —
through it: each is embedded (measured), searched (measured), and on a miss sent to the SIMULATED LLM
(latency and $ simulated, labelled so) whose answer is stored. It counts hits, wrong answers and money.

``semantic-threshold`` scores every FAQ query against the canonical questions with the real model
(embeddings cached on disk), sweeps the threshold, picks one on the validation split and reports it on
the test split — with and without the contrast guard — and prices a day of traffic at each threshold.
Prices default to OpenAI gpt-4o's list price ($2.50 / 1M input, $10 / 1M output tokens,
https://openai.com/api/pricing/, 2025): an illustration to change, not a quote.
"""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.experiment import Result, check_ranges, knob, register
from labs.ai.llm import Pricing, SimulatedLLM, approx_tokens
from labs.core.namespace import Namespace, new_session_id
from labs.ai.semantic import evaluate
from labs.ai.semantic.dataset import load_faq, embed_cached
from labs.ai.semantic.embedder import Embedder, cosine_distance, default_embedder
from labs.ai.semantic.guard import contrast_guard
from labs.ai.semantic.measure_sets import STREAM, THRESHOLD
from labs.ai.semantic.store import INDEXES, SemanticCache, has_search

PAGE = "app_pages/ai_cache.py"
SYSTEM_PROMPT_TOKENS = 150  # a typical FAQ bot's instructions, sent with every call


@dataclass(frozen=True)
class StreamParams:
    queries: int = knob(100, min=10, max=2000, help="How many questions the stream asks after the FAQ is cached.")
    threshold: float = knob(0.80, min=0.0, max=1.0, label="similarity threshold",
                            help="A hit needs cosine similarity ≥ this; in RedisVL's units that is a cosine "
                                 "distance ≤ 1 − this.")
    guard: bool = knob(True, label="contrast guard", help="Refuse a hit whose question differs in a contrasting "
                                                           "word (enable/disable, add/remove …) or in negation.")
    repeat_rate: float = knob(0.4, min=0.0, max=1.0, label="repeats", help="Share of exact repeats of an earlier question.")
    paraphrase_rate: float = knob(0.35, min=0.0, max=1.0, label="paraphrases",
                                  help="Share of FAQ questions asked in other words.")
    hard_negative_rate: float = knob(0.1, min=0.0, max=1.0, label="hard negatives",
                                     help="Share of questions that share words with an FAQ but mean something else.")
    tenants: int = knob(2, min=1, max=20, help="Customers sharing the app; each one's cache is separate.")
    llm_latency_ms: float = knob(800.0, min=0.0, max=60_000.0, unit="ms", label="LLM latency",
                                 help="Median latency of the simulated LLM.")
    price_in_per_1m: float = knob(2.5, min=0.0, max=1000.0, unit="$/1M tokens", label="input price",
                                  help="What the LLM costs per million prompt tokens (gpt-4o list price: 2.50).")
    price_out_per_1m: float = knob(10.0, min=0.0, max=1000.0, unit="$/1M tokens", label="output price",
                                   help="What the LLM costs per million answer tokens (gpt-4o list price: 10).")
    ttl_s: int = knob(3600, min=1, max=86_400, unit="s", label="entry TTL", help="Lease of each cache entry; a hit renews it.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the stream (same seed, same questions).")
    index: str = knob("auto", choices=INDEXES, label="vector index",
                      help="auto: the server's FLAT index where the server has search, else numpy in the app; "
                           "FLAT and HNSW: the server's (exact / approximate); numpy: exact KNN in the app.")

    def __post_init__(self) -> None:
        check_ranges(self)
        evaluate.StreamMix(self.repeat_rate, self.paraphrase_rate, self.hard_negative_rate)


def _pick_stream(faq: pd.DataFrame, p: StreamParams, rng: random.Random) -> list[tuple[str, str, dict]]:
    """(tenant, kind, row) per query; a repeat re-asks an earlier question of the same tenant.

    The stream holds exactly the mix the form states (40 % repeats of 100 queries are 40 repeats), in a
    seeded random order."""
    pools = {k: faq[faq.kind == k].to_dict("records") for k in ("canonical", "paraphrase", "hard_negative", "unrelated")}
    bounds = [round(p.queries * share) for share in
              (p.repeat_rate, p.repeat_rate + p.paraphrase_rate, p.repeat_rate + p.paraphrase_rate + p.hard_negative_rate)]
    counts = np.diff([0, *bounds, p.queries])
    kinds = [k for k, n in zip(("repeat", "paraphrase", "hard_negative", "unrelated"), counts) for _ in range(n)]
    rng.shuffle(kinds)
    asked: dict[str, list[dict]] = {}
    out = []
    for kind in kinds:
        tenant = f"tenant-{rng.randrange(p.tenants) + 1}"
        if kind == "repeat":
            row = rng.choice(asked.get(tenant) or pools["canonical"])
        else:
            row = rng.choice(pools[kind] or pools["canonical"])
        asked.setdefault(tenant, []).append(row)
        out.append((tenant, kind, row))
    return out


@register("semantic-stream", title="A query stream through the semantic cache",
          summary="The FAQ is cached per tenant; a stream of repeats, paraphrases, hard negatives and unrelated "
                  "questions is embedded, searched and — on a miss — sent to a simulated LLM.",
          params=StreamParams, page=PAGE, measures=STREAM)
def run_stream(params: StreamParams, *, backend: Any = None, ns: Namespace | None = None, log: Any = None,
               embedder: Embedder | None = None, faq: pd.DataFrame | None = None,
               on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    embedder = embedder or default_embedder()
    faq = load_faq() if faq is None else faq
    backend, opened = open_backend_for(backend)
    try:
        return _stream(params, backend, ns or Namespace(new_session_id()), embedder, faq, on_progress)
    finally:
        for b in opened:
            b.close()


def _stream(p: StreamParams, backend: Any, ns: Namespace, embedder: Embedder, faq: pd.DataFrame,
            on_progress: Callable[[float], None] | None) -> Result:
    rng = random.Random(p.seed)
    answers = dict(zip(faq.question, faq.answer))
    llm = SimulatedLLM(lambda q: answers.get(q, ""), p.llm_latency_ms, Pricing(p.price_in_per_1m / 1000, p.price_out_per_1m / 1000),
                       SYSTEM_PROMPT_TOKENS, rng=random.Random(p.seed + 1))
    cache = SemanticCache(backend.client, ns, embedder, threshold=p.threshold, ttl_s=p.ttl_s, index=p.index,
                          caps=backend.caps, guard=contrast_guard if p.guard else None, name="stream")
    cache.clear()
    canon = faq[faq.kind == "canonical"]
    canon_vectors, _ = embed_cached(embedder, list(canon.question))
    intent_of = dict(zip(canon.question, canon.intent))
    tenants = sorted({f"tenant-{i + 1}" for i in range(p.tenants)})
    for tenant in tenants:
        cache.store_many(list(canon.question), list(canon.answer), tenant, vectors=canon_vectors)
    rows = []
    stream = _pick_stream(faq, p, rng)
    for i, (tenant, kind, row) in enumerate(stream):
        look = cache.check(row["question"], tenant)
        reply = None if look.hit else llm.answer(row["question"])
        if look.hit:
            served = intent_of.get(look.best.prompt)
            result = "hit, right answer" if served == row["intent"] else "hit, WRONG answer"
        else:
            result = "miss (guard refused)" if look.rejected_by else "miss"
            cache.store(row["question"], reply.text, tenant, vector=look.vector)
            intent_of[row["question"]] = row["intent"]
        full = llm.pricing.cost(SYSTEM_PROMPT_TOKENS + approx_tokens(row["question"]), approx_tokens(row["answer"]))
        rows.append({"query": i + 1, "tenant": tenant, "kind": kind, "question": row["question"], "outcome": result,
                     "similarity": look.best.similarity if look.best else np.nan,
                     "nearest": look.best.prompt if look.best else "", "guard": look.rejected_by,
                     "embed_ms": look.embed_ms, "search_ms": look.search_ms,
                     "llm_ms": reply.latency_ms if reply else 0.0, "cost_usd": reply.cost_usd if reply else 0.0,
                     "cost_without_cache_usd": full})
        if on_progress and i % 20 == 0:
            on_progress(i / len(stream))
    frame = pd.DataFrame(rows)
    return _stream_result(p, frame, cache, backend, embedder)


def _stream_result(p: StreamParams, frame: pd.DataFrame, cache: SemanticCache, backend: Any,
                   embedder: Embedder) -> Result:
    hits = frame.outcome.str.startswith("hit")
    wrong = frame.outcome == "hit, WRONG answer"
    with_cache_ms = frame.embed_ms + frame.search_ms + frame.llm_ms
    without_ms = np.where(frame.llm_ms > 0, frame.llm_ms, p.llm_latency_ms)
    spent, full = frame.cost_usd.sum(), frame.cost_without_cache_usd.sum()
    cumulative = pd.concat([
        pd.DataFrame({"query": frame["query"], "setup": "with the semantic cache", "usd": frame.cost_usd.cumsum()}),
        pd.DataFrame({"query": frame["query"], "setup": "every question to the LLM",
                      "usd": frame.cost_without_cache_usd.cumsum()})], ignore_index=True)
    latency = pd.concat([pd.DataFrame({"setup": "with the semantic cache", "ms": with_cache_ms}),
                         pd.DataFrame({"setup": "every question to the LLM", "ms": without_ms})], ignore_index=True)
    by_kind = (frame.assign(hit=hits, wrong=wrong).groupby("kind")
               .agg(queries=("query", "size"), hit_rate=("hit", "mean"), wrong_answers=("wrong", "sum"))
               .reset_index())
    metrics = {
        "hit_rate": float(hits.mean()), "wrong_answers": int(wrong.sum()),
        "precision": float((hits & ~wrong).sum() / hits.sum()) if hits.any() else 1.0,
        "guard_refusals": int((frame.guard != "").sum()), "llm_calls": int((~hits).sum()),
        "cost_usd": float(spent), "cost_without_cache_usd": float(full), "saved_usd": float(full - spent),
        "embed_p50_ms": float(frame.embed_ms.median()), "search_p50_ms": float(frame.search_ms.median()),
        "p50_with_cache_ms": float(np.median(with_cache_ms)), "p50_without_cache_ms": float(np.median(without_ms)),
        "threshold_similarity": p.threshold, "threshold_distance": cosine_distance(p.threshold),
        "index": cache.index.kind,
    }
    notes = [
        f"MEASURED on {backend.label}: embedding with {embedder.name}; the {cache.index.kind} answered every search. "
        f"Entries are Redis hashes under your namespace with a {p.ttl_s} s TTL that each hit renews."
        + (f" ({cache.index_note})" if cache.index_note else ""),
        f"SIMULATED: the LLM (median {p.llm_latency_ms:.0f} ms, ${p.price_in_per_1m:g} per 1M input and "
        f"${p.price_out_per_1m:g} per 1M output tokens, ~4 characters per token, {SYSTEM_PROMPT_TOKENS} system-prompt "
        "tokens per call). Its answers come from the FAQ dataset.",
        f"Each tenant's cache starts with the FAQ's canonical questions; a tenant only ever matches its own entries "
        f"({p.tenants} tenant(s)). A miss stores the LLM's answer, so later paraphrases can hit it.",
        f"Threshold {p.threshold:.2f} similarity = cosine distance {cosine_distance(p.threshold):.2f} in RedisVL units.",
    ]
    return Result(metrics, {"queries": frame, "cumulative": cumulative, "latency": latency, "by_kind": by_kind}, notes)


@dataclass(frozen=True)
class ThresholdParams:
    repeat_rate: float = knob(0.4, min=0.0, max=1.0, label="repeats",
                              help="Share of the day's questions that repeat an earlier one word for word.")
    paraphrase_rate: float = knob(0.35, min=0.0, max=1.0, label="paraphrases",
                                  help="Share that ask an FAQ question in other words.")
    hard_negative_rate: float = knob(0.1, min=0.0, max=1.0, label="hard negatives",
                                     help="Share that share words with an FAQ but mean something else.")
    queries_per_day: int = knob(10_000, min=100, max=100_000_000, label="questions per day",
                                help="Traffic to price.")
    llm_latency_ms: float = knob(800.0, min=0.0, max=60_000.0, unit="ms", label="LLM latency",
                                 help="Median latency of one LLM call (simulated).")
    price_in_per_1m: float = knob(2.5, min=0.0, max=1000.0, unit="$/1M tokens", label="input price",
                                  help="What the LLM costs per million prompt tokens (gpt-4o list price: 2.50).")
    price_out_per_1m: float = knob(10.0, min=0.0, max=1000.0, unit="$/1M tokens", label="output price",
                                   help="What the LLM costs per million answer tokens (gpt-4o list price: 10).")

    def __post_init__(self) -> None:
        check_ranges(self)
        evaluate.StreamMix(self.repeat_rate, self.paraphrase_rate, self.hard_negative_rate)

    @property
    def mix(self) -> evaluate.StreamMix:
        return evaluate.StreamMix(self.repeat_rate, self.paraphrase_rate, self.hard_negative_rate)


def _lookup_ms(embedder: Embedder, questions: list[str], canon_vectors: np.ndarray) -> float:
    """Median measured time of one lookup: embed a question, then exact KNN over the cached FAQ."""
    samples = []
    for q in questions:
        start = time.perf_counter()
        vector = embedder.embed([q])[0]
        int(np.argmax(canon_vectors @ vector))
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples) if samples else 0.0


@register("semantic-threshold", title="Threshold evaluation",
          summary="Every FAQ query scored with the real model: hit rate, precision and wrong answers at each "
                  "threshold; one chosen on validation, reported on test, with and without the guard.",
          params=ThresholdParams, page=PAGE, measures=THRESHOLD)
def run_threshold(params: ThresholdParams, *, backend: Any = None, ns: Namespace | None = None,
                  embedder: Embedder | None = None, faq: pd.DataFrame | None = None,
                  on_progress: Callable[[float], None] | None = None, **_: Any) -> Result:
    embedder = embedder or default_embedder()
    faq = load_faq() if faq is None else faq
    vectors, from_disk = embed_cached(embedder, list(faq.question))
    server = None
    if backend is not None and has_search(backend.caps):
        server = server_nearest(backend, ns or Namespace(new_session_id()), embedder, faq, vectors)
    scored = evaluate.score_queries(faq, vectors, nearest=server[0] if server else None)
    index = server[3] if server else "numpy exact KNN"
    swept = evaluate.sweep(scored)
    both = evaluate.GUARDS[3]
    rec, rec_both = evaluate.recommend(swept, "none"), evaluate.recommend(swept, both)
    same_hit_rate = evaluate.precision_at_hit_rates(swept)
    test = scored[scored.split == "test"]
    settings = [("the tutorial's 0.95", evaluate.SEED_THRESHOLD, "none"), ("recommended", rec, "none"),
                ("recommended + contrast words", rec, "contrast words"),
                ("recommended + domain filter", rec, "domain filter"),
                ("recommended + both guards", rec, both), ("re-chosen with both guards", rec_both, both)]
    table = pd.concat([evaluate.by_kind(test, t, g).assign(setting=name, threshold=t, distance=cosine_distance(t),
                                                            guard=g) for name, t, g in settings], ignore_index=True)
    pricing = Pricing(params.price_in_per_1m / 1000, params.price_out_per_1m / 1000)
    canon = faq[faq.kind == "canonical"]
    call_usd = float(np.mean([pricing.cost(SYSTEM_PROMPT_TOKENS + approx_tokens(q), approx_tokens(a))
                              for q, a in zip(canon.question, canon.answer)]))
    canon_vectors = vectors[(faq.kind == "canonical").to_numpy()]
    lookup_ms = _lookup_ms(embedder, list(test.question[:15]), canon_vectors)
    economics = evaluate.economics_sweep(swept, params.mix, queries=params.queries_per_day, llm_cost_usd=call_usd,
                                         llm_latency_ms=params.llm_latency_ms, cache_ms=lookup_ms)
    at = economics.set_index(["threshold", "guard"])
    pair = embedder.embed(["How do I enable two-factor authentication?", "How do I disable two-factor authentication?",
                           "How do I reset my password?", "How can I change my password?"])
    metrics = {
        "recommended_threshold": rec, "recommended_distance": cosine_distance(rec),
        "test_precision": _pick(table, "recommended", "all", "precision"),
        "test_hit_rate": _pick(table, "recommended", "all", "hit_rate"),
        "test_precision_contrast_guard": _pick(table, "recommended + contrast words", "all", "precision"),
        "test_hit_rate_contrast_guard": _pick(table, "recommended + contrast words", "all", "hit_rate"),
        "test_precision_both_guards": _pick(table, "recommended + both guards", "all", "precision"),
        "test_hit_rate_both_guards": _pick(table, "recommended + both guards", "all", "hit_rate"),
        "recommended_threshold_both_guards": rec_both,
        "test_precision_at_half_hit_rate": _at_half(same_hit_rate, "none"),
        "test_precision_at_half_hit_rate_both_guards": _at_half(same_hit_rate, both),
        "enable_vs_disable_2fa": float(pair[0] @ pair[1]), "reset_vs_change_password": float(pair[2] @ pair[3]),
        "day_saved_usd": float(at.loc[(rec, "none")].saved_usd),
        "day_wrong_answers": float(at.loc[(rec, "none")].wrong_answers),
        "day_wrong_answers_both_guards": float(at.loc[(rec, both)].wrong_answers),
        "llm_call_usd": call_usd, "lookup_ms": lookup_ms, "index": index,
    }
    if server:
        metrics.update(top1_agreement_numpy=server[1], top1_ties=server[2])
    n = faq.kind.value_counts()
    notes = [
        f"MEASURED with {embedder.name}: {len(faq)} questions ({int(n.get('canonical', 0))} cached canonical, "
        f"{int(n.get('paraphrase', 0))} paraphrases, {int(n.get('hard_negative', 0))} hard negatives, "
        f"{int(n.get('unrelated', 0))} unrelated); embeddings {'read from the on-disk cache' if from_disk else 'computed now and saved'}.",
        f"The threshold is chosen on the validation split (best F1) and every figure in the table is on the test "
        f"split ({len(test)} queries), which played no part in choosing it.",
        f"SIMULATED money and time: one LLM call ≈ ${call_usd:.5f} (prices above, ~4 characters per token) and "
        f"{params.llm_latency_ms:.0f} ms; a lookup (embed + search) measured here at {lookup_ms:.1f} ms.",
        f"Each question's nearest cached question was found by the {index}"
        + (f" on {backend.label}; numpy agrees on {server[1]:.1%} of them ({server[2]} ties for nearest)."
           if server else (f" in this process ({backend.caps.search_note()})." if backend is not None else ".")),
    ]
    return Result(metrics, {"scored": scored, "sweep": swept, "table": table, "economics": economics,
                            "same_hit_rate": same_hit_rate}, notes)


def server_nearest(backend: Any, ns: Namespace, embedder: Embedder, faq: pd.DataFrame,
                   vectors: np.ndarray) -> tuple[evaluate.Nearest, float, int, str]:
    """Each query's nearest canonical asked of the server's FLAT index — in the whole cache (tenant "all") and
    within its help section (the canonicals stored again with the section as tenant) — and how often that
    agrees with numpy: (nearest, agreement, ties, index kind)."""
    is_canon = (faq.kind == "canonical").to_numpy()
    canon, canon_vectors = faq[is_canon].reset_index(drop=True), vectors[is_canon]
    cache = SemanticCache(backend.client, ns, embedder, index="FLAT", caps=backend.caps, name="threshold", ttl_s=900)
    sections = {domain: f"section-{i}" for i, domain in enumerate(sorted(set(canon.domain) - {""}))}
    try:
        row_of = {key: i for i, key in enumerate(cache.store_many(list(canon.question), list(canon.answer), "all",
                                                                  vectors=canon_vectors))}
        for domain, tenant in sections.items():
            rows = np.flatnonzero((canon.domain == domain).to_numpy())
            keys = cache.store_many(list(canon.question.iloc[rows]), list(canon.answer.iloc[rows]), tenant,
                                    vectors=canon_vectors[rows])
            row_of.update(zip(keys, rows))
        queries = faq[faq.kind.isin(evaluate.QUERY_KINDS)]
        found = []
        for vector, domain in zip(vectors[queries.index.to_numpy()], queries.domain):
            whole = cache.index.search(vector, "all", 1)
            inside = cache.index.search(vector, sections[domain], 1) if domain in sections else \
                whole if domain == "" else []
            found.append([row_of[whole[0][0]], whole[0][1],
                          row_of[inside[0][0]] if inside else 0, inside[0][1] if inside else -np.inf])
    finally:
        cache.clear()
    found = np.asarray(found, dtype=float)
    nearest = (found[:, 0].astype(int), found[:, 1], found[:, 2].astype(int), found[:, 3])
    sims = vectors[queries.index.to_numpy()] @ canon_vectors.T
    top = np.sort(sims, axis=1)[:, -2:]
    agree = np.abs(sims[np.arange(len(sims)), nearest[0]] - sims.max(axis=1)) < 1e-6
    return nearest, float(agree.mean()), int((top[:, 1] - top[:, 0] < 1e-6).sum()), cache.index.kind


def _at_half(same_hit_rate: pd.DataFrame, guard: str) -> float:
    row = same_hit_rate[same_hit_rate.hit_rate == 0.5]
    return float(row[guard].iloc[0]) if len(row) else float("nan")


def _pick(table: pd.DataFrame, setting: str, kind: str, column: str) -> float:
    row = table[(table.setting == setting) & (table.kind == kind)]
    return float(row[column].iloc[0]) if len(row) else float("nan")


from labs.ai.semantic import expiry, redisvl_compare, vector_index  # noqa: E402,F401  (register their experiments)
