"""Every number the semantic experiments return — each metric and each table column — is declared with a
label in words and a unit (``labs.core.measures``), checked on real runs (sandbox, the fake embedder)."""
from __future__ import annotations

from pathlib import Path

import pytest

from labs import load_all
from labs.ai.semantic.dataset import load_faq
from labs.ai.semantic.embedder import HashingEmbedder
from labs.core.backends import open_sandbox

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "semantic_faq_small.csv"


def undeclared(name: str, result) -> list[str]:
    exp = load_all()[name]
    keys = list(result.metrics) + [f"{frame}.{c}" for frame, df in result.frames.items() for c in df.columns]
    return [k for k in keys if exp.describe(k.split(".", 1)[-1]) is None]


@pytest.mark.parametrize("name, params", [
    ("semantic-stream", {"queries": 30}), ("semantic-threshold", {}), ("semantic-redisvl", {}),
    ("semantic-expiry", {"ttl_s": 1})])
def test_every_metric_and_column_is_declared(name, params):
    exp = load_all()[name]
    backend = open_sandbox()
    try:
        result = exp.run(exp.params_cls(**params), backend=backend, embedder=HashingEmbedder(64),
                         faq=load_faq(FIXTURE))
    finally:
        backend.close()
    assert not undeclared(name, result)
    assert sum(m.headline for m in exp.measures.values()) <= 6
