"""Request traces: which entity each request touches, whether it reads or writes, and when it arrives.

Popularity is Zipf(α) over the entities (rank r is requested with probability ∝ 1/r^α; α = 0 is
uniform) — the usual model of web and cache workloads (Breslau et al., "Web Caching and Zipf-like
Distributions", INFOCOM '99, found α between 0.64 and 0.83 in proxy traces). Arrivals are a Poisson
process on a virtual clock. Everything is drawn from one seed, so the same parameters give the same
trace for every strategy compared on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TraceSpec:
    requests: int = 10_000
    entities: int = 1_000
    write_fraction: float = 0.1
    zipf_alpha: float = 0.9           # 0 = uniform
    rate_per_s: float = 1_000.0       # mean arrival rate on the virtual clock
    first_entity: int = 1             # entity ids run first_entity … first_entity + entities - 1
    seed: int = 1

    def __post_init__(self) -> None:
        if self.requests < 1 or self.entities < 1:
            raise ValueError("A trace needs at least one request and one entity.")
        if not 0 <= self.write_fraction <= 1:
            raise ValueError(f"write_fraction must be between 0 and 1, got {self.write_fraction}.")
        if not 0 <= self.zipf_alpha <= 3:
            raise ValueError(f"zipf_alpha must be between 0 (uniform) and 3, got {self.zipf_alpha}.")
        if self.rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {self.rate_per_s}.")


def popularity(entities: int, alpha: float) -> np.ndarray:
    """Probability of each entity rank (1 = most popular) under Zipf(α); uniform when α = 0."""
    weights = 1.0 / np.arange(1, entities + 1, dtype=float) ** alpha
    return weights / weights.sum()


def make_trace(spec: TraceSpec) -> pd.DataFrame:
    """Columns: index, t_ms (arrival on the virtual clock), op ("read"/"write"), entity."""
    rng = np.random.default_rng(spec.seed)
    ranks = rng.choice(spec.entities, size=spec.requests, p=popularity(spec.entities, spec.zipf_alpha))
    # ranks are shuffled onto ids so the hottest entity is not always id 1
    ids = rng.permutation(spec.entities) + spec.first_entity
    writes = rng.random(spec.requests) < spec.write_fraction
    t_ms = np.cumsum(rng.exponential(1000.0 / spec.rate_per_s, size=spec.requests))
    return pd.DataFrame({"index": np.arange(spec.requests), "t_ms": t_ms,
                         "op": np.where(writes, "write", "read"), "entity": ids[ranks]})
