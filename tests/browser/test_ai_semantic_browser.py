"""The semantic-cache tabs of the AI-apps page in a real browser, on the sandbox and the embedded server.

The app loads all-MiniLM-L6-v2 in the background from its start (``LAB_PRELOAD_MODEL=1``), so the first
render may still wait for it: the timeouts are raised. Each tab's Run button is clicked, the threshold slider
is moved with the keyboard (the distance beside it must follow), a paraphrase is asked in "Try it", an entry
expires out of the index and RedisVL answers beside the lab's cache (numpy and a message on the sandbox).
Screenshots: ``screenshots/<backend>-ai-semantic-<tab>.png``.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from labs.ai.semantic import dataset  # noqa: E402
from labs.ai.semantic.embedder import model_problem  # noqa: E402
from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_badge, assert_clean_log, assert_healthy, expect, full_screenshot, open_tab, rerun_after,
    wait_charts, wait_rendered)

PATH = "/ai_cache"
MODEL_RENDER_MS = 240_000   # torch import + model load on a busy 2-core machine
RUN_MS = 240_000
FIXTURE = ROOT / "tests" / "fixtures" / "semantic_faq_small.csv"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(model_problem()), reason=model_problem() or "")]


def _metric(panel, label: str) -> str:
    metric = panel.locator('[data-testid="stMetric"]').filter(
        has=panel.page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$")))
    expect(metric.first).to_be_visible(timeout=30_000)
    return metric.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _click(page, panel, name: str, where: str) -> None:
    button = panel.get_by_role("button", name=re.compile(rf"(^|\s){re.escape(name)}(\s|$)"))
    expect(button).to_have_count(1, timeout=30_000)
    button.scroll_into_view_if_needed()
    rerun_after(page, button.click, timeout_ms=RUN_MS)
    assert_healthy(page, f"{where} after {name!r}")


@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
def test_semantic_tabs_run_in_the_browser(start_app, page, backend, monkeypatch):
    if not dataset.DATA.is_file():  # before the dataset is merged: the small fixture
        monkeypatch.setenv("LAB_SEMANTIC_FAQ", str(FIXTURE))
    monkeypatch.setenv("LAB_PRELOAD_MODEL", "1")  # as `make run` does: the model loads from the app's start
    app = start_app(backend)
    page.context.set_default_timeout(60_000)
    page.goto(app.url(PATH), wait_until="domcontentloaded")
    wait_rendered(page, MODEL_RENDER_MS)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Chat memory & semantic cache")
    assert_badge(page, backend)
    where = f"{backend} {PATH}"
    assert_healthy(page, where)

    panel = open_tab(page, "Semantic cache", where)
    _click(page, panel, "Run: A query stream", where)
    hit_rate = _metric(panel, "Hit rate")
    assert hit_rate.endswith(" %") and 0 < float(hit_rate.split()[0]) <= 100
    answered = "server FLAT index" if backend == "embedded" else "numpy exact KNN"
    expect(panel.get_by_text(re.compile(f"answered by the {answered}"))).to_be_visible(timeout=30_000)
    wait_charts(page)
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-semantic-stream.png")

    panel = open_tab(page, "Threshold evaluation", where)
    _click(page, panel, "Run: Threshold evaluation", where)
    assert 0 < float(_metric(panel, "Recommended similarity threshold")) < 1
    before = _metric(panel, "= cosine distance (RedisVL)")
    thumb = panel.get_by_role("slider").first
    thumb.scroll_into_view_if_needed()
    thumb.focus()
    rerun_after(page, lambda: page.keyboard.press("ArrowRight"))
    after = _metric(visible := page.locator('[data-testid="stMain"] [role="tabpanel"]:visible'),
                    "= cosine distance (RedisVL)")
    assert after != before, (before, after)
    assert float(after.lstrip("≤ ")) == pytest.approx(float(before.lstrip("≤ ")) - 0.01, abs=1e-9)
    assert_healthy(page, f"{where} after moving the slider")
    wait_charts(page)
    assert visible.locator('[data-testid="stPlotlyChart"]').count() >= 3
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-semantic-threshold.png")

    panel = open_tab(page, "Try it", where)
    _click(page, panel, "Ask", where)
    expect(panel.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Cache hit", timeout=30_000)
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-semantic-try.png")

    panel = open_tab(page, "Vector index", where)
    _click(page, panel, "Run: An expired entry leaves the index", where)
    assert float(_metric(panel, "Gone from the search after").split()[0]) >= 2.0  # the default 2 s TTL
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-semantic-index.png")

    panel = open_tab(page, "RedisVL", where)
    _click(page, panel, "Run: RedisVL beside the lab's cache", where)
    if backend == "embedded":
        assert _metric(panel, "Same hit or miss, same match, same distance") == "100.0 %"
        expect(panel.locator('[data-testid="stCode"]').last).to_contain_text("SemanticCache(")
    else:
        expect(panel.get_by_text(re.compile("RedisVL needs the query engine")).first).to_be_visible()
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-semantic-redisvl.png")
    assert_clean_log(app)
