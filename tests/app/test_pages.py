"""AppTest: every registered page renders with no exception, on the sandbox and on the embedded server;
every Run button of every page and tab runs with its defaults, and afterwards no metric tile and no table
header on the page reads like an identifier (issue 15: "update reply bytes json", ``db_recomputes``)."""
from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from labs import load_all
from ui.catalog import ROOT, available

PAGES = [entry.file for entry in available()]


def _field_names() -> set[str]:
    """Every metric key and table column an experiment declares, as a lazy label would print it."""
    names = set()
    for exp in load_all().values():
        for key in exp.measures:
            if "*" not in key:
                names.add(key.replace("_", " "))
    return names


FIELD_NAMES = _field_names() | {"command", "reply", "latency", "hit ratio", "ttl s", "pttl ms"}
CAMEL = re.compile(r"\b[a-z]+[A-Z]\w*")  # camelCase; "GiB" and "RedisVL" are words


def identifier_like(label: str) -> bool:
    """``snake_case``, ``camelCase``, or a field name with ``_`` turned into spaces ("db queries")."""
    text = label.strip()
    return "_" in text or bool(CAMEL.search(text)) or text in FIELD_NAMES


def shown_labels(at: AppTest) -> list[str]:
    """Every metric tile's label and every table header on the page, as the learner reads them."""
    labels = [m.label for m in at.metric]
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        for column in frame.value.columns:
            entry = config.get(str(column), {})
            if not entry.get("hidden"):
                labels.append(entry.get("label") or str(column))
    return labels



def _app(monkeypatch, backend: str) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", backend)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _texts(at: AppTest, kind: str) -> str:
    return " ".join(str(e.value) for e in at.get(kind))


@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(monkeypatch, backend, page):
    at = _app(monkeypatch, backend).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["backend_kind"] == backend
    assert backend in _texts(at.sidebar, "markdown")  # the sidebar badge names the backend


def test_course_map_lists_every_lab_and_links_the_ones_that_exist(monkeypatch):
    at = _app(monkeypatch, "sandbox").run()
    text = _texts(at, "markdown")
    from ui.catalog import COURSE

    for entry in COURSE[1:]:
        assert entry.title in text or any(entry.title == link.proto.label for link in at.get("page_link"))


@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
def test_home_runs_the_first_experiment_with_measured_numbers(monkeypatch, backend):
    at = _app(monkeypatch, backend).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Backend"] == backend
    miss = float(metrics["First read (miss), median"].split()[0])
    hit = float(metrics["Second read (hit), median"].split()[0])
    assert hit < miss and metrics["Database queries"] == "30"
    assert len(at.get("plotly_chart")) == 2
    at.number_input(key="first_read_samples").set_value(5)
    submit = [b for b in at.button if b.label == "Run the experiment"][0]
    submit.click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Database queries"] == "5"


def test_a_refused_live_url_keeps_the_current_backend(monkeypatch):
    at = _app(monkeypatch, "sandbox").run()
    at.sidebar.radio[0].set_value("live")
    at.sidebar.text_input[0].set_value("redis://127.0.0.1:1/0")
    [b for b in at.sidebar.button if b.label == "Connect"][0].click().run()
    assert not at.exception
    assert "connection refused" in _texts(at.sidebar, "error").lower()
    assert at.session_state["backend_kind"] == "sandbox"


def test_embedded_server_killed_mid_session_is_reported_with_a_way_out(monkeypatch):
    at = _app(monkeypatch, "embedded").run()
    from ui import resources

    backend, _ = resources.embedded()
    backend.server.crash()
    at.run()
    assert not at.exception
    assert "not answering" in _texts(at, "error")
    [b for b in at.button if b.label == "Use the sandbox"][0].click().run()
    assert not at.exception and at.session_state["backend_kind"] == "sandbox"
    assert "not answering" not in _texts(at, "error")


def test_a_corrupt_database_file_is_rebuilt_with_a_message(monkeypatch, tmp_path):
    path = tmp_path / "primary.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("LAB_DB_PATH", str(path))
    at = _app(monkeypatch, "sandbox").run()
    assert not at.exception
    assert "corrupt" in _texts(at, "info") and "rebuilt" in _texts(at, "info")
    assert {m.label: m.value for m in at.metric}["Database queries"] == "30"
    later_learner = _app(monkeypatch, "sandbox").run()  # same process, caches kept: told once is enough
    assert "corrupt" not in _texts(later_learner, "info")


@pytest.mark.parametrize("backend", ["sandbox", "embedded"])
@pytest.mark.parametrize("page", PAGES)
def test_every_run_button_on_every_page_runs_cleanly(monkeypatch, backend, page):
    """Each experiment form (every tab: AppTest renders them all) runs with its defaults: no exception, no
    error message on a healthy backend, and every number on the page is labelled in words."""
    at = _app(monkeypatch, backend).run()
    at.switch_page(page).run()
    count = len([b for b in at.button if b.label.startswith("Run")])
    for i in range(count):  # by position: two forms may share a label
        button = [b for b in at.button if b.label.startswith("Run")][i]
        button.click().run()
        assert not at.exception, (button.label, [e.value for e in at.exception])
        assert not at.error, (button.label, [e.value for e in at.error])
    assert count, f"{page} has no experiment to run"
    odd = sorted({label for label in shown_labels(at) if identifier_like(label)})
    assert not odd, f"{page}: labels that read like identifiers: {odd}"


@pytest.mark.parametrize("page", PAGES)
def test_a_machine_without_any_server_binary_still_gets_every_page(monkeypatch, page):
    """No valkey-server, no redis-server: the app falls back to the sandbox and says why; experiments
    that need a private server of their own explain that instead of failing with a traceback."""
    monkeypatch.setenv("LAB_SERVER_BINARY", "none")
    at = _app(monkeypatch, "embedded").run()
    at.switch_page(page).run()
    assert at.session_state["backend_kind"] == "sandbox"
    assert "could not start" in _texts(at.sidebar, "warning")
    for label in [b.label for b in at.button if b.label.startswith("Run")]:
        [b for b in at.button if b.label == label][0].click().run()
        assert not at.exception, (label, [e.value for e in at.exception])
        for error in at.error:
            assert "server" in error.value and "start" in error.value, (label, error.value)
