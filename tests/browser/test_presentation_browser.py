"""How results read in a real browser: the longest pages after every Run button, Eviction on a phone, and
the miss-ratio curve's marker.

Each page is opened, every "Run…" button clicked (tab by tab) with its defaults, and the page saved as
full screenshots (``tests/browser/screenshots/results-<page>[-<tab>].png``) — the before/after pictures
of issue 15. Checks: no exception, no identifier-like tile label or table header (``snake_case``); on a
390 px phone the Eviction page's tabs start within two screens; the marker and its label share their x.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.conftest import new_page  # noqa: E402
from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_clean_log, assert_healthy, click_run_buttons, expect, full_screenshot, open_page, open_tab,
    rerun_after, slug, visible_panel, wait_charts)

RESULT_PAGES = ("patterns", "ttl_cost", "eviction")  # the three longest result pages; the others have their own
IDENTIFIER = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$|^[a-z]+[A-Z]\w*$")
PHONE = {"width": 390, "height": 844}
PHONE_TABS_MAX_PX = 2 * PHONE["height"]


def identifier_labels(page) -> list[str]:
    """Metric tile labels and table headers on screen that read like code, not words."""
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    headers = page.locator('[data-testid="stDataFrame"] [role="columnheader"]').all_inner_texts()
    return sorted({t.strip() for t in labels + headers if IDENTIFIER.match(t.strip())})


@pytest.mark.browser
@pytest.mark.parametrize("stem", RESULT_PAGES)
def test_results_read_as_words(apps, page, stem):
    """Run every experiment of the page with defaults; screenshot each tab; no identifier-like labels."""
    app = apps("embedded")
    open_page(page, app.url(f"/{stem}"))
    odd: list[str] = []

    def on_tab(name: str, _panel) -> None:
        wait_charts(page)
        odd.extend(identifier_labels(page))
        full_screenshot(page, SCREENSHOTS / f"results-{stem}-{slug(name)}.png")

    clicked = click_run_buttons(page, stem, on_tab=on_tab)
    assert clicked >= 1, f"{stem}: no Run button was clicked"
    wait_charts(page)
    odd.extend(identifier_labels(page))
    full_screenshot(page, SCREENSHOTS / f"results-{stem}.png")
    assert_healthy(page, stem)
    assert not odd, f"{stem}: labels that read like identifiers: {sorted(set(odd))}"
    assert_clean_log(app)


MARKER_JS = """() => {
    const chart = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .find(c => c.offsetParent !== null && c.querySelector('.shapelayer path'));
    if (!chart) return null;
    const line = chart.querySelector('.shapelayer path').getBoundingClientRect();
    const note = chart.querySelector('.annotation').getBoundingClientRect();
    return {line: line.left + line.width / 2, note: note.left + note.width / 2};
}"""


@pytest.mark.browser
def test_the_miss_ratio_marker_and_its_label_stand_at_the_same_size(apps, page):
    """Issue 15: the slider's dashed marker was drawn at log10(size) (≈ 3.8 keys) while its label stood at
    the size; in the browser the line and the label now share their x position (within 3 px)."""
    app = apps("embedded")
    open_page(page, app.url("/eviction"))
    open_tab(page, "Miss-ratio curve", "eviction")
    run = visible_panel(page).get_by_role("button", name="Run: The miss-ratio curve")
    rerun_after(page, run.click)
    wait_charts(page)
    spot = page.evaluate(MARKER_JS)
    assert spot is not None, "no chart with a marker on the miss-ratio tab"
    assert abs(spot["line"] - spot["note"]) < 3, spot
    assert_clean_log(app)


@pytest.mark.browser
def test_eviction_tabs_near_the_top_on_a_phone(apps, browser):
    """On a 390 px phone the Eviction page's tabs start within two screens (the intro stays short)."""
    app = apps("embedded")
    context, pg = new_page(browser, PHONE)
    try:
        open_page(pg, app.url("/eviction"))
        tab = pg.locator('[data-testid="stMain"]').get_by_role("tab").first
        expect(tab).to_be_visible(timeout=10_000)
        top = pg.evaluate("""() => {
            const tab = document.querySelector('[data-testid="stMain"] [role="tab"]');
            const main = document.querySelector('[data-testid="stMain"]');
            return tab.getBoundingClientRect().top - main.getBoundingClientRect().top; }""")
        full_screenshot(pg, SCREENSHOTS / "phone-eviction.png")
        assert top <= PHONE_TABS_MAX_PX, f"the tabs start {top:.0f} px down the page on a phone"
    finally:
        context.close()
