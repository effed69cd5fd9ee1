"""The FAQ dataset (``data/semantic_faq.csv``) and its embeddings, computed once and kept on disk.

Columns: intent, domain, kind, question, answer, confusable_with, split. ``kind`` is canonical (the
question the cache was filled with), paraphrase (same intent, other words; its answer is the
canonical's), hard_negative (a different intent that shares words with ``confusable_with``: serving that
intent's answer is a wrong answer) or unrelated. ``split`` (validation | test) is assigned per intent
group, so a threshold chosen on validation is judged on questions it never saw.

Embeddings are cached as ``.npy`` under ``$LAB_CACHE_DIR`` (default ``~/.cache/redis-caching-lab``), keyed by
a hash of the model name and the texts, so a redraw never re-embeds the dataset.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from labs.core.search_module import lab_cache_dir
from labs.ai.semantic.embedder import Embedder

DATA = Path(__file__).resolve().parents[3] / "data" / "semantic_faq.csv"
COLUMNS = ("intent", "domain", "kind", "question", "answer", "confusable_with", "split")
KINDS = ("canonical", "paraphrase", "hard_negative", "unrelated")
QUERY_KINDS = ("paraphrase", "hard_negative", "unrelated")
SPLITS = ("validation", "test")


class DatasetError(ValueError):
    """The FAQ file is missing or malformed; the message says what to fix."""


def faq_path() -> Path:
    """``$LAB_SEMANTIC_FAQ`` when set (tests, a workshop's own FAQ), else ``data/semantic_faq.csv``."""
    return Path(os.environ["LAB_SEMANTIC_FAQ"]) if os.environ.get("LAB_SEMANTIC_FAQ") else DATA


def load_faq(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The FAQ rows, checked, with every paraphrase given its canonical's answer."""
    path = Path(path or faq_path())
    if not path.is_file():
        raise DatasetError(f"The FAQ dataset {path.name} is missing from data/: the semantic cache lab needs it.")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path.name} lacks the column(s) {', '.join(missing)}.")
    frame = frame[list(COLUMNS)].apply(lambda col: col.str.strip())
    bad = sorted(set(frame.kind) - set(KINDS))
    if bad:
        raise DatasetError(f"{path.name}: unknown kind(s) {bad}; expected one of {KINDS}.")
    bad = sorted(set(frame.split) - set(SPLITS))
    if bad:
        raise DatasetError(f"{path.name}: unknown split(s) {bad}; expected validation or test.")
    canon = frame[frame.kind == "canonical"].drop_duplicates("intent").set_index("intent").answer
    para = frame.kind == "paraphrase"
    orphans = sorted(set(frame.loc[para, "intent"]) - set(canon.index))
    if orphans:
        raise DatasetError(f"{path.name}: paraphrases of intents with no canonical question: {orphans[:5]}.")
    frame.loc[para, "answer"] = frame.loc[para, "intent"].map(canon)
    return frame.reset_index(drop=True)


def cache_dir() -> Path:
    """Where embeddings are kept (never in the repository)."""
    return lab_cache_dir("embeddings")


def texts_digest(model: str, texts: Sequence[str]) -> str:
    h = hashlib.sha256(model.encode())
    for t in texts:
        h.update(b"\0" + t.encode())
    return h.hexdigest()[:24]


def embed_cached(embedder: Embedder, texts: Sequence[str], folder: Path | None = None) -> tuple[np.ndarray, bool]:
    """Vectors for ``texts``; (vectors, True) when they came from the on-disk cache."""
    path = (folder or cache_dir()) / f"{texts_digest(embedder.name, texts)}.npy"
    if path.is_file():
        try:
            vectors = np.load(path)
            if vectors.shape == (len(texts), embedder.dims):
                return vectors, True
        except (OSError, ValueError):
            pass
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    try:
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError:
        pass
    return vectors, False
