"""Load the embedding model in the background as soon as the app process starts.

Importing torch and sentence-transformers takes seconds (FIELD_NOTES: ~4.6 s here, 15 s for the AI page's
first render on a busy machine). Started when the app starts, the load is usually done by the time a
learner opens the AI page; if not, the page shows which stage it is at instead of a frozen spinner.

``LAB_PRELOAD_MODEL=0`` turns the start-up load off (the page then loads the model when it is opened, with
the same progress); it never starts where the model is not installed. One load per process: the thread and
the page both go through ``default_embedder``, which loads once and makes every other caller wait for it.
"""
from __future__ import annotations

import os
import threading

from labs.ai.semantic.embedder import LOADING, Loading, default_embedder, model_loaded, model_problem

_lock = threading.Lock()
_thread: list[threading.Thread] = []


def preload_wanted() -> bool:
    """False when ``LAB_PRELOAD_MODEL`` is 0/false/no/off."""
    return os.environ.get("LAB_PRELOAD_MODEL", "1").strip().lower() not in {"0", "false", "no", "off"}


def _load() -> None:
    try:
        default_embedder()
    except Exception:  # noqa: BLE001 — LOADING.error keeps the reason; the page shows it when opened
        pass


def start_model_load() -> bool:
    """Start loading the model on a background thread (once per process); True if this call started it."""
    if model_loaded() or model_problem() is not None:
        return False
    with _lock:
        if _thread:
            return False
        _thread.append(threading.Thread(target=_load, name="lab-model-preload", daemon=True))
        _thread[0].start()
    return True


def start_model_preload() -> bool:
    """Called once from app.py at every run: starts the background load unless turned off or done."""
    return preload_wanted() and start_model_load()


def loading() -> Loading | None:
    """The load in progress (stage, seconds so far), or None when none is running."""
    if model_loaded() or not _thread or not _thread[0].is_alive():
        return None
    return LOADING
