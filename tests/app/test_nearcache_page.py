"""AppTest: the Near cache page runs its experiments and shows each number with its words and unit.

On the sandbox (fakeredis has no CLIENT TRACKING) the latency tab says why and counts stale reads; on the
embedded server tracking runs and the reconnect tab shows the stale reader and the fresh one.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.catalog import ROOT


def _page(monkeypatch, backend: str) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", backend)
    monkeypatch.delenv("REDIS_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    return at.switch_page("app_pages/nearcache.py").run()


def _run(at: AppTest, title: str) -> dict[str, str]:
    [b for b in at.button if b.label == f"Run: {title}"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
def test_latency_tiles_carry_units_and_the_sandbox_says_what_fakeredis_lacks(monkeypatch, backend):
    at = _page(monkeypatch, backend)
    tiles = _run(at, "Near cache: local hit vs Redis hit vs the database")
    assert tiles["Local hit, median"].endswith(" µs") and tiles["Reads answered locally"].endswith(" %")
    captions = " ".join(c.value for c in at.caption)
    stale = int(tiles["Stale reads (near cache)"].split()[0].replace(",", ""))
    if backend == "sandbox":  # no tracking: every copy stays stale until the TTL backstop
        assert "unknown command" in captions and stale > 20
    else:  # tracking: stale only inside the stale window right after a write (usually none)
        assert "unknown command" not in captions and stale <= 5
    assert len(at.get("plotly_chart")) == 1


def test_reconnect_shows_a_stale_reader_and_a_fresh_one(monkeypatch):
    at = _page(monkeypatch, "embedded")
    tiles = _run(at, "The reconnect failure: flush the local cache, or serve stale data")
    assert tiles["Stale reads — flush on reconnect"] == "0 reads"
    assert tiles["Stale reads — no flush on reconnect"] == "9 reads" and tiles["Stale for — no flush on reconnect"] == "5 s"
