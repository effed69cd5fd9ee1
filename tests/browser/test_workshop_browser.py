"""The Workshop in a real browser (sandbox backend, instructor passcode set): a display name, a challenge
passed on the eviction page from an instructor's preset link (its control hidden), the progress that shows
it, and the instructor dashboard behind the passcode (wrong → refused, right → dashboard and share link).

Screenshots: ``screenshots/workshop-*.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from labs.workshop.challenges import CHALLENGES  # noqa: E402
from tests.browser.conftest import App, app_env  # noqa: E402
from tests.browser.test_browser import (  # noqa: E402
    SCREENSHOTS, assert_clean_log, assert_healthy, expect, full_screenshot, open_page, open_tab, rerun_after)

PASSCODE = "browser-pass-42"
PRESET = "/eviction?recipe_lfu-counter_log_factor=30&hide=lfu-counter.log_factor"


@pytest.fixture(scope="module")
def workshop_app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("app-workshop")
    env = app_env(workdir, "sandbox")
    env["LAB_INSTRUCTOR_PASSCODE"] = PASSCODE
    app = App("workshop", workdir, env).start()
    try:
        yield app
    finally:
        app.stop()


def _nav(page, title: str) -> None:
    """Switch page inside the session (a fresh page load would be a new session)."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title)
    expect(link).to_have_count(1, timeout=10_000)
    rerun_after(page, link.click)
    expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=30_000)


def _click(page, name: str) -> None:
    button = page.get_by_role("button", name=name)
    expect(button).to_be_visible(timeout=10_000)
    rerun_after(page, button.click)


def test_preset_link_challenge_progress_and_instructor_dashboard(workshop_app, page):
    open_page(page, workshop_app.url(PRESET))
    panel = open_tab(page, "LFU counter", "eviction preset")
    expect(panel.get_by_text("Set by your instructor's link: lfu-log-factor = 30")).to_be_visible()
    expect(panel.get_by_label("lfu-log-factor")).to_have_count(0)              # the hidden control is not there
    button = panel.get_by_role("button", name="Run: The LFU counter playground")
    rerun_after(page, button.click)
    assert_healthy(page, "eviction after the preset run")
    passed = page.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="Count to 100,000 in eight bits")
    expect(passed).to_have_count(1)
    expect(passed).to_contain_text("lfu-log-factor 30")
    expect(page.get_by_role("button", name="Result (JSON)")).to_be_visible()
    full_screenshot(page, SCREENSHOTS / "workshop-challenge-passed.png")

    _nav(page, "Workshop")
    page.get_by_role("textbox", name="Display name").fill("Ada <b>")
    _click(page, "Save my name")
    expect(page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="letters, digits")).to_be_visible()
    expect(page.locator("b", has_text="Ada")).to_have_count(0)             # markup never rendered
    page.get_by_role("textbox", name="Display name").fill("Ada B")
    _click(page, "Save my name")
    expect(page.locator('[data-testid="stText"]').filter(has_text="Ada B")).to_be_visible()
    expect(page.get_by_text(f"1 of {len(CHALLENGES)} challenges passed")).to_be_visible()
    assert_healthy(page, "workshop progress")
    full_screenshot(page, SCREENSHOTS / "workshop-progress.png")

    panel = open_tab(page, "Instructor", "workshop instructor")
    panel.get_by_role("textbox", name="Instructor passcode").fill("wrong")
    _click(page, "Open the dashboard")
    expect(page.get_by_text("That is not the instructor passcode.")).to_be_visible()
    expect(page.get_by_text("Class progress per challenge", exact=True)).to_have_count(0)
    panel = open_tab(page, "Instructor", "workshop instructor")
    panel.get_by_role("textbox", name="Instructor passcode").fill(PASSCODE)
    _click(page, "Open the dashboard")
    panel = open_tab(page, "Instructor", "workshop dashboard")
    expect(panel.get_by_text("Class progress per challenge", exact=True)).to_be_visible()
    expect(panel.get_by_text("Leaderboard", exact=True)).to_be_visible()
    code = panel.locator('[data-testid="stCode"]').first
    expect(code).to_contain_text(workshop_app.base_url)
    assert PASSCODE not in page.locator("body").inner_text()
    panel.locator('[data-testid="stExpander"] summary').filter(has_text="End the workshop").click()
    expect(panel.get_by_role("button", name="End workshop")).to_be_disabled()   # until "Yes, delete…" is ticked
    assert_healthy(page, "workshop dashboard")
    full_screenshot(page, SCREENSHOTS / "workshop-instructor.png")
    assert_clean_log(workshop_app)
