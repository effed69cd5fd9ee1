"""AppTest: the AI-apps page's semantic-cache tabs with the real model (default_timeout raised: the first
render imports torch and loads the model)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labs.ai.semantic import dataset
from labs.ai.semantic.embedder import model_problem
from ui.catalog import ROOT

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
    assert not at.exception and [t.label for t in at.tabs] == ["Chat memory", "Semantic cache", "Threshold evaluation",
                                                             "Try it"]
    _click(at, "Run: A query stream through the semantic cache")
    m = _metrics(at)
    assert m["Hit rate"].endswith(" %") and float(m["Hit rate"].split()[0]) > 0 and m["Saved"].startswith("$")
    _click(at, "Run: Threshold evaluation")
    m = at.session_state["recipe_result_semantic-threshold"].metrics
    assert m["enable_vs_disable_2fa"] == pytest.approx(0.88, abs=0.02)
    assert m["reset_vs_change_password"] == pytest.approx(0.86, abs=0.02)
    assert len(at.get("plotly_chart")) >= 5
    assert any("SIMULATED" in c.value for c in at.caption)


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
