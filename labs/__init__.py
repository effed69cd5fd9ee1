"""The Redis Caching Lab engine: pure Python, no Streamlit, no connections at import.

One room per page of the course. ``core`` is what every lab stands on — backends (sandbox, embedded,
live) and the private servers experiments start, the learner's key namespace and the limits on shared
servers, timers and percentiles, the Experiment contract, the SQLite primary database, workloads, charts
and the cache-aside helper; it imports no lab. Beside it sit the labs, named as the course names them:
``home`` (the first cache-aside read), ``structures``, ``patterns``, ``ttl`` (lease cost, the memory model,
expiry mechanics, jitter), ``eviction``, ``invalidation`` (with ``stampede`` inside it), ``ai`` (chat memory,
the semantic cache, the LLM stand-in) and ``workshop`` (challenges, class progress, resume links). A lab
imports ``core`` and, where it really reuses one, another lab's public name. Pages (``app_pages/``), the
headless runner (``python -m labs``), the tests and the benchmarks all run the same experiments, found
through :func:`load_all`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labs.core.experiment import Experiment

# The modules that register experiments, in the order ``python -m labs list`` shows them.
EXPERIMENT_MODULES = (
    "labs.home.first_read",
    "labs.structures.strings", "labs.structures.lists", "labs.structures.hashes", "labs.structures.sets",
    "labs.structures.zsets", "labs.structures.encoding",
    "labs.patterns.compare", "labs.patterns.crash", "labs.patterns.crossover",
    "labs.ttl.memory", "labs.ttl.cost", "labs.ttl.jitter", "labs.ttl.expiry", "labs.ttl.mechanics",
    "labs.eviction.experiments", "labs.eviction.lrm",
    "labs.invalidation", "labs.invalidation.stampede", "labs.ai.chat_experiments", "labs.ai.semantic.experiments",
)


def load_all() -> dict[str, Experiment]:
    """Import every lab module that registers experiments (imports only; nothing connects)."""
    import importlib

    from labs.core.experiment import REGISTRY

    for module in EXPERIMENT_MODULES:
        importlib.import_module(module)
    return REGISTRY
