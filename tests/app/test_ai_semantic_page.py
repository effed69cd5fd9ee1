"""AppTest: the AI-apps page's semantic-cache tabs with the real model (default_timeout raised: the first
render imports torch and loads the model), on the sandbox (numpy) and the embedded server (its vector index)."""
from __future__ import annotations

import re

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labs.ai.semantic import dataset
from labs.ai.semantic import embedder as embedder_module
from labs.ai.semantic.embedder import HashingEmbedder, model_problem
from ui import preload
from ui.catalog import ROOT

TABS = ["Chat memory", "Semantic cache", "Threshold evaluation", "Try it", "Vector index", "RedisVL"]

PAGE = "app_pages/ai_cache.py"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "semantic_faq_small.csv"
needs_model = pytest.mark.skipif(bool(model_problem()), reason=model_problem() or "")


@pytest.fixture(autouse=True)
def faq_file(monkeypatch):
    """The project's dataset; the small fixture only where data/semantic_faq.csv is not there yet."""
    if not dataset.DATA.is_file():
        monkeypatch.setattr(dataset, "DATA", FIXTURE)


def _page(monkeypatch, backend: str) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", backend)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    return at.switch_page(PAGE).run()


def _click(at: AppTest, label: str) -> AppTest:
    [b for b in at.button if b.label == label][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@needs_model
@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
def test_the_stream_and_the_evaluation_run_and_draw(monkeypatch, backend):
    at = _page(monkeypatch, backend)
    assert not at.exception and [t.label for t in at.tabs] == TABS
    _click(at, "Run: A query stream through the semantic cache")
    m = _metrics(at)
    assert m["Hit rate"].endswith(" %") and float(m["Hit rate"].split()[0]) > 0
    assert m["Saved (simulated)"].startswith("$")
    answered = "server FLAT index" if backend == "embedded" else "numpy exact KNN"
    assert any(f"answered by the **{answered}" in c.value for c in at.caption), [c.value for c in at.caption]
    _click(at, "Run: Threshold evaluation")
    m = at.session_state["recipe_result_semantic-threshold"].metrics
    assert m["enable_vs_disable_2fa"] == pytest.approx(0.88, abs=0.02)
    assert m["reset_vs_change_password"] == pytest.approx(0.86, abs=0.02)
    assert len(at.get("plotly_chart")) >= 5
    assert any("SIMULATED" in c.value for c in at.caption)
    if backend == "embedded":  # the nearest questions came from FT.SEARCH, and numpy agrees on every one
        assert any("numpy agrees on 100.0%" in c.value for c in at.caption), [c.value for c in at.caption]


@needs_model
def test_the_threshold_slider_shows_the_distance_beside_it_and_redraws_without_rerunning(monkeypatch):
    at = _page(monkeypatch, "sandbox")
    _click(at, "Run: Threshold evaluation")
    at.slider(key="semantic_eval_threshold").set_value(0.95).run()
    assert not at.exception
    distances = [m.value for m in at.metric if m.label == "= cosine distance (RedisVL)"]
    assert "≤ 0.05" in distances
    at.slider(key="semantic_eval_threshold").set_value(0.30).run()
    assert "≤ 0.70" in [m.value for m in at.metric if m.label == "= cosine distance (RedisVL)"]
    tiles = _metrics(at)   # the slider's scores read in their units: "93.5 %", not 0.935
    assert re.fullmatch(r"\d+(\.\d+)? %", tiles["Hit rate (test)"]), tiles
    assert re.fullmatch(r"\d+(\.\d+)? %", tiles["Precision (test)"]), tiles


@needs_model
def test_try_it_hits_a_paraphrase_and_never_crosses_tenants(monkeypatch):
    at = _page(monkeypatch, "sandbox")
    _click(at, "Ask")  # the default question is a paraphrase of a cached FAQ question
    assert at.success and "Cache hit" in at.success[0].value
    assert _metrics(at)["LLM"] == "not called"
    question = "Which moon of Saturn has lakes of methane?"
    at.text_input(key="semantic_try_q").set_value(question)
    _click(at, "Ask")
    assert "Cache miss" in at.info[-1].value and "simulated LLM" in at.info[-1].value
    at.selectbox(key="semantic_try_tenant").set_value("tenant-2")
    _click(at, "Ask")
    assert "Cache miss" in at.info[-1].value  # tenant-1's new entry is not tenant-2's
    _click(at, "Ask")
    assert at.success and "Cache hit" in at.success[0].value  # now tenant-2 has its own


@needs_model
def test_try_it_on_the_embedded_server_says_which_index_answered(monkeypatch):
    at = _page(monkeypatch, "embedded")
    for index, answered in (("auto", "server FLAT index"), ("HNSW", "server HNSW index"), ("numpy", "numpy exact KNN")):
        at.radio(key="semantic_try_index").set_value(index)
        _click(at, "Ask")
        assert at.success and "Cache hit" in at.success[0].value, index
        assert any(f"answered by the **{answered}" in m.value for m in at.markdown), index


@needs_model
def test_the_vector_index_tab_measures_hnsw_recall_and_shows_an_entry_expiring(monkeypatch):
    at = _page(monkeypatch, "embedded")
    assert any("search 2.10.5" in c.value for c in at.caption)  # the tab says which query engine it has
    at.number_input(key="recipe_semantic-index_entries").set_value(1000)
    at.number_input(key="recipe_semantic-index_queries").set_value(40)
    _click(at, "Run: FLAT or HNSW: recall, latency and memory")
    m = _metrics(at)
    assert m["FLAT top-1 = numpy top-1"] == "100.0 %"
    assert float(m["HNSW recall@5"].rstrip(" %")) > 90 and m["FLAT index memory"].endswith(" MB")
    at.number_input(key="recipe_semantic-expiry_ttl_s").set_value(1)
    _click(at, "Run: An expired entry leaves the index")
    assert float(_metrics(at)["Gone from the search after"].split()[0]) >= 1.0


@needs_model
@pytest.mark.parametrize("backend", ["embedded", "sandbox"])
def test_redisvl_agrees_with_the_lab_or_says_why_it_cannot_run(monkeypatch, backend):
    at = _page(monkeypatch, backend)
    _click(at, "Run: RedisVL beside the lab's cache")
    m = _metrics(at)
    if backend == "embedded":
        assert m["Same hit or miss, same match, same distance"] == "100.0 %"
        assert m["Top-1: numpy = server index"] == "100.0 %"
        code = at.code[-1].value
        assert "SemanticCache(" in code
        chosen = float(m["RedisVL optimizer's threshold"])
        assert f"distance_threshold={chosen:.2f}" in code
    else:
        assert any("RedisVL needs the query engine" in w.value for w in at.warning)
        assert "The lab's recommended threshold" in m


def test_without_the_model_the_page_explains_and_the_rest_of_the_app_still_works(monkeypatch):
    """As on a host where torch / sentence-transformers are not installed (None in sys.modules makes
    them unimportable; the page checks with importlib before importing anything heavy)."""
    import sys

    for name in ("torch", "sentence_transformers"):
        monkeypatch.setitem(sys.modules, name, None)
    at = _page(monkeypatch, "sandbox")
    assert not at.exception
    assert any("not installed here (missing: torch, sentence_transformers)" in w.value for w in at.warning)
    # the semantic experiments are gone; the chat tab (no model needed) still runs
    runs = [b.label for b in at.button if b.label.startswith("Run")]
    assert runs and not [r for r in runs if "semantic" in r.lower() or "Threshold" in r]
    at.switch_page("app_pages/home.py").run()
    assert not at.exception


def test_the_model_loads_once_in_the_background_and_the_page_waits_for_it(monkeypatch):
    """The start-up preload and the page ask for the model at the same time: one load, and the page renders
    once it is done (a stand-in model that takes a second to 'import')."""
    loads = []

    class SlowModel(HashingEmbedder):
        def __init__(self) -> None:
            loads.append(time.monotonic())
            embedder_module.LOADING.stage, embedder_module.LOADING.step = "importing (stand-in)", 1
            time.sleep(1.0)
            super().__init__(384)

    monkeypatch.setattr(embedder_module, "MiniLMEmbedder", SlowModel)
    monkeypatch.setattr(embedder_module, "_DEFAULT", [])
    monkeypatch.setattr(embedder_module, "model_problem", lambda: None)
    monkeypatch.setattr(preload, "model_problem", lambda: None)
    monkeypatch.setattr(preload, "_thread", [])
    monkeypatch.setenv("LAB_PRELOAD_MODEL", "1")
    at = _page(monkeypatch, "sandbox")
    assert not at.exception and len(loads) == 1
    assert preload._thread and embedder_module.LOADING.stage == "ready"
    assert not at.get("progress")  # the bar is gone once the model is there
    monkeypatch.setenv("LAB_PRELOAD_MODEL", "0")
    monkeypatch.setattr(preload, "_thread", [])
    assert not preload.start_model_preload()  # turned off
