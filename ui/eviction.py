"""Eviction page pieces: charts for the policy comparison, the miss-ratio curve, the test-lru grid and
the LFU counter playground."""
from __future__ import annotations

from typing import Any

import streamlit as st

from labs import charts
from labs.experiment import Result


def comparison(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    st.plotly_chart(charts.compare_bars(summary, "policy", "hit_ratio", y_title="hit ratio (simulated)"),
                    width="stretch")
    st.dataframe(summary, hide_index=True, width="stretch")
    over_time = result.frames["over_time"]
    if not over_time.empty:
        st.markdown("**Hit ratio over the trace** (moving window: warm-up, and the shift if the hot set moves)")
        st.plotly_chart(charts.line_chart(over_time, "request", "hit_ratio", "policy", x_title="request",
                                          y_title="hit ratio"), width="stretch")


def curve(result: Result, _params: Any) -> None:
    st.plotly_chart(charts.line_chart(result.frames["mrc"], "capacity", "miss_ratio", "policy", log_x=True,
                                      x_title="cache size (keys)", y_title="miss ratio (simulated)"),
                    width="stretch")


def grid(result: Result, _params: Any) -> None:
    st.plotly_chart(charts.box_grid(result.frames["cells"]), width="stretch")
    st.dataframe(result.frames["grid"], hide_index=True, width="stretch")


def counter(result: Result, _params: Any) -> None:
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(result.frames["growth"], "hits", "counter", "factor", log_x=True,
                                        x_title="hits", y_title="LFU counter (0-255)"), width="stretch")
    right.plotly_chart(charts.line_chart(result.frames["decay"], "idle_minutes", "counter",
                                         x_title="idle minutes", y_title="counter after 100,000 hits",
                                         step=True), width="stretch")
