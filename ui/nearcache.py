"""Near cache page pieces: each experiment's charts and tables, with the words and units its measures
declare (``labs.core.measures``); ``recipe()`` shows the headline tiles above them."""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd
import streamlit as st

from labs.core import charts
from labs.core.experiment import Result
from labs.core.measures import Measure, describe, format_value, headings
from ui.results import table


def sentences(frame: pd.DataFrame, measures: Mapping[str, Measure]) -> None:
    """A small table of sentences shown whole (``st.table``, no scrolling grid): each column headed by its
    label and unit, each value formatted by its measure."""
    shown = pd.DataFrame({headings([c], measures)[c]: [format_value(v, describe(measures, str(c))) for v in frame[c]]
                          for c in frame.columns})
    st.table(shown.set_index(shown.columns[0]))


def latency(result: Result, _params: Any) -> None:
    sweep = result.frames["sweep"]
    cross = result.metrics.get("crossover_near_ms")
    st.markdown("**Mean read time against the database's latency** — three readers, one trace (Redis and SQLite "
                "measured; the database latency on the x axis is SIMULATED)")
    fig = charts.line_chart(sweep[sweep.db_latency_ms > 0], "db_latency_ms", "mean_read_us", "strategy", log_x=True,
                            x_title="database latency (ms, SIMULATED)", y_title="mean read time (µs, log)",
                            vline=cross, vline_text=f"near cache pays from {cross:.3g} ms" if cross else "")
    fig.update_yaxes(type="log", dtick=1)
    fig.update_xaxes(dtick=1)
    st.plotly_chart(fig, width="stretch", key="near_latency_sweep")
    st.markdown("**Where each read was answered** (measured)")
    table(result.frames["tiers"], result.measures)


def stale_window(result: Result, _params: Any) -> None:
    windows = result.frames["windows"].dropna(subset=["window_us"])
    if windows.empty:
        st.warning("No invalidation arrived: without tracking the reader keeps serving its old copy until the "
                   "TTL backstop.", icon=":material/sync_problem:")
    else:
        st.markdown("**Stale window per write** (cumulative distribution; measured)")
        st.plotly_chart(charts.latency_ecdf(windows, "window_us", "mode",
                                            x_title="from the writer's acknowledged write to the copy dropped (µs)"),
                        width="stretch", key="near_stale_ecdf")
    summary = (result.frames["windows"].groupby("mode", sort=False)
               .agg(stale_reads_after_ack=("stale_reads_after_ack", "sum"), fresh_after=("fresh_after", "mean"))
               .reset_index())
    table(summary, result.measures)


def storm(result: Result, _params: Any) -> None:
    frame = result.frames["storm"]
    st.markdown("**Invalidation messages per second** (measured)")
    st.plotly_chart(charts.compare_bars(frame, "key", "invalidations_per_s", "mode", y_title="messages / s"),
                    width="stretch", key="near_storm_bars")
    table(frame, result.measures)


def memory(result: Result, _params: Any) -> None:
    frame = result.frames["modes"]
    left, right = st.columns(2)
    left.markdown("**Keys the server tracks** (INFO tracking_total_keys)")
    left.plotly_chart(charts.compare_bars(frame, "mode", "tracked_keys", y_title="keys"), width="stretch",
                      key="near_memory_keys")
    right.markdown("**Keys never read that the reader was told about**")
    right.plotly_chart(charts.compare_bars(frame, "mode", "never_read_keys_invalidated", y_title="keys"),
                       width="stretch", key="near_memory_never")
    table(frame, result.measures)


def reconnect(result: Result, _params: Any) -> None:
    timeline = result.frames["timeline"].assign(stale_read=lambda f: f.stale.astype(int))
    st.markdown("**Stale reads after the drop** (1 = the old value was served; virtual time)")
    st.plotly_chart(charts.line_chart(timeline, "t_s", "stale_read", "reader", step=True,
                                      x_title="time after the drop (s, virtual)", y_title="stale read (1 = yes)"),
                    width="stretch", key="near_reconnect_line")
    table(result.frames["timeline"], result.measures, height=260)


def notifications(result: Result, _params: Any) -> None:
    st.markdown("**Tracking vs keyspace notifications** (the first three rows measured in this run)")
    sentences(result.frames["compare"], result.measures)
    delivery = result.frames["delivery"].dropna(subset=["delay_us"])
    left, right = st.columns(2)
    with left:
        st.markdown("**Event delivery after the write** (measured)")
        if not delivery.empty:
            st.plotly_chart(charts.latency_ecdf(delivery, "delay_us", "event", x_title="delay after the ack (µs)"),
                            width="stretch", key="near_notify_ecdf")
    with right:
        st.markdown("**After a reconnect** (events are fire and forget)")
        sentences(result.frames["away"], result.measures)
