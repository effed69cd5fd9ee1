"""Invalidation page pieces: the staleness charts, the race step-through (one step per click, on the
learner's backend), the stampede charts, XFetch's odds and negative caching. Tables read through the
experiments' measures: headers in words with units."""
from __future__ import annotations

from typing import Any

import pandas as pd
import redis
import streamlit as st

from labs.core import charts
from labs.core.experiment import Result
from labs.core.measures import measure
from labs.invalidation.race import INTERLEAVINGS, STRATEGIES, RaceRun, describe
from ui.results import result_table, table
from ui.session import namespace

NAMED = {"RRWWR": "the reader's GET, read and SET span the whole write",
         "WRRWR": "the reader misses between the writer's two steps",
         "RRRWW": "no overlap: the write comes after the read"}
STATE = "inv_race_run"
CHOICE = "inv_race_choice"   # (strategy, interleaving, backend kind) of the run in STATE
STEP_COLUMNS = {"step": measure("Step", "rank"), "client": measure("Who", "text"), "action": measure("Did", "text"),
                "cache": measure("Cache holds", "text"), "cache_ttl_s": measure("Cache TTL left", "s"),
                "database": measure("Database holds", "text")}


def staleness(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    result_table(result, "summary")
    left, right = st.columns(2)
    left.markdown("**Stale reads** (simulated)")
    left.plotly_chart(charts.compare_bars(summary, "strategy", "stale_reads", y_title="stale reads"), width="stretch")
    right.markdown("**Database reads** (simulated)")
    right.plotly_chart(charts.compare_bars(summary, "strategy", "db_reads", y_title="DB reads"), width="stretch")
    st.markdown("**Sweep: share of stale reads over TTL and update rate** (simulated, log TTL axis)")
    st.plotly_chart(charts.line_chart(result.frames["sweep"], "ttl_s", "stale_fraction", "series", log_x=True,
                                      x_title="TTL (s)", y_title="stale reads / reads"), width="stretch")


def live(result: Result, _params: Any) -> None:
    result_table(result, "steps")


def _label(pattern: str) -> str:
    return f"{describe(pattern)}" + (f" — {NAMED[pattern]}" if pattern in NAMED else "")


def _new_run(strategy: str, pattern: str, choice: tuple) -> RaceRun:
    run = RaceRun(strategy, pattern, namespace("invalidation"), ttl_s=5 if strategy == "update then delete" else 300)
    st.session_state[STATE], st.session_state[CHOICE] = run, choice
    return run


def _next_step(backend: Any) -> None:
    """Button callback: runs before the rerun, so the page then shows the state after this step."""
    run: RaceRun = st.session_state[STATE]
    if run.finished:
        return
    try:
        run.step(backend.client)
    except (redis.RedisError, OSError) as exc:
        st.session_state["inv_race_problem"] = f"The server did not answer: {exc}"


def _start_again(backend: Any) -> None:
    run: RaceRun = st.session_state[STATE]
    try:
        run.cleanup(backend.client)
    except (redis.RedisError, OSError):
        pass
    _new_run(run.strategy, run.pattern, st.session_state[CHOICE])


def race_stepper(backend: Any) -> None:
    """Pick a strategy and an interleaving, then run it one step per click on the learner's backend."""
    left, right = st.columns(2)
    strategy = left.selectbox("Strategy", STRATEGIES, key="inv_race_strategy")
    pattern = right.selectbox("Interleaving", INTERLEAVINGS, index=INTERLEAVINGS.index("WRRWR"), format_func=_label,
                              key="inv_race_pattern")
    choice = (strategy, pattern, backend.kind)
    run: RaceRun | None = st.session_state.get(STATE)
    if run is None or st.session_state.get(CHOICE) != choice:
        run = _new_run(strategy, pattern, choice)
    b1, b2, _ = st.columns([1, 1, 3])
    b1.button("Next step", icon=":material/skip_next:", type="primary", disabled=run.finished, key="inv_race_next",
              on_click=_next_step, args=(backend,))
    b2.button("Start again", icon=":material/replay:", key="inv_race_reset", on_click=_start_again, args=(backend,))
    problem = st.session_state.pop("inv_race_problem", None)
    if problem:
        st.error(problem, icon=":material/cloud_off:")
    run = st.session_state[STATE]
    log = pd.DataFrame(run.log, columns=["step", "client", "action", "cache", "cache_ttl_s", "database"])
    st.plotly_chart(charts.race_swimlanes(log, run.steps), width="stretch", key="inv_race_lanes")
    st.caption(f"Step {run.position} of {len(run.steps)} on the {backend.kind} backend · key "
               f"`{run.key.replace(run.ns.prefix, '')}` · TTL {run.ttl_s} s")
    if not log.empty:
        table(log, STEP_COLUMNS, key="inv_race_log")
    if run.finished:
        out = run.outcome(backend.client)
        if out["stale"]:
            st.warning(f"Final: cache {run.log[-1]['cache']} vs database {run.log[-1]['database']} — "
                     f"{out['verdict']}.", icon=":material/warning:")
        else:
            st.success(f"Final: cache {run.log[-1]['cache']}, database {run.log[-1]['database']} — {out['verdict']}"
                       + (" (the stale SET was rejected)." if out["set_rejected"] else "."), icon=":material/check:")


def race_matrix(result: Result, _params: Any) -> None:
    matrix = result.frames["matrix"]
    st.plotly_chart(charts.outcome_grid(matrix, "interleaving"), width="stretch")
    result_table(result, "matrix")


def stampede_sim(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    result_table(result, "summary")
    st.markdown("**Database recomputes per second** (simulated, virtual clock)")
    st.plotly_chart(charts.line_chart(result.frames["timeline"], "t_s", "recomputes_per_s", "strategy", step=True,
                                      x_title="time (virtual s)", y_title="recomputes / s"), width="stretch")
    left, right = st.columns(2)
    left.markdown("**Worst wait for a value** (ms, simulated)")
    left.plotly_chart(charts.compare_bars(summary, "strategy", "latency_max_ms", y_title="max wait (ms)"),
                      width="stretch")
    right.markdown("**Stale reads served** (simulated)")
    right.plotly_chart(charts.compare_bars(summary, "strategy", "stale_reads", y_title="stale reads"), width="stretch")


def stampede_real(result: Result, params: Any) -> None:
    summary = result.frames["summary"]
    if params is not None and params.duration_ms == 0:
        st.info("**Why XFetch recomputes as often as no protection here:** every reader arrived after the key had "
                "expired, and XFetch only acts *before* expiry — a reader refreshes early while the value is still "
                "there. Set *Keep reading for* above 0 (steady load over several expiries) to see it refresh "
                "early instead.", icon=":material/lightbulb:")
    st.plotly_chart(charts.compare_bars(summary, "strategy", "db_recomputes", y_title="DB recomputes (measured)"),
                    width="stretch")
    result_table(result, "summary")


def xfetch(result: Result, _params: Any) -> None:
    frame = result.frames["probability"].melt(id_vars="time_left_over_delta", var_name="curve", value_name="p")
    st.plotly_chart(charts.line_chart(frame, "time_left_over_delta", "p", "curve", x_title="time left / δ",
                                      y_title="P(read refreshes early)", vline=1.0, vline_text="time left = δ"),
                    width="stretch")


def negative(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    st.plotly_chart(charts.compare_bars(summary, "strategy", "db_queries_for_missing_ids",
                                        y_title="DB queries for missing ids (simulated)"), width="stretch")
    result_table(result, "summary")
