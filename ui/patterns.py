"""Patterns page pieces: the charts of a strategy comparison, the crash report and the crossover.

Every table reads through the experiment's measures (headers in words with units); the comparison's
columns are split in two tables — time, then what the database and the readers got — so none is cut
off on a laptop screen.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from labs.core import charts
from labs.core.experiment import Result
from ui.results import result_table, table

LATENCY_COLUMNS = ["strategy", "read_p50_ms", "read_p95_ms", "read_p99_ms", "write_p50_ms", "write_p99_ms"]
OUTCOME_COLUMNS = ["strategy", "hit_ratio", "db_queries", "stale_reads", "failed", "degraded", "max_queue_depth"]


def comparison(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    st.markdown("**Time per request** (measured Redis and SQLite + simulated database network)")
    result_table(result, "summary", columns=LATENCY_COLUMNS)
    st.markdown("**What the database and the readers got**")
    result_table(result, "summary", columns=OUTCOME_COLUMNS)
    requests = result.frames["requests"]
    left, right = st.columns(2)
    with left:
        st.markdown("**Read latency** (cumulative distribution; measured + simulated DB time)")
        st.plotly_chart(charts.latency_ecdf(charts.thin(requests[requests.op == "read"], "total_us", "strategy"),
                                            "total_us", "strategy"), width="stretch")
        st.markdown("**Load on the primary database** (queries sent)")
        st.plotly_chart(charts.compare_bars(summary, "strategy", "db_queries", y_title="DB queries"), width="stretch")
    with right:
        st.markdown("**Write latency** (cumulative distribution)")
        writes = requests[requests.op == "write"]
        if writes.empty:
            st.caption("This trace has no writes (write fraction 0).")
        else:
            st.plotly_chart(charts.latency_ecdf(charts.thin(writes, "total_us", "strategy"), "total_us", "strategy",
                                                x_title="time per write (µs)"),
                            width="stretch")
        st.markdown("**Stale reads** (a value other than the last acknowledged write)")
        st.plotly_chart(charts.compare_bars(summary, "strategy", "stale_reads", y_title="stale reads"), width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown("**Hit ratio over the run** (the cold-start curve; moving window of 100 reads)")
        st.plotly_chart(charts.line_chart(result.frames["hit_curve"], "request", "hit_ratio", "strategy",
                                          x_title="request", y_title="hit ratio"), width="stretch")
    with right:
        st.markdown("**Median read time over the run** (moving window; watch the jump if the cache goes down)")
        st.plotly_chart(charts.line_chart(result.frames["latency_curve"], "request", "read_ms", "strategy",
                                          x_title="request", y_title="read time (ms)"), width="stretch")
    queue = result.frames["queue"]
    if not queue.empty:
        st.markdown("**Write-behind queue depth** (writes acknowledged but not yet in the database)")
        # a step line through the rows where the depth changes is the same line, from a fraction of the points
        steps = queue[queue.queue_depth.ne(queue.queue_depth.shift()) | (queue.index == queue.index[-1])]
        st.plotly_chart(charts.line_chart(steps, "t_ms", "queue_depth", x_title="time (ms, virtual clock)",
                                          y_title="queued writes", step=True), width="stretch")


def crash_report(result: Result, _params: Any) -> None:
    lost = result.frames.get("lost")
    if lost is not None and not lost.empty:
        st.warning(f"{len(lost)} acknowledged writes never reached the database:", icon=":material/report:")
        result_table(result, "lost", height=min(38 + 35 * len(lost), 300))
    elif lost is not None:
        st.success("Every acknowledged write is in the database.", icon=":material/verified:")
    timeline = result.frames.get("timeline")
    if timeline is not None and not timeline.empty:
        st.plotly_chart(charts.line_chart(timeline, "t_ms", "queue_depth", x_title="time (ms, virtual clock)",
                                          y_title="queued writes", step=True), width="stretch")
        events = timeline[timeline.event.astype(str).str.len() > 0]
        if not events.empty:
            st.markdown("**What happened, in order**")
            table(events, result.measures)


def crossover(result: Result, _params: Any) -> None:
    sweep, cross = result.frames["sweep"], result.metrics.get("crossover_ms")
    positive = sweep[sweep.db_latency_ms > 0]
    st.plotly_chart(charts.line_chart(positive, "db_latency_ms", "speedup", x_title="database latency (ms, SIMULATED)",
                                      y_title="speed-up (no cache ÷ cache-aside)", log_x=True, hline=1.0,
                                      hline_text="no gain", vline=cross, vline_text=f"crosses 1 at {cross:.3g} ms"
                                      if cross else ""), width="stretch")
    result_table(result, "sweep")
