"""The server index's pure parts: TAG escaping, tenant rules, the KNN query text, and both reply shapes.

The same code against real servers (RESP2 and RESP3, FLAT and HNSW) is in
tests/integration/test_semantic_search.py.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import fakeredis
import numpy as np
import pytest

from labs.ai.semantic.embedder import HashingEmbedder
from labs.ai.semantic.server_index import HNSW, ServerIndex, escape_tag, hits
from labs.ai.semantic.store import SemanticCache, check_tenant, has_search
from labs.core.backends import Capabilities
from labs.core.namespace import Namespace

ODD_TENANTS = ["globex-co", "a@b", "{x}", "a|b", "two words", "café", "東京", "a.b:c", 'q"t', "x*", "Acme"]


@pytest.mark.parametrize("tenant", ODD_TENANTS)
def test_odd_tenants_are_allowed_and_escaped_so_no_character_is_query_syntax(tenant):
    assert check_tenant(tenant) == tenant
    escaped = escape_tag(tenant)
    assert re.fullmatch(r"(?:\w|\\.)+", escaped), escaped  # letters of any script, or an escaped character
    assert escaped.replace("\\", "") == tenant.replace("\\", "")
    assert escape_tag("globex-co") == "globex\\-co"


@pytest.mark.parametrize("tenant, message", [
    ("acme,globex", "several tenants"),   # the TAG separator: indexed as two tenants
    (" acme", "start or end with a space"),  # the index trims it
    ("acme\n", "start or end with a space"),
    ("ac\x00me", "control characters"),
    ("", "1 to 40"), ("x" * 41, "1 to 40"), (7, "1 to 40"),
])
def test_tenants_the_index_would_misread_get_a_message(tenant, message):
    with pytest.raises(ValueError, match=message):
        check_tenant(tenant)


def test_the_knn_query_filters_on_learner_cache_and_escaped_tenant():
    index = ServerIndex.__new__(ServerIndex)
    index.algorithm, index.hnsw = "HNSW", HNSW(m=16, ef_construction=200, ef_runtime=50)
    text = index.query("abcd1234", "try", "globex-co", 3).query_string()
    assert text == ("(@ns:{abcd1234} @cache:{try} @tenant:{globex\\-co})"
                    "=>[KNN 3 @vector $vec EF_RUNTIME 50 AS distance]")
    assert "EF_RUNTIME 200" in index.query("abcd1234", "try", "t", 3, ef_runtime=200).query_string()
    index.algorithm = "FLAT"
    assert "EF_RUNTIME" not in index.query("abcd1234", "try", "t", 3).query_string()


def test_both_reply_shapes_give_keys_and_distances():
    """redis-py 8: ``ft().search`` returns a Result on RESP2 (and on its default RESP3 connection), and the
    server's map on an explicit protocol=3 client (FIELD_NOTES "Measured later")."""
    resp2 = SimpleNamespace(docs=[SimpleNamespace(id="k1", distance="0.1"), SimpleNamespace(id=b"k2", distance=b"0.4")])
    resp3 = {b"results": [{b"id": b"k1", b"extra_attributes": {b"distance": b"0.1"}},
                          {"id": "k2", "extra_attributes": {"distance": "0.4"}}], b"total_results": 2}
    assert hits(resp2) == hits(resp3) == [("k1", 0.1), ("k2", 0.4)]
    assert hits({"results": []}) == []


def test_hnsw_parameters_and_algorithm_are_checked():
    with pytest.raises(ValueError, match="m must be a whole number"):
        HNSW(m=1)
    with pytest.raises(ValueError, match="FLAT or HNSW"):
        ServerIndex(object(), 4, "IVF")


def test_auto_takes_the_server_index_only_where_the_probe_found_search():
    caps = Capabilities("sandbox", "fakeredis", "2.41")
    cache = SemanticCache(fakeredis.FakeRedis(), Namespace("abcd1234"), HashingEmbedder(8), index="auto", caps=caps)
    assert cache.index.kind == "numpy exact KNN" and "fakeredis has no query engine" in cache.index_note
    searchable = Capabilities("live", "redis", "8.2", module_versions=(("search", "8.2.1"),), modules=("search",))
    assert has_search(searchable) and searchable.search == "search 8.2.1"
    cluster = Capabilities("live", "redis", "8.2", modules=("search",), cluster=True)
    assert not has_search(cluster)
    assert any("one shard" in line for line in cluster.limitations())


def test_a_vector_of_the_wrong_dimension_is_refused_before_anything_is_written():
    client = fakeredis.FakeRedis()
    cache = SemanticCache(client, Namespace("abcd1234"), HashingEmbedder(8))
    with pytest.raises(ValueError, match="8 dimensions"):
        cache.store("q", "a", "acme", vector=np.ones(5, np.float32))
    with pytest.raises(ValueError, match="8 dimensions"):
        cache.check("q", "acme", vector=np.ones(9))
    assert client.dbsize() == 0


def test_a_server_that_refuses_the_index_leaves_the_cache_on_numpy_with_the_reason():
    """A query engine that speaks FT.* but not this FT.CREATE (valkey-search has no FILTER, for one)."""
    import redis

    class Refusing(fakeredis.FakeRedis):
        def ft(self, name):
            class Index:
                def create_index(self, *args, **kwargs):
                    raise redis.ResponseError("Unknown argument `FILTER`")
            return Index()

    caps = Capabilities("live", "valkey", "8.1", modules=("search",), module_versions=(("search", "1.0.0"),))
    cache = SemanticCache(Refusing(), Namespace("abcd1234"), HashingEmbedder(8), index="auto", caps=caps)
    assert cache.index.kind == "numpy exact KNN" and "refused the lab's vector index" in cache.index_note
    cache.store("a b", "numpy", "acme")
    assert cache.check("a b", "acme").answer == "numpy"


def test_bind_moves_the_cache_and_its_server_index_to_another_client():
    """A page keeps a cache across reruns; each rerun's client (and command log) must carry its commands."""
    from types import SimpleNamespace

    from labs.ai.semantic.store import SemanticCache

    cache = SemanticCache.__new__(SemanticCache)
    cache.client, cache.index = "old", SimpleNamespace(server=SimpleNamespace(client="old"))
    cache.bind("new")
    assert cache.client == "new" and cache.index.server.client == "new"
    cache.index = SimpleNamespace()          # a numpy index has no server: only the cache's client moves
    cache.bind("newer")
    assert cache.client == "newer"
