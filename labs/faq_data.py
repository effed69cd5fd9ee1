"""The semantic-cache FAQ dataset (data/semantic_faq.csv, described in data/semantic_faq.md).

Four kinds of rows for a fictional shop, Acme: a *canonical* question per intent (the one the cache
stores, with its answer), *paraphrases* of it (the cache should hit and serve that answer), *hard
negatives* (share words with a canonical but mean something else: serving the cached answer is a
wrong answer) and *unrelated* questions (should miss). Every intent group sits in one split,
``validation`` (choose a threshold) or ``test`` (report it).

Pure: reading the file happens only when ``load_faq`` is called.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "semantic_faq.csv"
COLUMNS = ["intent", "domain", "kind", "question", "answer", "confusable_with", "split"]
KINDS = ("canonical", "paraphrase", "hard_negative", "unrelated")
SPLITS = ("validation", "test")


def load_faq(path: str | Path | None = None) -> pd.DataFrame:
    """The dataset as strings; empty cells stay "" (not NaN)."""
    return pd.read_csv(path or DEFAULT_PATH, dtype=str, keep_default_na=False, encoding="utf-8")


def canonical(faq: pd.DataFrame, split: str | None = None) -> pd.DataFrame:
    """The questions to store in the cache: one row per intent, with its answer."""
    rows = faq[faq["kind"] == "canonical"]
    return rows if split is None else rows[rows["split"] == split]


def queries(faq: pd.DataFrame, kind: str, split: str | None = None) -> pd.DataFrame:
    """Rows of one kind to send as lookups, with ``expected_intent``: the canonical intent whose
    answer is right for the query ("" when no cached answer is right, i.e. the lookup should miss)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    rows = faq[faq["kind"] == kind]
    if split is not None:
        rows = rows[rows["split"] == split]
    expected = rows["intent"] if kind in ("canonical", "paraphrase") else ""
    return rows.assign(expected_intent=expected)
