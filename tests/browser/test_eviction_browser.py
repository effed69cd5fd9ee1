"""The eviction page's LRU vs LRM tab in a real browser (sandbox backend: the tab is simulated on every
backend). Run with the default form: both charts and the table draw, the result says SIMULATED and which
Redis versions have the LRM policies.

Screenshot: ``screenshots/eviction-lru-vs-lrm.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_clean_log, assert_healthy, expect, full_screenshot, open_page, open_tab, rerun_after,
    wait_charts)

pytestmark = pytest.mark.browser


def test_lru_vs_lrm_tab_runs_and_is_labelled_simulated(apps, page):
    app = apps("sandbox")
    open_page(page, app.url("/eviction"))
    panel = open_tab(page, "LRU vs LRM", "eviction")
    rerun_after(page, panel.get_by_role("button", name="Run: LRU vs LRM: reads that no longer count").click)
    assert_healthy(page, "eviction [LRU vs LRM] after the run")
    panel = page.locator('[data-testid="stMain"] [role="tabpanel"]:visible')
    expect(panel.locator('[data-testid="stPlotlyChart"]')).to_have_count(2, timeout=30_000)
    expect(panel.get_by_text("Redis Open Source 8.6 and later", exact=False).first).to_be_visible()
    expect(panel.get_by_text("SIMULATED", exact=False).first).to_be_visible()
    wait_charts(page)
    full_screenshot(page, SCREENSHOTS / "eviction-lru-vs-lrm.png")
    assert_clean_log(app)
