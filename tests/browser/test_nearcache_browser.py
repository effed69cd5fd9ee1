"""The Near cache page (``/nearcache``) in a real browser, on embedded, sandbox and a live Redis.

Every tab is opened and every "Run: …" button clicked. Embedded and live track for real: the reconnect tab
shows a stale reader and a fresh one, the stale window has both channels. The sandbox (fakeredis, no
CLIENT TRACKING) says so and still shows numbers. Screenshots: ``screenshots/<backend>-nearcache-<tab>.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_badge, assert_clean_log, assert_healthy, click_run_buttons, expect, full_screenshot,
    main_tabs, open_page, slug, visible_panel, wait_charts)
from tests.browser.test_structures_browser import recipe_metrics, run_titles  # noqa: E402

PATH = "/nearcache"
PAGE_FILE = "app_pages/nearcache.py"
TABS = ("Local vs Redis vs database", "The stale window", "Invalidation storm", "Tracking's memory", "Reconnect",
        "Keyspace notifications")
RESP3 = "— RESP3"
NO_TRACKING = "— no tracking"


def registered_titles() -> set[str]:
    from labs import load_all

    return {e.title for e in load_all().values() if e.page == PAGE_FILE}


def check(backend: str, title: str, metrics: dict[str, str], panel) -> None:
    """What each run must show: real tracking where the server has it, the sandbox's honest fallback."""
    tracks = backend != "sandbox"
    if title.startswith("Near cache: local hit"):
        assert metrics["Local hit, median"].endswith("µs") and metrics["Redis hit, median"].endswith("µs")
        stale = int(metrics["Stale reads (near cache)"].split()[0].replace(",", ""))
        assert (stale <= 5) if tracks else (stale > 20), metrics  # tracking: only inside the stale window
    if title.startswith("The stale window"):
        names = " ".join(metrics)
        assert (RESP3 in names) == tracks and (NO_TRACKING in names) != tracks, metrics
    if title.startswith("The reconnect failure"):
        assert metrics["Stale reads — flush on reconnect"] == "0 reads", metrics
        assert metrics["Stale reads — no flush on reconnect"] != "0 reads", metrics
    if title.startswith("Tracking's memory"):
        assert metrics["Keys the server tracks — default"] == "5,000 keys", metrics
        assert metrics["BCAST: keys never read, invalidated anyway"] == "100 keys", metrics
    if title.startswith("Keyspace notifications"):
        assert metrics["Events missed while disconnected"] == "5 messages", metrics
    if not tracks and title.startswith(("Near cache: local hit", "The stale window", "The invalidation storm")):
        expect(panel.get_by_text("unknown command", exact=False).first).to_be_visible()


def walk(app, page, backend: str) -> None:
    open_page(page, app.url(PATH))
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Near cache")
    assert_badge(page, backend)
    assert_healthy(page, f"{backend} {PATH}")
    assert [t.strip() for t in main_tabs(page).all_inner_texts()] == list(TABS)
    ran: list[str] = []

    def on_tab(name: str, panel) -> None:
        for title in run_titles(panel):
            ran.append(title)
            metrics = recipe_metrics(panel, title)
            assert metrics, f"{backend} {PATH} [{name}]: 'Run: {title}' showed no numbers"
            check(backend, title, metrics, panel)
        wait_charts(page)
        full_screenshot(page, SCREENSHOTS / f"{backend}-nearcache-{slug(name)}.png")

    clicked = click_run_buttons(page, f"{backend} {PATH}", on_tab=on_tab)
    assert clicked == len(ran) == len(registered_titles()) and set(ran) == registered_titles(), ran
    assert_clean_log(app)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded", "sandbox"])
def test_every_tab_runs_with_numbers_in_words_and_units(apps, page, backend):
    walk(apps(backend), page, backend)


@pytest.mark.browser
def test_every_tab_runs_on_a_live_redis(redis_url, start_app, page):
    walk(start_app("live", redis_url), page, "live")
    assert visible_panel(page).count() == 1
