"""How good is a similarity threshold? Hit rate, precision, wrong answers and F1 on the FAQ dataset.

The cache holds the canonical question of every intent (an FAQ already answered once). Every other row
is a query: the cache's nearest canonical (cosine KNN, top-1) is served when its similarity reaches the
threshold. A served answer is right only when the nearest canonical has the query's intent; for hard
negatives and unrelated questions the right outcome is a miss, so any hit is a wrong answer.

- hit rate = hits / queries; precision = right hits / hits; recall = right hits / queries the cache could
  answer; F1 = 2PR / (P + R).
- The recommended threshold maximises F1 on the validation split (ties → the higher threshold) and is
  then reported on the test split, which it never saw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from labs.semantic.dataset import QUERY_KINDS
from labs.semantic.guard import contrast_guard

SEED_THRESHOLD = 0.95  # the course seed's similarity cut-off


def score_queries(faq: pd.DataFrame, vectors: np.ndarray,
                  guard: Callable[[str, str], str] = contrast_guard) -> pd.DataFrame:
    """One row per query: its nearest canonical, that similarity, whether serving it is right, and the
    similarity of the pair the dataset names (paraphrase ↔ its canonical, hard negative ↔ the canonical it
    is confusable with, unrelated ↔ its nearest canonical)."""
    canon_mask = (faq.kind == "canonical").to_numpy()
    canon = faq[canon_mask].reset_index(drop=True)
    cvec = vectors[canon_mask]
    queries = faq[faq.kind.isin(QUERY_KINDS)]
    qvec = vectors[queries.index.to_numpy()]
    sims = qvec @ cvec.T
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(len(best)), best]
    canon_row = {intent: i for i, intent in enumerate(canon.intent)}
    partner = []
    for row, (kind, intent, confusable, b) in enumerate(zip(queries.kind, queries.intent,
                                                            queries.confusable_with, best)):
        target = intent if kind == "paraphrase" else confusable if kind == "hard_negative" else None
        partner.append(sims[row, canon_row[target]] if target in canon_row else sims[row, b])
    out = pd.DataFrame({
        "question": queries.question.to_numpy(), "kind": queries.kind.to_numpy(),
        "intent": queries.intent.to_numpy(), "domain": queries.domain.to_numpy(),
        "split": queries.split.to_numpy(),
        "nearest": canon.question.to_numpy()[best], "nearest_intent": canon.intent.to_numpy()[best],
        "similarity": best_sim.astype(float), "pair_similarity": np.asarray(partner, dtype=float),
    })
    out["right_if_hit"] = out.intent == out.nearest_intent
    out["answerable"] = out.intent.isin(canon_row)
    out["guard_reason"] = [guard(q, n) for q, n in zip(out.question, out.nearest)]
    return out


def outcome(scored: pd.DataFrame, threshold: float, guard: bool) -> pd.Series:
    """True where the cache serves its nearest answer."""
    hits = scored.similarity >= threshold
    return hits & (scored.guard_reason == "") if guard else hits


def rates(scored: pd.DataFrame, threshold: float, guard: bool) -> dict[str, float]:
    hit = outcome(scored, threshold, guard)
    right = hit & scored.right_if_hit
    n_hit, n_right = int(hit.sum()), int(right.sum())
    answerable = int(scored.answerable.sum())
    precision = n_right / n_hit if n_hit else 1.0
    recall = n_right / answerable if answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"queries": len(scored), "hits": n_hit, "right_hits": n_right, "wrong_answers": n_hit - n_right,
            "hit_rate": n_hit / len(scored) if len(scored) else 0.0, "precision": precision, "recall": recall,
            "f1": f1}


def sweep(scored: pd.DataFrame, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Every metric at every threshold, with and without the guard, per split."""
    thresholds = np.round(np.arange(0.30, 1.0001, 0.01), 2) if thresholds is None else thresholds
    rows = []
    for split, part in scored.groupby("split"):
        for guard in (False, True):
            for t in thresholds:
                r = rates(part, float(t), guard)
                for kind in QUERY_KINDS:
                    sub = part[part.kind == kind]
                    r[f"hit_rate_{kind}"] = float(outcome(sub, float(t), guard).mean()) if len(sub) else 0.0
                rows.append({"split": split, "guard": guard, "threshold": float(t), **r})
    return pd.DataFrame(rows)


def recommend(swept: pd.DataFrame, guard: bool, split: str = "validation") -> float:
    """The threshold with the best F1 on ``split`` (the higher one on a tie)."""
    part = swept[(swept.split == split) & (swept.guard == guard)]
    if part.empty:
        raise ValueError(f"No {split} queries in the dataset: cannot choose a threshold.")
    best = part.f1.max()
    return float(part[part.f1 >= best - 1e-12].threshold.max())


def by_kind(scored: pd.DataFrame, threshold: float, guard: bool) -> pd.DataFrame:
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


def stream_economics(scored: pd.DataFrame, mix: StreamMix, threshold: float, guard: bool, *,
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
        served = outcome(part, threshold, guard)
        hits += share * float(served.mean())
        wrong += share * float((served & ~part.right_if_hit).mean())
    n_hits = hits * queries
    return {"hit_rate": hits, "wrong_answers": wrong * queries, "wrong_rate": wrong,
            "precision": (hits - wrong) / hits if hits else 1.0, "llm_calls": queries - n_hits,
            "saved_usd": n_hits * llm_cost_usd, "saved_s": n_hits * (llm_latency_ms - cache_ms) / 1000}
