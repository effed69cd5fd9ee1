"""AppTest: the eviction page's miss-ratio curve redraws from a slider, and the real-server tab runs."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.catalog import ROOT


def _eviction(monkeypatch, backend: str = "sandbox") -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", backend)
    monkeypatch.delenv("REDIS_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    return at.switch_page("app_pages/eviction.py").run()


def test_the_maxmemory_slider_re_simulates_every_policy(monkeypatch):
    at = _eviction(monkeypatch)
    [b for b in at.button if b.label == "Run: The miss-ratio curve"][0].click().run()
    slider = at.slider(key="mrc_size")
    low, high = slider.min, slider.max
    slider.set_value(low).run()
    small = [c.value for c in at.caption if "re-simulated" in c.value]
    at.slider(key="mrc_size").set_value(high).run()
    assert not at.exception
    assert small and "policies ×" in small[0]
    charts = at.get("plotly_chart")
    assert len(charts) >= 2                      # the curve and the bars at the slider's size
    assert f"miss ratio at {int(high):,} keys" in charts[1].proto.spec


def test_the_real_server_replay_runs_beside_the_simulator(monkeypatch):
    at = _eviction(monkeypatch, "embedded")
    for name, value in (("requests", 3_000), ("keys", 3_000), ("capacity", 300), ("duration_s", 4.0)):
        at.number_input(key=f"recipe_eviction-fidelity_{name}").set_value(value)
    at.text_input(key="recipe_eviction-fidelity_configs").set_value("allkeys-lru:5,allkeys-random:5")
    [b for b in at.button if b.label == "Run: Run it on a real server"][0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    frame = at.dataframe[-1].value
    assert list(frame.policy) == ["allkeys-lru", "allkeys-random"]
    assert (frame.difference_pp.abs() < 5).all()     # a 3,000-request replay: only loosely close
    assert any("MEASURED on a private" in m.value for m in at.markdown) or \
        any("MEASURED on a private" in str(c.value) for c in at.caption)


def test_lru_vs_lrm_tab_runs_and_says_simulated(monkeypatch):
    at = _eviction(monkeypatch)
    at.number_input(key="recipe_eviction-lrm_requests").set_value(20_000)
    [b for b in at.button if b.label == "Run: LRU vs LRM: reads that no longer count"][0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    frame = [d.value for d in at.dataframe if "read_only_hit_ratio" in d.value.columns][0]
    assert list(frame.policy) == ["allkeys-lru", "allkeys-lrm", "allkeys-lfu"]
    text = " ".join(str(c.value) for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "8.6" in text and "SIMULATED" in text
