"""The Invalidation & stampedes page (``/invalidation``) in a real browser.

Every tab is opened and every "Run: …" button clicked (embedded and sandbox); the race is stepped through
one click at a time — *delete first* ends stale, the *lease* refuses the late SET — and the real-thread
stampede shows one recompute for the single-flight lock. Screenshots: ``screenshots/<backend>-invalidation-<tab>.png``.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_badge, assert_clean_log, assert_healthy, click_run_buttons, expect, full_screenshot,
    main_tabs, open_page, open_tab, rerun_after, slug, visible_panel, wait_charts)
from tests.browser.test_structures_browser import dataframe_rows, recipe_metrics, run_titles  # noqa: E402

PATH = "/invalidation"
PAGE_FILE = "app_pages/invalidation.py"
TABS = ("Staleness vs freshness", "Live: PATCH → DEL", "The delete-vs-set race", "Stampede (simulated)",
        "Stampede (real threads)", "XFetch odds", "Negative caching")
RACE_TAB = "The delete-vs-set race"
WARNING = '[data-testid="stAlertContentWarning"]'
SUCCESS = '[data-testid="stAlertContentSuccess"]'


def open_invalidation(app, page, backend: str) -> None:
    open_page(page, app.url(PATH))
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Invalidation & stampedes")
    assert_badge(page, backend)
    assert_healthy(page, f"{backend} {PATH}")


def registered_titles() -> set[str]:
    from labs import load_all

    return {e.title for e in load_all().values() if e.page == PAGE_FILE}


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded", "sandbox"])
def test_every_tab_and_experiment_runs(apps, page, backend):
    app = apps(backend)
    open_invalidation(app, page, backend)
    names = [t.strip() for t in main_tabs(page).all_inner_texts()]
    assert names == list(TABS), names
    ran: list[str] = []

    def on_tab(name: str, panel) -> None:
        where = f"{backend} {PATH} [{name}]"
        for title in run_titles(panel):
            ran.append(title)
            metrics = recipe_metrics(panel, title)
            no_tiles = ("Stampede on a virtual clock", "Stampede with real threads")  # tables and charts lead
            assert metrics or title in no_tiles, f"{where}: 'Run: {title}' showed no numbers"
            if title == "Stampede with real threads":
                rows = {r["Strategy"]: r for r in dataframe_rows(panel.locator('[data-testid="stDataFrame"]').last)}
                assert rows["single-flight lock"]["Database recomputes"] == "1", rows
                assert int(rows["none"]["Database recomputes"]) > 1, rows
                expect(panel.get_by_text("Why XFetch recomputes as often as no protection here")).to_be_visible()
            if title == "The delete-vs-set race: every interleaving":
                assert metrics["Stale endings — lease (Lua)"] == "0 interleavings", metrics
                assert int(metrics["Stale endings — delete first"].split()[0]) > 0, metrics
        wait_charts(page)
        full_screenshot(page, SCREENSHOTS / f"{backend}-invalidation-{slug(name)}.png")

    clicked = click_run_buttons(page, f"{backend} {PATH}", on_tab=on_tab)
    assert clicked == len(ran) == len(registered_titles()), (clicked, ran)
    assert set(ran) == registered_titles()
    assert_clean_log(app)


def _choose(page, label: str, option: str) -> None:
    box = visible_panel(page).locator('[data-testid="stSelectbox"]').filter(has_text=label)
    expect(box).to_have_count(1)
    box.click()
    rerun_after(page, page.get_by_role("option", name=option, exact=True).click)


def _step_through(page, where: str) -> None:
    panel = visible_panel(page)
    for i in range(1, 6):
        button = panel.get_by_role("button", name=re.compile("Next step"))
        expect(button).to_be_enabled()
        rerun_after(page, button.click)
        assert_healthy(page, f"{where} after step {i}")
        expect(visible_panel(page).get_by_text(f"Step {i} of 5", exact=False)).to_be_visible()
    expect(visible_panel(page).get_by_role("button", name=re.compile("Next step"))).to_be_disabled()


@pytest.mark.browser
def test_race_step_through_in_the_browser(apps, page):
    """Delete first, interleaving W R R W R: stale until the TTL; the lease refuses the same late SET."""
    app = apps("embedded")
    open_invalidation(app, page, "embedded")
    where = f"embedded {PATH} [{RACE_TAB}]"
    open_tab(page, RACE_TAB, f"embedded {PATH}")
    panel = visible_panel(page)
    expect(panel.get_by_text("Step 0 of 5", exact=False)).to_be_visible()
    _step_through(page, where)
    warning = visible_panel(page).locator(WARNING)
    expect(warning).to_contain_text("STALE")
    expect(warning).to_contain_text("Oslo (v1)")
    full_screenshot(page, SCREENSHOTS / "embedded-invalidation-race-delete-first.png")

    _choose(page, "Strategy", "lease (Lua)")
    expect(visible_panel(page).get_by_text("Step 0 of 5", exact=False)).to_be_visible()
    _step_through(page, f"{where} lease")
    success = visible_panel(page).locator(SUCCESS)
    expect(success).to_contain_text("rejected")
    expect(visible_panel(page).locator(WARNING)).to_have_count(0)
    rerun_after(page, visible_panel(page).get_by_role("button", name=re.compile("Start again")).click)
    expect(visible_panel(page).get_by_text("Step 0 of 5", exact=False)).to_be_visible()
    full_screenshot(page, SCREENSHOTS / "embedded-invalidation-race-lease.png")
    assert_clean_log(app)
