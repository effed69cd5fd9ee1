"""RedisVL beside the lab: the threshold optimizer's method, the lease on RedisVL's index, the message
without a query engine, and the code a learner copies. (Against real servers: tests/integration.)"""
from __future__ import annotations

import ast

import fakeredis
import numpy as np
import pytest

from labs.ai.semantic.embedder import HashingEmbedder
from labs.ai.semantic.redisvl_compare import (RedisVLUnavailable, app_code, drop_expired_indexes, open_cache,
                                              optimizer_scores, optimizer_threshold)
from labs.core.namespace import Namespace


def test_the_optimizer_scores_mean_per_question_f1_as_ranx_does():
    """redis-retrieval-optimizer threshold_optimization/cache.py: entries strictly closer than the threshold are
    returned; a question that should miss scores 1 only when nothing is returned; with two entries returned
    and one right, precision 1/2 and recall 1 give F1 2/3."""
    found = [[("k1", 0.1), ("k2", 0.3)],   # should find k1
             [("k3", 0.25)]]                # should miss
    scores = optimizer_scores(found, ["k1", ""], np.array([0.05, 0.2, 0.28, 0.35]))
    assert list(scores.mean_f1) == pytest.approx([0.5, 1.0, 0.5, (2 / 3 + 0) / 2])
    assert optimizer_threshold(scores) == pytest.approx(0.2)


def test_a_tie_goes_to_the_lowest_threshold():
    scores = optimizer_scores([[("k1", 0.1)]], ["k1"], np.array([0.2, 0.3, 0.15]))
    assert optimizer_threshold(scores) == pytest.approx(0.15)


class Indexes:
    """FT._LIST and FT.DROPINDEX, nothing else."""

    def __init__(self, names):
        self.names, self.dropped = list(names), []

    def execute_command(self, *args):
        assert args == ("FT._LIST",)
        return [n.encode() for n in self.names]

    def ft(self, name):
        outer = self

        class Index:
            def dropindex(self, delete_documents=False):
                outer.dropped.append((name, delete_documents))

        return Index()


def test_only_this_labs_redisvl_indexes_whose_lease_passed_are_dropped():
    client = Indexes(["lab:{abcd1234}:semantic:redisvl:1000", "lab:{abcd1234}:semantic:redisvl:3000",
                      "lab:semantic:v1:flat:384", "someone-elses:semantic:redisvl:1000", "llmcache"])
    assert drop_expired_indexes(client, now=2000) == ["lab:{abcd1234}:semantic:redisvl:1000"]
    assert client.dropped == [("lab:{abcd1234}:semantic:redisvl:1000", False)]


def test_redisvl_on_a_server_without_a_query_engine_gets_a_clear_message():
    with pytest.raises(RedisVLUnavailable, match="needs a server with the query engine"):
        open_cache(fakeredis.FakeRedis(), Namespace("abcd1234"), HashingEmbedder(8), distance_threshold=0.3, ttl_s=60)


def test_the_code_to_copy_is_python_in_redisvls_units_with_the_similarity_beside_it():
    code = app_code(0.27, 900)
    ast.parse(code)
    assert "distance_threshold=0.27" in code and "similarity >= 0.73" in code and "ttl=900" in code
    assert 'Tag("tenant") == tenant' in code
