"""Workshop pieces: the learner's progress store, challenge verdicts after a run, the Progress page, and the
instructor dashboard (class progress, leaderboard, who is active, share links, end workshop).

Class progress lives on a server every session of the app shares (:func:`class_backend`): the configured
live Redis (``REDIS_URL``, as ``make workshop`` sets for its replicas), else the app's embedded server — so
``make run`` alone gives a class view. Only a sandbox-only app keeps progress per session.

Learner text (display names) is only ever shown with ``st.dataframe``/``st.text`` or escaped markdown —
never rendered as raw HTML. The instructor passcode comes from ``$LAB_INSTRUCTOR_PASSCODE`` or
``.streamlit/secrets.toml``, or is generated at start-up and printed in the terminal (``ui.startup``); it is
compared in constant time (``hmac.compare_digest``) and never shown.
"""
from __future__ import annotations

import hmac
import os
import re
import time
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import redis
import streamlit as st

from labs.workshop import challenges as ch
from labs.core.backends import Backend, BackendError
from labs.core.experiment import Result, knobs
from labs import load_all
from labs.workshop.progress import (DEFAULT_WORKSHOP_S, ProgressStore, RedisProgress, SessionProgress, check_class_id,
                           check_workshop_seconds, escape_markdown)
from ui import resources
from ui.catalog import available
from ui.session import session_id
from ui.startup import PASSCODE_ENV, instructor_passcode, secret

MAX_PASSCODE_TRIES = 5
LOCKOUT_S = 30.0
_STORE_ERRORS = (redis.RedisError, OSError)


# ---------------------------------------------------------------------------------------- settings
def configured_passcode() -> str:
    """The instructor passcode: configured, or the one generated (and printed) when the app started."""
    return instructor_passcode().value


def class_id() -> str:
    """The class this session belongs to: ``?class=`` from an instructor's link, else $LAB_CLASS_ID, else 'workshop'."""
    state = st.session_state
    from_url = st.query_params.get("class")
    if from_url:
        try:
            state["workshop_class"] = check_class_id(from_url)
        except ValueError:
            pass
    if "workshop_class" not in state:
        configured = os.environ.get("LAB_CLASS_ID") or secret("workshop", "class_id") or "workshop"
        try:
            state["workshop_class"] = check_class_id(configured)
        except ValueError:
            state["workshop_class"] = "workshop"
    return state["workshop_class"]


def workshop_seconds() -> int:
    try:
        return check_workshop_seconds(float(os.environ.get("LAB_WORKSHOP_HOURS", "")) * 3600)
    except ValueError:
        return DEFAULT_WORKSHOP_S


def replica_note() -> None:
    """Which app replica serves this session, under ``make workshop`` (``$LAB_REPLICA``); nothing otherwise."""
    replica = os.environ.get("LAB_REPLICA", "")
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", replica):
        st.caption(f":material/lan: Served by app replica `{replica}` of this workshop; your resume "
                   "link (sidebar) opens your keys and progress on any replica.")


# ---------------------------------------------------------------------------------------- the store
def class_backend() -> Backend | None:
    """The server the class shares: the configured live Redis, else this app's embedded server (every session
    of this process uses it), else None — a sandbox-only app (``LAB_BACKEND=sandbox`` or no server binary)."""
    url = resources.configured_url()
    if url:
        try:
            return resources.live(url)
        except BackendError:
            pass  # the configured server is down: the embedded one keeps the class going on this replica
    if os.environ.get("LAB_BACKEND", "").lower() == "sandbox":
        return None
    backend, _why = resources.embedded()
    return backend


def progress_store() -> ProgressStore:
    """The class's shared store on :func:`class_backend`, or this session's own dict when there is none."""
    backend = class_backend()
    if backend is not None:
        return RedisProgress(backend.client, class_id(), session_id(), workshop_s=workshop_seconds())
    return SessionProgress(session_id(), st.session_state.setdefault("workshop_progress", {}))


def _pending() -> list[str]:
    return st.session_state.setdefault("workshop_pending", [])


def record_passes(store: ProgressStore, passed: list[str]) -> str | None:
    """Store passes (and any kept from a failed try); on a dead server keep them for later and say so."""
    pending = _pending()
    todo = list(dict.fromkeys(pending + passed))
    try:
        for cid in todo:
            store.record_pass(cid)
        if not todo:
            store.touch()
    except _STORE_ERRORS as exc:
        pending[:] = todo
        return (f"Your progress could not be saved: the server did not answer ({type(exc).__name__}). "
                "It is kept in this session and saved with your next run once the server is back.")
    pending.clear()
    return None


def judge_run(name: str, params: Any, result: Result) -> list[ch.Verdict]:
    """Check this run against the experiment's challenges; record passes. Returns the verdicts."""
    items = ch.for_experiment(name)
    if not items:
        return []
    verdicts = [ch.check(c, params, result) for c in items]
    problem = record_passes(progress_store(), [v.challenge_id for v in verdicts if v.passed])
    if problem:
        st.session_state["workshop_store_problem"] = problem
    else:
        st.session_state.pop("workshop_store_problem", None)
    return verdicts


def show_verdicts(verdicts: list[ch.Verdict]) -> None:
    """Each challenge of this experiment, judged on the run above: the reason it passed, or a hint."""
    if not verdicts:
        return
    with st.container(border=True):
        st.markdown("**Challenges** — judged on the run above")
        for v in verdicts:
            c = ch.get(v.challenge_id)
            text = f"**{c.title}** — {c.goal}\n\n{v.reason}".replace("$", "\\$")
            if v.passed:
                st.success(text, icon=":material/emoji_events:")
            elif v.reason.startswith("Not yet"):
                st.warning(f"{text}\n\n**Hint:** {v.hint}".replace("$", "\\$"), icon=":material/lightbulb:")
            else:
                st.caption(":material/rule: " + text)
        problem = st.session_state.get("workshop_store_problem")
        if problem:
            st.warning(problem, icon=":material/cloud_off:")


# ---------------------------------------------------------------------------------------- the learner
def name_form(store: ProgressStore) -> None:
    with st.form("workshop_name", border=True):
        entered = st.text_input("Display name", max_chars=24, key="workshop_name_input",
                                placeholder="a nickname — no real name or e-mail needed",
                                help="Shown on the class leaderboard. 1–24 letters, digits, spaces, . - _ '")
        if st.form_submit_button("Save my name", icon=":material/badge:"):
            try:
                store.set_name(entered)
                st.toast("Name saved.", icon=":material/check:")
            except ValueError as exc:
                st.warning(str(exc), icon=":material/error:")
            except _STORE_ERRORS:
                st.warning("The server did not answer; your name was not saved. Try again in a moment.",
                           icon=":material/cloud_off:")
    try:
        current = store.name()
    except _STORE_ERRORS:
        current = "(the server is not answering)"
    st.caption("You appear on the leaderboard as:")
    st.text(current)


def my_progress(store: ProgressStore) -> None:
    """Every challenge by lab, with this learner's status and a link to the page where it is tried."""
    try:
        passed = store.passed()
    except _STORE_ERRORS:
        st.warning("The server is not answering: your progress will show again when it is back.",
                   icon=":material/cloud_off:")
        passed = {}
    passed = {**passed, **{cid: 0.0 for cid in _pending()}}
    total = len(ch.CHALLENGES)
    st.progress(len([c for c in ch.CHALLENGES if c.id in passed]) / total,
                text=f"{len([c for c in ch.CHALLENGES if c.id in passed])} of {total} challenges passed")
    pages = {entry.file: entry for entry in available()}
    for lab, items in ch.by_lab().items():
        entry = pages.get(items[0].page)
        with st.container(border=True):
            head = st.columns([3, 1])
            head[0].markdown(f"**{entry.title if entry else lab}**")
            if entry:
                head[1].page_link(entry.file, label="Open the lab", icon=entry.icon)
            rows = [{"status": "passed" if c.id in passed else "to do", "challenge": c.title, "goal": c.goal,
                     "rules": "; ".join(c.rules_text()) or "—", "experiment": load_all()[c.experiment].title}
                    for c in items]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


# ---------------------------------------------------------------------------------------- the instructor
def passcode_ok(entered: str, configured: str) -> bool:
    """Constant-time comparison of the entered passcode with the configured one (empty never matches)."""
    if not configured or not entered:
        return False
    return hmac.compare_digest(entered.encode(), configured.encode())


def instructor_gate() -> bool:
    """True when this session entered the right passcode; otherwise the form (or how to configure one)."""
    passcode = instructor_passcode()
    configured, state = passcode.value, st.session_state
    if passcode.generated and not state.get("workshop_instructor"):
        st.info("The passcode was generated when the app started and printed in the terminal that started it "
                "(look for **Instructor passcode**). To choose your own, set the environment variable "
                f"`{PASSCODE_ENV}` before starting the app, or add `{PASSCODE_ENV} = \"…\"` (or "
                "`[workshop] instructor_passcode = \"…\"`) to `.streamlit/secrets.toml`.", icon=":material/key:")
    if state.get("workshop_instructor"):
        return True
    locked_for = state.get("workshop_locked_until", 0.0) - time.time()
    with st.form("instructor_login", border=True):
        entered = st.text_input("Instructor passcode", type="password", key="workshop_passcode")
        if st.form_submit_button("Open the dashboard", icon=":material/key:"):
            if locked_for > 0:
                st.warning(f"Too many wrong tries: wait {locked_for:.0f} s.", icon=":material/timer:")
            elif passcode_ok(entered, configured):
                state["workshop_instructor"] = True
                state.pop("workshop_tries", None)
                st.rerun()
            else:
                state["workshop_tries"] = tries = state.get("workshop_tries", 0) + 1
                if tries >= MAX_PASSCODE_TRIES:
                    state["workshop_locked_until"], state["workshop_tries"] = time.time() + LOCKOUT_S, 0
                st.warning("That is not the instructor passcode.", icon=":material/lock:")
    return False


def dashboard(store: ProgressStore, minutes: int) -> None:
    """Class progress per challenge, the leaderboard and who was active in the last ``minutes``."""
    backend = class_backend()
    if not store.shared:
        st.info("This app runs without a server (sandbox only), so progress stays in each learner's session and "
                "you see this session alone. Start the app with its embedded server (the default) or a shared "
                "Redis (`REDIS_URL`) for a class view.", icon=":material/info:")
    elif backend is not None and backend.kind == "embedded":
        st.caption(":material/dns: Class progress lives on this app's embedded server, shared by every learner of "
                   "this app process. Several app processes need one shared server: `make workshop` starts one.")
    try:
        view = store.class_view()
        board = store.leaderboard(20)
    except _STORE_ERRORS as exc:
        st.warning(f"The server did not answer ({type(exc).__name__}); the app stays up — try again when it is "
                   "back.", icon=":material/cloud_off:")
        return
    counts = view.per_challenge()
    titles = {e.file: e.title for e in available()}
    cols = st.columns(3)
    cols[0].metric("Learners", len(view.learners))
    cols[1].metric(f"Active in the last {minutes} min", len(view.active(time.time(), minutes * 60)))
    cols[2].metric("Challenges passed (all learners)", sum(counts.values()))
    st.markdown("**Class progress per challenge**")
    st.dataframe(pd.DataFrame([{"lab": titles.get(c.page, c.lab), "challenge": c.title, "passed by": counts.get(c.id, 0),
                                "share of class": counts.get(c.id, 0) / max(1, len(view.learners))}
                               for c in ch.CHALLENGES]),
                 hide_index=True, width="stretch",
                 column_config={"share of class": st.column_config.ProgressColumn(min_value=0, max_value=1)})
    left, right = st.columns(2)
    with left:
        st.markdown("**Leaderboard**")
        st.dataframe(pd.DataFrame(board, columns=["name", "challenges passed"]), hide_index=True, width="stretch")
    with right:
        st.markdown(f"**Active in the last {minutes} minutes**")
        now = time.time()
        st.dataframe(pd.DataFrame([{"name": r.name, "last seen (min ago)": round((now - r.last_seen) / 60, 1),
                                    "passed": len(r.passed)} for r in view.active(now, minutes * 60)],
                                  columns=["name", "last seen (min ago)", "passed"]),
                     hide_index=True, width="stretch")


def experiments_by_page() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for exp in load_all().values():
        if exp.page and exp.page != "app_pages/home.py":  # Home's first experiment has its own form, no recipe
            out.setdefault(exp.page, []).append(exp.name)
    return out


def share_link(base_url: str, page_file: str, experiment: str, values: dict[str, Any], hide: list[str],
               class_name: str | None = None) -> str:
    """``<base>/<page>?recipe_<exp>_<knob>=v&hide=a,b[&class=…]`` — a preset that opens in a new session."""
    stem = page_file.rsplit("/", 1)[-1].removesuffix(".py")
    path = "" if stem == "home" else stem
    query: dict[str, str] = {f"recipe_{experiment}_{k}": _url_text(v) for k, v in values.items()}
    if hide:
        query["hide"] = ",".join(f"{experiment}.{k}" for k in hide)
    if class_name:
        query["class"] = class_name
    return f"{base_url.rstrip('/')}/{path}" + (f"?{urlencode(query)}" if query else "")


def _url_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def link_builder() -> None:
    """Pick a lab page, an experiment and its values; choose controls to hide; copy the link."""
    pages = {e.file: e.title for e in available()}
    by_page = {p: names for p, names in experiments_by_page().items() if p in pages}
    page = st.selectbox("Lab page", list(by_page), format_func=pages.get, key="share_page")
    exp = load_all()[st.selectbox("Experiment", by_page[page], key="share_exp",
                                  format_func=lambda n: load_all()[n].title)]
    presets = {c.title: c for c in ch.for_experiment(exp.name)}
    start = st.selectbox("Start from", ["the defaults", *presets], key=f"share_start_{exp.name}",
                         help="A challenge's failing starting point: the learner must change something to pass.")
    base = dict(presets[start].miss) if start in presets else {}
    values: dict[str, Any] = {}
    cols = st.columns(3)
    for i, k in enumerate(knobs(exp.params_cls)):
        default = base.get(k["name"], k["default"])
        with cols[i % 3]:
            label = k["name"]
            if k.get("choices"):
                values[k["name"]] = st.selectbox(label, list(k["choices"]), index=list(k["choices"]).index(default),
                                                 key=f"share_{exp.name}_{k['name']}_{start}")
            elif k["type"] is bool:
                values[k["name"]] = st.toggle(label, value=bool(default), key=f"share_{exp.name}_{k['name']}_{start}")
            elif k["type"] in (int, float):
                values[k["name"]] = st.number_input(label, value=k["type"](default),
                                                    key=f"share_{exp.name}_{k['name']}_{start}")
            else:
                values[k["name"]] = st.text_input(label, value=str(default), key=f"share_{exp.name}_{k['name']}_{start}")
    hide = st.multiselect("Hide these controls from learners", [k["name"] for k in knobs(exp.params_cls)],
                          key=f"share_hide_{exp.name}")
    changed = {k: v for k, v in values.items() if v != next(x["default"] for x in knobs(exp.params_cls) if x["name"] == k)
               or k in hide}
    try:
        exp.params_cls(**values)
    except ValueError as exc:
        st.warning(f"Learners would see this error: {exc}", icon=":material/error:")
    base_url = str(getattr(st.context, "url", "") or "").split("?")[0]
    base_url = base_url.rsplit("/", 1)[0] if base_url.rstrip("/").endswith("workshop") else base_url
    st.markdown("**Share this link**")
    st.code(share_link(base_url or "http://localhost:8501", page, exp.name, changed, hide, class_id()),
            language=None, wrap_lines=True)


def end_workshop(store: ProgressStore) -> None:
    with st.expander("End the workshop", icon=":material/stop_circle:"):
        st.caption(f"Deletes every key of class `{escape_markdown(class_id())}` (progress, leaderboard, activity) "
                   "with SCAN MATCH on the class prefix + UNLINK. Learners' lab keys and anything else on the "
                   "server are left alone.")
        sure = st.checkbox("Yes, delete this class's progress", key="workshop_end_sure")
        if st.button("End workshop", disabled=not sure, type="primary", icon=":material/delete_forever:"):
            try:
                removed = store.end_workshop()
                st.success(f"Workshop ended: {removed} keys deleted.", icon=":material/check:")
            except _STORE_ERRORS as exc:
                st.warning(f"The server did not answer ({type(exc).__name__}); nothing was deleted.",
                           icon=":material/cloud_off:")
