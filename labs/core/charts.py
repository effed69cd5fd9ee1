"""Plotly figure builders: a DataFrame in, a ``go.Figure`` out. No Streamlit, no hard-coded palette —
colours come from the app theme (``.streamlit/config.toml``) when Streamlit renders the figure.

Numbers on a chart read like numbers on a page: bar labels are rounded (a fraction as "64.5%"), log axes
tick at whole decades (1, 10, 100 — never "100, 2, 5, 1000"). A marker on a log axis is placed the way
plotly.js reads coordinates there: a shape takes the data value, an annotation its log10 (plotly.js
``test/image/mocks/shapes.json`` and ``annotations-autorange.json``; plotly/plotly.js#6194).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from labs.core.measures import readable

_PARTS = {
    "redis_get_us": "Redis GET (measured)",
    "db_real_us": "SQLite query (measured)",
    "db_simulated_us": "DB network + query (SIMULATED)",
    "redis_set_us": "Redis SET (measured)",
}


def thin(frame: pd.DataFrame, order: str, group: str | None = None, points: int = 300) -> pd.DataFrame:
    """At most ``points`` rows per ``group``, evenly spaced after sorting by ``order`` (first and last kept).

    For an ECDF the rows kept are evenly spaced order statistics, so any quantile read off the chart is
    within 1/``points`` of the full sample's (p50, p95, p99 read the same); a line sorted by x keeps its
    shape. A browser shows thousands of points no better than a few hundred, and each one costs bytes on
    the wire and time in plotly (the patterns comparison sent 282 kB of chart data per run before this).
    """
    parts = frame.groupby(group, sort=False) if group else [(None, frame)]
    out = []
    for _, part in parts:
        part = part.sort_values(order, kind="stable")
        if len(part) > points:
            part = part.iloc[np.unique(np.linspace(0, len(part) - 1, points).round().astype(int))]
        out.append(part)
    return pd.concat(out) if out else frame


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
                 x_title: str = "time per read (µs)", title: str | None = None, what: str = "") -> go.Figure:
    """Empirical CDF of ``value`` per ``group``: read p50/p95/p99 straight off the y axis. ``what`` names
    the things counted on the y axis ("reads", "writes", "questions"); by default it comes from
    ``x_title`` ("time per write (µs)" → writes)."""
    what = what or _counted(x_title)
    fig = px.ecdf(frame, x=value, color=group, log_x=log_x, labels={value: x_title})
    decades(fig)
    fig.update_layout(yaxis_title=f"share of {what} ≤ x", yaxis_tickformat=".0%", legend_title_text="",
                      height=300, margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title)
    return fig


def _counted(x_title: str) -> str:
    """ "time per write (µs)" → "writes"; anything else → "requests"."""
    words = x_title.split()
    if len(words) >= 3 and words[0] == "time" and words[1] == "per":
        return words[2] + "s"
    return "requests"


def list_lengths(lengths: pd.DataFrame, keep: int) -> go.Figure:
    """Length of a capped list after each push: it climbs, then LTRIM holds it at ``keep``."""
    fig = px.line(lengths, x="pushed", y="length", markers=True,
                  labels={"pushed": "messages pushed", "length": "LLEN after the push"})
    fig.add_hline(y=keep, line_dash="dot", annotation_text=f"LTRIM keeps {keep}")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def rate_limit_timeline(requests: pd.DataFrame, limit: int) -> go.Figure:
    """Each request at its (virtual) time: allowed or rejected, with the count in the window."""
    frame = requests.assign(outcome=requests.allowed.map({True: "allowed", False: "rejected"}))
    fig = px.scatter(frame, x="t_ms", y="in_window", color="outcome", symbol="outcome",
                     category_orders={"outcome": ["allowed", "rejected"]},
                     labels={"t_ms": "time (ms, virtual clock)", "in_window": "requests in the window"})
    fig.add_hline(y=limit, line_dash="dot", annotation_text=f"limit {limit}")
    fig.update_layout(height=300, legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def leaderboard(top: pd.DataFrame) -> go.Figure:
    """The top players, highest first."""
    fig = px.bar(top, x="score", y="player", orientation="h", text="score")
    fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=60 + 28 * max(len(top), 1),
                      margin=dict(l=10, r=10, t=10, b=10))
    return fig


def memory_growth(growth: pd.DataFrame) -> go.Figure:
    """MEMORY USAGE as a collection grows, one line per structure, the encoding as the marker symbol."""
    fig = px.line(growth, x="elements", y="bytes", color="structure", symbol="encoding", markers=True,
                  log_x=True, log_y=True, hover_data=["encoding", "bytes_per_element"],
                  labels={"elements": "elements in the collection", "bytes": "MEMORY USAGE (bytes)"})
    decades(fig)
    fig.update_layout(height=380, legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def decades(fig: go.Figure) -> go.Figure:
    """Log axes tick at whole decades with thousands separators (1, 10, 100, 1,000)."""
    for axis in ("xaxis", "yaxis"):
        if getattr(fig.layout, axis).type == "log":
            fig.update_layout({axis: dict(dtick=1, tickformat=",")})
    return fig


def compare_bars(frame: pd.DataFrame, x: str, y: str, color: str | None = None, *, y_title: str,
                 fraction: bool = False) -> go.Figure:
    """A small grouped bar chart for side-by-side comparisons (e.g. JSON string vs hash). Labels are
    rounded for reading; a ``fraction`` (0..1) reads as a percent on the bars and the axis."""
    whole = pd.api.types.is_integer_dtype(frame[y]) if len(frame) else True
    if fraction or whole:
        fig = px.bar(frame, x=x, y=y, color=color, barmode="group", text_auto=".1%" if fraction else ",d",
                     labels={y: y_title, x: ""})
    else:  # three significant digits without exponents: "1,782", "17.9", "0.00123" (d3's "g" writes 1.78e+3)
        fig = px.bar(frame, x=x, y=y, color=color, barmode="group", text=[readable(v, 3) for v in frame[y]],
                     labels={y: y_title, x: ""})
    if fraction:
        fig.update_yaxes(tickformat=".0%")
    fig.update_layout(height=260, legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def line_chart(frame: pd.DataFrame, x: str, y: str, color: str | None = None, *, x_title: str, y_title: str,
               log_x: bool = False, hline: float | None = None, hline_text: str = "", vline: float | None = None,
               vline_text: str = "", step: bool = False) -> go.Figure:
    """A line per ``color`` group, with optional reference lines (a target, a crossing point)."""
    fig = px.line(frame, x=x, y=y, color=color, log_x=log_x, markers=not step, line_shape="hv" if step else "linear",
                  labels={x: x_title, y: y_title})
    if hline is not None:
        fig.add_hline(y=hline, line_dash="dot", annotation_text=hline_text)
    if vline is not None:
        marker(fig, vline, vline_text, log_x=log_x)
    if log_x:
        decades(fig)
    fig.update_layout(height=300, legend_title_text="", margin=dict(l=10, r=10, t=30 if vline_text else 10, b=10))
    return fig


def marker(fig: go.Figure, x: float, text: str, *, log_x: bool = False) -> go.Figure:
    """A dashed vertical line at data value ``x`` with ``text`` above it. On a log axis the line (a shape)
    takes the data value and the label (an annotation) its log10: both then sit at ``x``."""
    fig.add_shape(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line_dash="dash",
                  line_width=1.5, line_color="grey")
    if text:
        fig.add_annotation(x=math.log10(x) if log_x and x > 0 else x, xref="x", y=1, yref="y domain", text=text,
                           showarrow=False, yanchor="bottom")
    return fig


def area_chart(frame: pd.DataFrame, x: str, y: str, color: str, *, x_title: str, y_title: str) -> go.Figure:
    """Stacked areas: how much each group contributes to a total over time (e.g. memory per data class)."""
    fig = px.area(frame, x=x, y=y, color=color, labels={x: x_title, y: y_title})
    fig.update_layout(height=300, legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def box_grid(cells: pd.DataFrame) -> go.Figure:
    """test-lru.rb's picture: one square per original key (oldest top-left), kept or evicted, one panel
    per sample size. ``cells`` has columns samples, key, kept."""
    width = max(1, math.ceil(math.sqrt(cells.key.max())))
    frame = cells.assign(x=(cells.key - 1) % width, y=(cells.key - 1) // width,
                         fate=cells.kept.map({True: "kept", False: "evicted"}))
    fig = px.scatter(frame, x="x", y="y", color="fate", facet_col="samples", symbol_sequence=["square"],
                     category_orders={"fate": ["kept", "evicted"]}, hover_data=["key"])
    fig.update_traces(marker_size=max(3, 260 // width))
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))  # "5 samples", not "samples=5 samples"
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(height=320, legend_title_text="", margin=dict(l=10, r=10, t=30, b=10))
    return fig


def race_swimlanes(log: pd.DataFrame, steps: list[tuple[str, str]]) -> go.Figure:
    """The delete-vs-set race as two lanes (reader, writer): one box per step, the ones run so far filled,
    the cache's content after each step as the hover text. ``log`` has columns step, client, action, cache."""
    done = len(log)
    rows = []
    for i, (client, action) in enumerate(steps, start=1):
        ran = i <= done
        detail = log.iloc[i - 1] if ran else None
        rows.append({"step": i, "client": client, "label": action.replace("_", " "),
                     "state": "done" if ran else ("next" if i == done + 1 else "to come"),
                     "cache after": detail["cache"] if ran else "", "database after": detail["database"] if ran else ""})
    frame = pd.DataFrame(rows)
    fig = px.scatter(frame, x="step", y="client", color="state", text="label", symbol_sequence=["square"],
                     category_orders={"client": ["reader", "writer"], "state": ["done", "next", "to come"]},
                     hover_data=["cache after", "database after"])
    fig.update_traces(marker_size=46, textposition="bottom center")
    fig.update_xaxes(dtick=1, range=[0.4, len(steps) + 0.6], title="step (time →)")
    fig.update_yaxes(title="", range=[1.7, -0.7])
    fig.update_layout(height=240, legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def outcome_grid(matrix: pd.DataFrame, index: str) -> go.Figure:
    """A table of verdicts (rows × strategies) coloured by outcome: stale, empty or fresh."""
    long = matrix.melt(id_vars=index, var_name="strategy", value_name="verdict")
    long["outcome"] = long.verdict.map(lambda v: "stale" if v.startswith("STALE") else
                                       ("empty" if v.startswith("empty") else "fresh"))
    fig = px.scatter(long, x="strategy", y=index, color="outcome", symbol_sequence=["square"],
                     category_orders={"outcome": ["stale", "empty", "fresh"], index: list(matrix[index])},
                     hover_data=["verdict"])
    fig.update_traces(marker_size=26)
    fig.update_yaxes(autorange="reversed", title="interleaving (R = reader, W = writer)")
    fig.update_xaxes(title="")
    fig.update_layout(height=120 + 32 * len(matrix), legend_title_text="", margin=dict(l=10, r=10, t=10, b=10))
    return fig


# --------------------------------------------------------------------------- semantic cache

_KIND_ORDER = ["paraphrase", "hard_negative", "unrelated"]


def similarity_histogram(scored: pd.DataFrame, threshold: float, seed_threshold: float = 0.95) -> go.Figure:
    """Cosine similarity of each dataset pair, by kind, with the chosen and the tutorial's thresholds marked."""
    fig = px.histogram(scored, x="pair_similarity", color="kind", barmode="overlay", nbins=60, opacity=0.65,
                       category_orders={"kind": _KIND_ORDER}, range_x=[-0.2, 1.0],
                       labels={"pair_similarity": "cosine similarity (1 = same direction)"})
    fig.add_vline(x=threshold, line_dash="solid", annotation_text=f"threshold {threshold:.2f}")
    fig.add_vline(x=seed_threshold, line_dash="dot", annotation_text=f"tutorial's {seed_threshold}",
                  annotation_position="top left")
    fig.update_layout(height=320, legend_title_text="", yaxis_title="questions", margin=dict(l=10, r=10, t=30, b=10))
    return fig


def threshold_sweep(swept: pd.DataFrame, marks: dict[str, float]) -> go.Figure:
    """Hit rate, precision of hits and F1 against the threshold, with named thresholds marked."""
    long = swept.melt(id_vars="threshold", value_vars=["hit_rate", "precision", "f1"], var_name="metric")
    long["metric"] = long.metric.map({"hit_rate": "hit rate", "precision": "precision of hits", "f1": "F1"})
    fig = px.line(long, x="threshold", y="value", color="metric",
                  labels={"threshold": "similarity threshold", "value": ""})
    for i, (name, x) in enumerate(marks.items()):
        fig.add_vline(x=x, line_dash="dot" if i else "dash", annotation_text=name,
                      annotation_position="top left" if i % 2 else "top right")
    fig.update_layout(height=320, legend_title_text="", yaxis_range=[0, 1.02], margin=dict(l=10, r=10, t=30, b=10))
    return fig


def savings_vs_wrong(economics: pd.DataFrame) -> go.Figure:
    """Money and waiting saved, and wrong answers served, per day against the threshold, one line per guard."""
    frame = economics.assign(setup=economics.guard.astype(str), saved_h=economics.saved_s / 3600)
    long = frame.melt(id_vars=["threshold", "setup"], value_vars=["saved_usd", "saved_h", "wrong_answers"],
                      var_name="what")
    long["what"] = long.what.map({"saved_usd": "$ saved per day (simulated prices)",
                                  "saved_h": "hours of waiting saved per day",
                                  "wrong_answers": "wrong answers served per day"})
    fig = px.line(long, x="threshold", y="value", color="setup", line_dash="setup", facet_col="what",
                  labels={"threshold": "similarity threshold", "value": ""})
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.update_layout(height=320, legend_title_text="", legend_orientation="h", legend_y=-0.25,
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def precision_vs_hit_rate(swept: pd.DataFrame) -> go.Figure:
    """Precision of hits against hit rate as the threshold moves, one line per guard: a guard that
    helps sits above the others at the same hit rate."""
    frame = swept[swept.hits > 0].sort_values("threshold")
    fig = px.line(frame, x="hit_rate", y="precision", color="guard", hover_data=["threshold"],
                  labels={"hit_rate": "hit rate (share of questions answered from the cache)",
                          "precision": "precision of hits (right answers / answers served)"})
    fig.update_layout(height=320, legend_title_text="", legend_orientation="h", legend_y=-0.3,
                      yaxis_range=[0, 1.02], margin=dict(l=10, r=10, t=10, b=10))
    return fig
