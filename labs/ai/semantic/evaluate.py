"""How good is a similarity threshold? Hit rate, precision, wrong answers and F1 on the FAQ dataset.

The cache holds the canonical question of every intent (an FAQ already answered once). Every other row
is a query: the cache's nearest canonical (cosine KNN, top-1) is served when its similarity reaches the
threshold. A served answer is right only when the nearest canonical has the query's intent; for hard
negatives and unrelated questions the right outcome is a miss, so any hit is a wrong answer.

- hit rate = hits / queries; precision = right hits / hits; recall = right hits / queries the cache could
  answer; F1 = 2PR / (P + R).
- Guards: the contrast-word guard (see ``guard.py``) and a domain filter (the app knows which help
  section a question comes from and only matches that section's entries — a metadata filter, like a
  RedisVL filter expression on a tag), alone or together.
- The recommended threshold maximises F1 on the validation split (ties → the higher threshold) and is
  then reported on the test split, which it never saw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from labs.ai.semantic.dataset import QUERY_KINDS
from labs.ai.semantic.guard import contrast_guard

SEED_THRESHOLD = 0.95  # the course seed's similarity cut-off


GUARDS = ("none", "contrast words", "domain filter", "domain filter + contrast words")


def _nearest(sims: np.ndarray, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index and similarity of each row's best column (only ``allowed`` columns, row by row, if given)."""
    if allowed is not None:
        sims = np.where(allowed, sims, -np.inf)
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(best)), best]


Nearest = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # best, its similarity; same within the domain


def score_queries(faq: pd.DataFrame, vectors: np.ndarray,
                  guard: Callable[[str, str], str] = contrast_guard, nearest: Nearest | None = None) -> pd.DataFrame:
    """One row per query: its nearest canonical (in the whole cache, and within the query's own domain),
    that similarity, whether serving it is right, what the contrast guard says, and the similarity of the
    pair the dataset names (paraphrase ↔ its canonical, hard negative ↔ the canonical it is confusable
    with, unrelated ↔ its nearest canonical). ``nearest`` gives the neighbours as a server index found them
    (canonical row numbers and similarities); by default numpy finds them."""
    canon_mask = (faq.kind == "canonical").to_numpy()
    canon = faq[canon_mask].reset_index(drop=True)
    queries = faq[faq.kind.isin(QUERY_KINDS)]
    sims = vectors[queries.index.to_numpy()] @ vectors[canon_mask].T
    if nearest is None:
        nearest = numpy_nearest(faq, vectors)
    best, best_sim, dbest, dbest_sim = nearest
    canon_row = {intent: i for i, intent in enumerate(canon.intent)}
    partner = []
    for row, (kind, intent, confusable, b) in enumerate(zip(queries.kind, queries.intent,
                                                            queries.confusable_with, best)):
        target = intent if kind == "paraphrase" else confusable if kind == "hard_negative" else None
        partner.append(sims[row, canon_row[target]] if target in canon_row else sims[row, b])
    question, intents = queries.question.to_numpy(), canon.intent.to_numpy()
    out = pd.DataFrame({
        "question": question, "kind": queries.kind.to_numpy(), "intent": queries.intent.to_numpy(),
        "domain": queries.domain.to_numpy(), "split": queries.split.to_numpy(),
        "nearest": canon.question.to_numpy()[best], "nearest_intent": intents[best],
        "similarity": best_sim.astype(float), "pair_similarity": np.asarray(partner, dtype=float),
        "nearest_in_domain": canon.question.to_numpy()[dbest], "similarity_in_domain": dbest_sim.astype(float),
    })
    out["right_if_hit"] = out.intent == out.nearest_intent
    out["right_if_hit_in_domain"] = out.intent == intents[dbest]
    out["answerable"] = out.intent.isin(canon_row)
    out["guard_reason"] = [guard(q, n) for q, n in zip(out.question, out.nearest)]
    out["guard_reason_in_domain"] = [guard(q, n) for q, n in zip(out.question, out.nearest_in_domain)]
    return out


def numpy_nearest(faq: pd.DataFrame, vectors: np.ndarray) -> Nearest:
    """Each query's nearest canonical by exact KNN in numpy: in the whole cache, and within its own domain
    (the domain filter: a query without a domain sees every entry)."""
    canon_mask = (faq.kind == "canonical").to_numpy()
    canon = faq[canon_mask]
    queries = faq[faq.kind.isin(QUERY_KINDS)]
    sims = vectors[queries.index.to_numpy()] @ vectors[canon_mask].T
    same = (queries.domain.to_numpy()[:, None] == canon.domain.to_numpy()[None, :]) | \
        (queries.domain.to_numpy()[:, None] == "")
    return (*_nearest(sims), *_nearest(sims, same))


def _check_guard(guard: str | bool) -> str:
    if isinstance(guard, bool):  # True = the contrast guard, the one the live cache uses
        return GUARDS[1] if guard else GUARDS[0]
    if guard not in GUARDS:
        raise ValueError(f"guard must be one of {', '.join(GUARDS)}; got {guard!r}.")
    return guard


def served(scored: pd.DataFrame, threshold: float, guard: str | bool) -> tuple[pd.Series, pd.Series]:
    """(hit, right) per query: the cache serves its nearest allowed entry when it is close enough."""
    guard = _check_guard(guard)
    domain = guard.startswith("domain")
    sim = scored.similarity_in_domain if domain else scored.similarity
    reason = scored.guard_reason_in_domain if domain else scored.guard_reason
    hit = sim >= threshold
    if guard.endswith("contrast words"):
        hit &= reason == ""
    right = scored.right_if_hit_in_domain if domain else scored.right_if_hit
    return hit, hit & right


def outcome(scored: pd.DataFrame, threshold: float, guard: str | bool) -> pd.Series:
    """True where the cache serves an answer."""
    return served(scored, threshold, guard)[0]


def rates(scored: pd.DataFrame, threshold: float, guard: str | bool) -> dict[str, float]:
    hit, right = served(scored, threshold, guard)
    n_hit, n_right = int(hit.sum()), int(right.sum())
    answerable = int(scored.answerable.sum())
    precision = n_right / n_hit if n_hit else 1.0
    recall = n_right / answerable if answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"queries": len(scored), "hits": n_hit, "right_hits": n_right, "wrong_answers": n_hit - n_right,
            "hit_rate": n_hit / len(scored) if len(scored) else 0.0, "precision": precision, "recall": recall,
            "f1": f1}


def _arrays(scored: pd.DataFrame, guard: str | bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(similarity used, allowed by the guard, right if served) as numpy arrays."""
    guard = _check_guard(guard)
    domain = guard.startswith("domain")
    sim = (scored.similarity_in_domain if domain else scored.similarity).to_numpy(float)
    reason = (scored.guard_reason_in_domain if domain else scored.guard_reason).to_numpy(object)
    allowed = reason == "" if guard.endswith("contrast words") else np.ones(len(sim), bool)
    right = (scored.right_if_hit_in_domain if domain else scored.right_if_hit).to_numpy(bool)
    return sim, allowed, right


def sweep(scored: pd.DataFrame, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Every metric at every threshold, for each guard, per split (vectorised: thresholds × queries)."""
    thresholds = np.round(np.arange(0.0, 1.0001, 0.01), 2) if thresholds is None else np.asarray(thresholds, float)
    frames = []
    for split, part in scored.groupby("split"):
        kinds = part.kind.to_numpy()
        answerable = int(part.answerable.sum())
        for guard in GUARDS:
            sim, allowed, right = _arrays(part, guard)
            hit = (sim[None, :] >= thresholds[:, None]) & allowed[None, :]
            n_hit = hit.sum(axis=1)
            n_right = (hit & right[None, :]).sum(axis=1)
            precision = np.where(n_hit > 0, n_right / np.maximum(n_hit, 1), 1.0)
            recall = n_right / answerable if answerable else np.zeros(len(thresholds))
            f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
            frame = pd.DataFrame({"split": split, "guard": guard, "threshold": thresholds, "queries": len(part),
                                  "hits": n_hit, "right_hits": n_right, "wrong_answers": n_hit - n_right,
                                  "hit_rate": n_hit / len(part), "precision": precision, "recall": recall, "f1": f1})
            for kind in QUERY_KINDS:
                mask = kinds == kind
                frame[f"hit_rate_{kind}"] = hit[:, mask].mean(axis=1) if mask.any() else 0.0
                frame[f"wrong_rate_{kind}"] = (hit[:, mask] & ~right[None, mask]).mean(axis=1) if mask.any() else 0.0
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def recommend(swept: pd.DataFrame, guard: str | bool, split: str = "validation") -> float:
    """The threshold with the best F1 on ``split`` (the higher one on a tie)."""
    part = swept[(swept.split == split) & (swept.guard == _check_guard(guard))]
    if part.empty:
        raise ValueError(f"No {split} queries in the dataset: cannot choose a threshold.")
    best = part.f1.max()
    return float(part[part.f1 >= best - 1e-12].threshold.max())


def by_kind(scored: pd.DataFrame, threshold: float, guard: str | bool) -> pd.DataFrame:
    """Hit rate, right and wrong answers, precision for each kind of query and for all of them."""
    rows = []
    for kind in (*QUERY_KINDS, "all"):
        part = scored if kind == "all" else scored[scored.kind == kind]
        if part.empty:
            continue
        r = rates(part, threshold, guard)
        rows.append({"kind": kind, "queries": r["queries"], "hit_rate": r["hit_rate"], "right_hits": r["right_hits"],
                     "wrong_answers": r["wrong_answers"], "precision": r["precision"] if r["hits"] else np.nan})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StreamMix:
    """A realistic query stream: repeats of past questions, paraphrases, hard negatives, the rest unrelated."""

    repeat_rate: float = 0.4
    paraphrase_rate: float = 0.35
    hard_negative_rate: float = 0.1

    def __post_init__(self) -> None:
        for name in ("repeat_rate", "paraphrase_rate", "hard_negative_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}.")
        if self.repeat_rate + self.paraphrase_rate + self.hard_negative_rate > 1 + 1e-9:
            raise ValueError("repeats + paraphrases + hard negatives must add up to at most 100 % of the stream.")

    @property
    def unrelated_rate(self) -> float:
        return max(0.0, 1 - self.repeat_rate - self.paraphrase_rate - self.hard_negative_rate)


def stream_economics(scored: pd.DataFrame, mix: StreamMix, threshold: float, guard: str | bool, *,
                     queries: int, llm_cost_usd: float, llm_latency_ms: float, cache_ms: float) -> dict[str, float]:
    """Expected outcome of ``queries`` questions in ``mix`` (rates per kind measured on ``scored``).

    Exact repeats always hit and are always right (same text, similarity 1). Each hit saves one LLM call
    (its $ and its latency minus the cache lookup); each wrong hit is a wrong answer served.
    """
    kinds = {"paraphrase": mix.paraphrase_rate, "hard_negative": mix.hard_negative_rate,
             "unrelated": mix.unrelated_rate}
    hits, wrong = mix.repeat_rate, 0.0
    for kind, share in kinds.items():
        part = scored[scored.kind == kind]
        if part.empty or not share:
            continue
        hit, right = served(part, threshold, guard)
        hits += share * float(hit.mean())
        wrong += share * float((hit & ~right).mean())
    n_hits = hits * queries
    return {"hit_rate": hits, "wrong_answers": wrong * queries, "wrong_rate": wrong,
            "precision": (hits - wrong) / hits if hits else 1.0, "llm_calls": queries - n_hits,
            "saved_usd": n_hits * llm_cost_usd, "saved_s": n_hits * (llm_latency_ms - cache_ms) / 1000}


def economics_sweep(swept: pd.DataFrame, mix: StreamMix, *, split: str = "test", queries: int, llm_cost_usd: float,
                    llm_latency_ms: float, cache_ms: float) -> pd.DataFrame:
    """:func:`stream_economics` at every threshold and guard of a sweep, from its per-kind rates."""
    part = swept[swept.split == split]
    shares = {"paraphrase": mix.paraphrase_rate, "hard_negative": mix.hard_negative_rate,
              "unrelated": mix.unrelated_rate}
    hits = mix.repeat_rate + sum(share * part[f"hit_rate_{k}"] for k, share in shares.items())
    wrong = sum(share * part[f"wrong_rate_{k}"] for k, share in shares.items())
    n_hits = hits * queries
    return pd.DataFrame({"threshold": part.threshold, "guard": part.guard, "hit_rate": hits,
                         "wrong_answers": wrong * queries, "wrong_rate": wrong,
                         "precision": np.where(hits > 0, (hits - wrong) / hits.where(hits > 0, 1), 1.0),
                         "llm_calls": queries - n_hits, "saved_usd": n_hits * llm_cost_usd,
                         "saved_s": n_hits * (llm_latency_ms - cache_ms) / 1000}).reset_index(drop=True)


def precision_at_hit_rates(swept: pd.DataFrame, hit_rates: tuple[float, ...] = (0.3, 0.5, 0.7),
                           split: str = "test") -> pd.DataFrame:
    """Precision of each guard at the same hit rates (read off its precision / hit-rate curve by linear
    interpolation between swept thresholds): the fair way to compare guards, which lower the hit rate."""
    rows = []
    for guard in GUARDS:
        part = swept[(swept.split == split) & (swept.guard == guard) & (swept.hits > 0)]
        curve = part.groupby("hit_rate").precision.mean()  # thresholds with the same hit rate: one point
        for h in hit_rates:
            inside = len(curve) and curve.index.min() <= h <= curve.index.max()
            precision = float(np.interp(h, curve.index, curve.to_numpy())) if inside else float("nan")
            rows.append({"guard": guard, "hit_rate": h, "precision": precision})
    return pd.DataFrame(rows).pivot(index="hit_rate", columns="guard", values="precision")[list(GUARDS)].reset_index()

