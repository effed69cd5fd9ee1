"""Eviction page pieces: charts for the policy comparison, the miss-ratio curve, the test-lru grid,
the LFU counter playground, LRU against LRM, and the real-server replay beside the simulator. Tables read
through the experiments' measures (headers in words with units); hit ratios on bars read as percents."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import streamlit as st

from labs.core import charts
from labs.eviction import fast
from labs.eviction.experiments import workload_keys
from labs.core.experiment import Result
from ui.results import result_table


def comparison(result: Result, _params: Any) -> None:
    summary = result.frames["summary"]
    st.plotly_chart(charts.compare_bars(summary, "policy", "hit_ratio", y_title="hit ratio (simulated)",
                                        fraction=True), width="stretch")
    if "opt" in set(summary.policy):
        st.caption("`opt` (Belady) knows the future: its hit ratio is the best any policy can reach on this trace.")
    result_table(result, "summary")
    over_time = result.frames["over_time"]
    if not over_time.empty:
        st.markdown("**Hit ratio over the trace** (moving window: warm-up, and the shift if the hot set moves)")
        st.plotly_chart(charts.line_chart(over_time, "request", "hit_ratio", "policy", x_title="request",
                                          y_title="hit ratio"), width="stretch")


@st.cache_data(max_entries=4, show_spinner=False)
def _trace(workload: str, requests: int, keys: int, alpha: float, seed: int) -> np.ndarray:
    return np.asarray(workload_keys(workload, requests, keys, alpha, seed))


def curve(result: Result, params: Any) -> None:
    """The curve, plus a maxmemory slider that re-simulates every policy at that exact size as it moves."""
    mrc = result.frames["mrc"]
    if params is None or params.keys < 4:
        size = None
    else:
        low, high = int(mrc.capacity.min()), int(mrc.capacity.max())
        size = st.slider("maxmemory (keys) — every policy is re-simulated at this size as you drag",
                         min_value=low, max_value=high, value=int(mrc.capacity.median()), key="mrc_size")
    fig = charts.line_chart(mrc, "capacity", "miss_ratio", "policy", log_x=True, x_title="cache size (keys)",
                            y_title="miss ratio (simulated)", vline=size,
                            vline_text=f"{size:,} keys" if size else "")
    st.plotly_chart(fig, width="stretch")
    if size is None:
        return
    keys = _trace(params.workload, params.requests, params.keys, params.zipf_alpha, params.seed)
    start = time.perf_counter()
    here = fast.miss_ratio_curve(sorted(set(mrc.policy), key=list(mrc.policy).index), keys, [size],
                                 times=np.arange(len(keys)) * 0.01, samples=params.samples, seed=params.seed)
    took = time.perf_counter() - start
    st.plotly_chart(charts.compare_bars(here, "policy", "miss_ratio", y_title=f"miss ratio at {size:,} keys",
                                        fraction=True), width="stretch")
    st.caption(f"{len(here)} policies × {len(keys):,} requests re-simulated in {took * 1000:,.0f} ms (measured).")


def grid(result: Result, _params: Any) -> None:
    st.plotly_chart(charts.box_grid(result.frames["cells"]), width="stretch")
    result_table(result, "grid")


def counter(result: Result, _params: Any) -> None:
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(result.frames["growth"], "hits", "counter", "factor", log_x=True,
                                        x_title="hits", y_title="LFU counter (0-255)"), width="stretch")
    right.plotly_chart(charts.line_chart(result.frames["decay"], "idle_minutes", "counter",
                                         x_title="idle minutes", y_title="counter after 100,000 hits",
                                         step=True), width="stretch")


def lrm(result: Result, _params: Any) -> None:
    """Hit ratio per kind of key, and how long ago what each policy kept was last written."""
    summary = result.frames["summary"]
    by_kind = summary.melt(id_vars="policy", value_vars=["read_only_hit_ratio", "rewritten_hit_ratio"],
                           var_name="kind", value_name="read_hit_ratio")
    by_kind["kind"] = by_kind.kind.map({"read_only_hit_ratio": "reads of read-only keys",
                                        "rewritten_hit_ratio": "reads of rewritten keys"})
    left, right = st.columns(2)
    left.plotly_chart(charts.compare_bars(by_kind.round({"read_hit_ratio": 3}), "policy", "read_hit_ratio", "kind",
                                          y_title="read hit ratio (simulated)"), width="stretch")
    ages = charts.latency_ecdf(result.frames["ages"], "age_s", "policy", log_x=True,
                               x_title="age since last write of a cached key (s, simulated)")
    ages.update_layout(yaxis_title="share of cached keys ≤ x")
    right.plotly_chart(ages, width="stretch")
    st.caption("Right: for each policy, the share of the keys it still holds at the end (y) that were last "
               "written at most x seconds before (a line further left keeps fresher data).")
    result_table(result, "summary")


def fidelity(result: Result, _params: Any) -> None:
    """Simulated beside measured hit ratio per configuration, and the full comparison table."""
    frame = result.frames["fidelity"]
    long = frame.melt(id_vars="config", value_vars=["simulated_hit_ratio", "real_hit_ratio"],
                      var_name="source", value_name="hit_ratio")
    long["source"] = long.source.map({"simulated_hit_ratio": "simulated", "real_hit_ratio": "real server (measured)"})
    st.plotly_chart(charts.compare_bars(long, "config", "hit_ratio", "source", y_title="hit ratio", fraction=True),
                    width="stretch")
    st.caption("Gaps are in **percentage points (pp)**: the real hit ratio minus the simulated one, e.g. "
               "65.85 % − 65.55 % = +0.30 pp. A few tenths of a point is the server's unseedable randomness.")
    result_table(result, "fidelity")
