"""The semantic cache engine with a deterministic fake embedder (the real model: tests/integration)."""
from __future__ import annotations

from pathlib import Path

import fakeredis
import numpy as np
import pandas as pd
import pytest

from labs.core.namespace import Namespace, audit_ttls
from labs.ai.semantic import evaluate
from labs.ai.semantic.dataset import DatasetError, embed_cached, load_faq
from labs.ai.semantic.embedder import HashingEmbedder, cosine_distance, normalize
from labs.ai.semantic.experiments import StreamParams, ThresholdParams, run_stream, run_threshold
from labs.ai.semantic.guard import contrast_guard
from labs.ai.semantic.store import NumpyIndex, SemanticCache, check_distance

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "semantic_faq_small.csv"


class VectorEmbedder:
    """Returns hand-written vectors so similarities are exactly known."""

    name, dims = "table", 3

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = {k: normalize(np.array([v]))[0] for k, v in table.items()}

    def embed(self, texts):
        return np.stack([self.table[t] for t in texts])


@pytest.fixture
def client():
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


@pytest.fixture
def ns():
    return Namespace("abcd1234")


def make_cache(client, ns, **kw):
    return SemanticCache(client, ns, HashingEmbedder(256), **kw)


# --------------------------------------------------------------------------- embedder and index

def test_hashing_embedder_is_deterministic_and_unit_length():
    e = HashingEmbedder(64)
    a, b = e.embed(["How do I reset my password?"]), e.embed(["How do I reset my password?"])
    assert np.array_equal(a, b) and a.dtype == np.float32
    assert np.isclose(np.linalg.norm(a[0]), 1.0)


def test_distance_is_one_minus_similarity_in_redisvl_units():
    assert cosine_distance(0.95) == pytest.approx(0.05)
    assert cosine_distance(-1.0) == 2.0
    for bad in (-0.1, 2.5, True, "0.2"):
        with pytest.raises(ValueError, match="between 0 and 2"):
            check_distance(bad)


def test_numpy_index_top_k_matches_brute_force_and_survives_removals():
    rng = np.random.default_rng(3)
    vectors = normalize(rng.normal(size=(500, 16)))
    index = NumpyIndex(16)
    keys = [f"k{i}" for i in range(500)]
    index.add_many(keys, "t", vectors)
    for key in keys[::3]:
        index.remove(key)
    alive = [i for i in range(500) if i % 3]
    query = normalize(rng.normal(size=(1, 16)))[0]
    sims = vectors[alive] @ query
    expected = [keys[alive[i]] for i in np.argsort(-sims)[:5]]
    got = index.search(query, "t", 5)
    assert [k for k, _ in got] == expected
    assert got[0][1] == pytest.approx(float(sims.max()), abs=1e-6)
    assert len(index) == len(alive) and index.search(query, "other tenant", 5) == []


# --------------------------------------------------------------------------- the cache on fakeredis

def test_an_entry_is_a_hash_with_vector_bytes_and_a_ttl(client, ns):
    cache = make_cache(client, ns, ttl_s=600)
    key = cache.store("How do I reset my password?", "Use the link.", "acme")
    assert key.startswith("lab:{abcd1234}:semantic:cache:entry:")
    fields = client.hgetall(key)
    assert fields[b"prompt"] == b"How do I reset my password?" and fields[b"tenant"] == b"acme"
    assert len(fields[b"vector"]) == 4 * 256 and fields[b"hits"] == b"0"
    assert 590 <= client.ttl(key) <= 600
    assert audit_ttls(client, ns).ok


def test_an_exact_repeat_hits_even_at_similarity_one_and_a_hit_renews_the_ttl(client, ns):
    cache = make_cache(client, ns, ttl_s=600)
    key = cache.store("How do I reset my password?", "Use the link.", "acme")
    client.expire(key, 5)
    look = cache.check("How do I reset my password?", "acme", threshold=1.0)
    assert look.hit and look.answer == "Use the link."
    assert client.ttl(key) > 590  # renewed on hit, as RedisVL's check does
    assert client.hget(key, "hits") == b"1"


def test_distance_threshold_zero_means_exact_repeats_only_never_the_default(client, ns):
    """redis-vl-python#649: a per-call distance_threshold of 0 was replaced by the default (0 is falsy)."""
    cache = make_cache(client, ns, threshold=0.1)  # a very loose default
    cache.store("How do I reset my password?", "Use the link.", "acme")
    near = "How do I reset my password please?"
    assert cache.check(near, "acme").hit  # the loose default hits
    assert not cache.check(near, "acme", distance_threshold=0).hit
    assert cache.check("How do I reset my password?", "acme", distance_threshold=0).hit
    with pytest.raises(ValueError, match="not both"):
        cache.check(near, "acme", threshold=0.5, distance_threshold=0.5)


def test_tenant_b_never_gets_tenant_a_answer(client, ns):
    cache = make_cache(client, ns)
    cache.store("What is our refund window?", "A's secret policy: 90 days.", "tenant-a")
    look = cache.check("What is our refund window?", "tenant-b", threshold=0.0)
    assert not look.hit and look.neighbours == []
    cache.store("Where is the office?", "B's office: Oslo.", "tenant-b")
    look = cache.check("What is our refund window?", "tenant-b", threshold=-1.0)
    assert look.hit and all(n.tenant == "tenant-b" for n in look.neighbours)
    assert "A's secret" not in look.answer
    with pytest.raises(ValueError, match="several tenants"):
        cache.check("x", "tenant-a,tenant-b")


def test_an_expired_entry_is_skipped_and_dropped_from_the_index(client, ns):
    cache = make_cache(client, ns)
    gone = cache.store("How do I reset my password?", "old", "acme")
    cache.store("How do I reset my email?", "other", "acme")
    client.delete(gone)  # as if its TTL ran out
    look = cache.check("How do I reset my password?", "acme", threshold=0.0)
    assert look.best.prompt == "How do I reset my email?"
    assert len(cache.index) == 1


def test_load_rebuilds_the_index_from_redis_and_clear_removes_only_this_learner(client, ns):
    make_cache(client, ns).store_many(["a b c", "d e f"], ["1", "2"], "acme")
    make_cache(client, ns, name="other-cache").store("a b c", "another cache of mine", "acme")
    other = make_cache(client, Namespace("zzzz9999"))
    other.store("a b c", "theirs", "acme")
    fresh = make_cache(client, ns)
    assert fresh.load() == 2
    assert fresh.check("a b c", "acme").answer == "1"
    assert fresh.clear() == 2
    assert other.load() == 1 and make_cache(client, ns, name="other-cache").load() == 1


def test_the_guard_refuses_a_hit_and_says_why(client, ns):
    table = {"How do I enable two-factor authentication?": [1, 0.1, 0],
             "How do I disable two-factor authentication?": [1, 0.0, 0]}
    cache = SemanticCache(client, ns, VectorEmbedder(table), threshold=0.8, guard=contrast_guard)
    cache.store("How do I enable two-factor authentication?", "Turn it on in Settings.", "acme")
    look = cache.check("How do I disable two-factor authentication?", "acme")
    assert not look.hit and look.rejected_by == "'disable' vs 'enable'"
    cache.guard = None
    assert cache.check("How do I disable two-factor authentication?", "acme").hit


@pytest.mark.parametrize("query, cached, refused", [
    ("How do I disable two-factor authentication?", "How do I enable two-factor authentication?", True),
    ("Disabling 2FA", "Enabled 2FA", True),
    ("How do I export my contacts?", "How do I import my contacts?", True),
    ("Can I renew my subscription?", "How do I cancel my subscription?", True),
    ("Why can't I log in?", "Why can I log in?", True),
    ("How can I change my password?", "How do I reset my password?", False),
    ("How do I turn on two-factor authentication?", "How do I enable two-factor authentication?", False),
])
def test_contrast_guard(query, cached, refused):
    assert bool(contrast_guard(query, cached)) is refused


# --------------------------------------------------------------------------- dataset and evaluation

def test_load_faq_gives_paraphrases_their_canonical_answer():
    faq = load_faq(FIXTURE)
    para = faq[faq.question == "How can I change my password?"].iloc[0]
    assert para.answer.startswith("Use 'Forgot password'")
    assert set(faq.kind) == {"canonical", "paraphrase", "hard_negative", "unrelated"}


@pytest.mark.parametrize("text, message", [
    ("intent,kind,question\n", "lacks the column"),
    ("intent,domain,kind,question,answer,confusable_with,split\na,b,weird,q,a,,test\n", "unknown kind"),
    ("intent,domain,kind,question,answer,confusable_with,split\na,b,paraphrase,q,,,test\n", "no canonical"),
])
def test_a_malformed_dataset_is_explained(tmp_path, text, message):
    path = tmp_path / "faq.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_faq(path)
    with pytest.raises(DatasetError, match="missing"):
        load_faq(tmp_path / "nope.csv")


def test_embeddings_are_computed_once_and_read_back_from_disk(tmp_path):
    calls = []

    class Counting(HashingEmbedder):
        def embed(self, texts):
            calls.append(len(texts))
            return super().embed(texts)

    e = Counting(32)
    first, cached = embed_cached(e, ["a", "b"], tmp_path)
    again, cached_again = embed_cached(e, ["a", "b"], tmp_path)
    assert not cached and cached_again and calls == [2] and np.array_equal(first, again)
    embed_cached(e, ["a", "c"], tmp_path)
    assert calls == [2, 2]  # other texts, other file


def _scored() -> pd.DataFrame:
    """Four queries with known nearest-canonical similarities and right/wrong outcomes (whole cache, and
    within the query's domain, where the second paraphrase finds its own canonical)."""
    return pd.DataFrame({
        "kind": ["paraphrase", "paraphrase", "hard_negative", "unrelated"],
        "similarity": [0.9, 0.7, 0.88, 0.2], "right_if_hit": [True, False, False, False],
        "similarity_in_domain": [0.9, 0.65, 0.88, 0.2], "right_if_hit_in_domain": [True, True, False, False],
        "answerable": [True, True, False, False], "guard_reason": ["", "", "'disable' vs 'enable'", ""],
        "guard_reason_in_domain": ["", "", "'disable' vs 'enable'", ""],
        "split": ["validation"] * 4,
    })


def test_rates_count_right_and_wrong_hits_for_each_guard():
    r = evaluate.rates(_scored(), 0.6, guard="none")
    assert (r["hits"], r["right_hits"], r["wrong_answers"]) == (3, 1, 2)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == 0.5
    c = evaluate.rates(_scored(), 0.6, guard="contrast words")
    assert (c["hits"], c["wrong_answers"]) == (2, 1)
    d = evaluate.rates(_scored(), 0.6, guard="domain filter + contrast words")
    assert (d["hits"], d["right_hits"], d["precision"]) == (2, 2, 1.0)
    assert evaluate.rates(_scored(), 0.6, guard=True) == c  # True = the contrast guard the live cache uses
    with pytest.raises(ValueError, match="guard must be one of"):
        evaluate.rates(_scored(), 0.6, guard="vibes")


def test_recommend_maximises_f1_and_prefers_the_higher_threshold_on_a_tie():
    swept = evaluate.sweep(_scored(), np.array([0.5, 0.6, 0.7, 0.8, 0.89, 0.95]))
    # none: ≤ 0.7 → 3 hits, 1 right (F1 0.4); 0.8 → 2 hits, 1 right (F1 0.5); 0.89 → only the right one
    # (P 1, R 1/2, F1 2/3); 0.95 → nothing (F1 0)
    assert evaluate.recommend(swept, guard="none") == 0.89
    # both guards: ≤ 0.6 → both paraphrases right, nothing wrong (F1 1)
    assert evaluate.recommend(swept, guard="domain filter + contrast words") == 0.6
    with pytest.raises(ValueError, match="test"):
        evaluate.recommend(swept, guard="none", split="test")


@pytest.mark.parametrize("guard", evaluate.GUARDS)
def test_the_vectorised_sweep_and_economics_agree_with_the_one_threshold_functions(guard):
    scored = _scored()
    swept = evaluate.sweep(scored, np.array([0.5, 0.66, 0.8, 0.9]))
    mix = evaluate.StreamMix(0.3, 0.4, 0.2)
    money = evaluate.economics_sweep(swept, mix, split="validation", queries=500, llm_cost_usd=0.002,
                                     llm_latency_ms=900, cache_ms=20)
    for t in (0.5, 0.66, 0.8, 0.9):
        row = swept[(swept.guard == guard) & (swept.threshold == t)].iloc[0]
        one = evaluate.rates(scored, t, guard)
        assert {k: row[k] for k in one} == pytest.approx(one)
        e = evaluate.stream_economics(scored, mix, t, guard, queries=500, llm_cost_usd=0.002, llm_latency_ms=900,
                                      cache_ms=20)
        got = money[(money.guard == guard) & (money.threshold == t)].iloc[0]
        assert {k: got[k] for k in e} == pytest.approx(e)


def test_precision_at_the_same_hit_rate_is_read_off_each_guards_curve():
    swept = evaluate.sweep(_scored(), np.array([0.1, 0.5, 0.66, 0.8, 0.89, 0.95]))
    table = evaluate.precision_at_hit_rates(swept, (0.25, 0.5), split="validation").set_index("hit_rate")
    # no guard: hit rate 0.5 at 0.8 (one right, one wrong: P 0.5); 0.25 at 0.89 (the right one: P 1)
    assert table.loc[0.5, "none"] == pytest.approx(0.5) and table.loc[0.25, "none"] == pytest.approx(1.0)
    # both guards: hit rate 0.5 at 0.5–0.66, both paraphrases right
    assert table.loc[0.5, "domain filter + contrast words"] == pytest.approx(1.0)


def test_stream_economics_repeats_always_hit_and_wrong_answers_come_from_hits():
    mix = evaluate.StreamMix(repeat_rate=0.5, paraphrase_rate=0.25, hard_negative_rate=0.25)
    e = evaluate.stream_economics(_scored(), mix, 0.85, "none", queries=1000, llm_cost_usd=0.01,
                                  llm_latency_ms=1000, cache_ms=10)
    # repeats 0.5 + paraphrases 0.25 × 1/2 + hard negatives 0.25 × 1
    assert e["hit_rate"] == pytest.approx(0.875) and e["wrong_answers"] == pytest.approx(250)
    assert e["saved_usd"] == pytest.approx(8.75) and e["saved_s"] == pytest.approx(875 * 0.99)
    with pytest.raises(ValueError, match="at most 100 %"):
        evaluate.StreamMix(0.6, 0.5, 0.0)


# --------------------------------------------------------------------------- the registered experiments

def test_the_stream_experiment_on_the_sandbox_keeps_every_key_leased_and_adds_up():
    from labs.core.backends import open_sandbox

    backend = open_sandbox()
    ns = Namespace("stream01")
    result = run_stream(StreamParams(queries=60, tenants=3), backend=backend, ns=ns, embedder=HashingEmbedder(256),
                        faq=load_faq(FIXTURE))
    m = result.metrics
    frame = result.frames["queries"]
    assert len(frame) == 60 and m["llm_calls"] == (~frame.outcome.str.startswith("hit")).sum()
    assert m["cost_without_cache_usd"] > m["cost_usd"] and m["saved_usd"] > 0
    assert m["threshold_distance"] == pytest.approx(0.2)
    assert audit_ttls(backend.client, ns).ok
    assert any("SIMULATED" in n for n in result.notes)


def test_the_threshold_experiment_reports_every_setting_on_the_test_split():
    result = run_threshold(ThresholdParams(), embedder=HashingEmbedder(256), faq=load_faq(FIXTURE))
    table = result.frames["table"]
    assert list(table.setting.unique()) == ["the tutorial's 0.95", "recommended", "recommended + contrast words",
                                            "recommended + domain filter", "recommended + both guards",
                                            "re-chosen with both guards"]
    assert set(table.kind) == {"paraphrase", "hard_negative", "unrelated", "all"}
    assert (table[table.kind == "all"].queries == 8).all()  # the fixture's test-split queries
    assert 0 <= result.metrics["recommended_threshold"] <= 1


@pytest.mark.parametrize("kwargs, message", [
    ({"repeat_rate": 0.7, "paraphrase_rate": 0.5}, "at most 100 %"),
    ({"threshold": 1.5}, "between"),
    ({"queries": 0}, "between"),
])
def test_bad_params_get_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StreamParams(**kwargs)


def test_chart_builders_mark_the_thresholds_and_draw_one_line_per_guard():
    from labs.core import charts

    scored = _scored().assign(pair_similarity=[0.9, 0.7, 0.88, 0.2])
    hist = charts.similarity_histogram(scored, 0.8)
    assert [s.x0 for s in hist.layout.shapes] == [0.8, 0.95]
    swept = evaluate.sweep(scored, np.array([0.5, 0.8, 0.95]))
    sweep_fig = charts.threshold_sweep(swept[swept.guard == "none"], {"seed 0.95": 0.95, "recommended 0.8": 0.8})
    assert {t.name for t in sweep_fig.data} == {"hit rate", "precision of hits", "F1"} and len(sweep_fig.layout.shapes) == 2
    assert {t.name for t in charts.precision_vs_hit_rate(swept).data} == set(evaluate.GUARDS)
    money = evaluate.economics_sweep(swept, evaluate.StreamMix(), split="validation", queries=100, llm_cost_usd=0.01,
                                     llm_latency_ms=800, cache_ms=10)
    fig = charts.savings_vs_wrong(money)
    assert len(fig.data) == 3 * len(evaluate.GUARDS)
    assert [a.text for a in fig.layout.annotations] == ["$ saved per day (simulated prices)",
                                                        "hours of waiting saved per day",
                                                        "wrong answers served per day"]
