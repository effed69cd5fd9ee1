"""Plotly figure builders: a DataFrame in, a ``go.Figure`` out. No Streamlit, no hard-coded palette —
colours come from the app theme (``.streamlit/config.toml``) when Streamlit renders the figure."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

_PARTS = {
    "redis_get_us": "Redis GET (measured)",
    "db_real_us": "SQLite query (measured)",
    "db_simulated_us": "DB network + query (SIMULATED)",
    "redis_set_us": "Redis SET (measured)",
}


def latency_breakdown(reads: pd.DataFrame, group: str = "outcome") -> go.Figure:
    """Median time of each part of a read, stacked, one bar per group (e.g. miss vs hit)."""
    medians = reads.groupby(group)[list(_PARTS)].median().reset_index()
    long = medians.melt(id_vars=group, var_name="part", value_name="µs")
    long["part"] = long["part"].map(_PARTS)
    fig = px.bar(long, x="µs", y=group, color="part", orientation="h",
                 category_orders={"part": list(_PARTS.values())},
                 labels={group: "", "µs": "median time (µs)"})
    fig.update_traces(selector={"name": _PARTS["db_simulated_us"]}, marker_pattern_shape="/")
    fig.update_layout(barmode="stack", legend_title_text="", legend_orientation="h", legend_y=-0.3,
                      height=260, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def latency_ecdf(frame: pd.DataFrame, value: str, group: str, *, log_x: bool = True,
                 x_title: str = "time per read (µs)", title: str | None = None) -> go.Figure:
    """Empirical CDF of ``value`` per ``group``: read p50/p95/p99 straight off the y axis."""
    fig = px.ecdf(frame, x=value, color=group, log_x=log_x, labels={value: x_title})
    fig.update_layout(yaxis_title="fraction of reads ≤ x", legend_title_text="", height=300,
                      margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title)
    return fig
