"""The semantic cache on a real vector store: FLAT vs HNSW (recall, latency, memory), an expired entry
leaving the index, and RedisVL's SemanticCache beside the lab's own with the code to copy."""
from __future__ import annotations

from typing import Any

import streamlit as st

from labs.core import charts
from labs.core.backends import Backend
from labs.core.experiment import Result
from labs.ai.semantic.redisvl_compare import app_code
from ui.ai.semantic import ready
from ui.recipes import recipe
from ui.results import table, tiles
from ui.widgets import lesson


def search_badge(backend: Backend) -> None:
    """Which vector search this backend has, or why it has none."""
    caps = backend.caps
    if caps.search:
        where = " (a cluster: the lab's cache searches in numpy there)" if caps.cluster else ""
        st.caption(f":material/travel_explore: {backend.label} has the query engine: **{caps.search}**{where}.")
    else:
        st.caption(f":material/search_off: No vector search on {backend.label}: {caps.search_note()}")


# --------------------------------------------------------------------------- FLAT vs HNSW

def index_tab(backend: Backend) -> None:
    lesson("ai_semantic_index")
    search_badge(backend)
    if ready() is None:
        return
    recipe("semantic-index", backend, extra=_index_view, metrics=False, columns=4,
           progress="Starting a private server with the search module…")
    st.divider()
    recipe("semantic-expiry", backend, extra=_expiry_view, metrics=False, columns=2)


def _index_view(result: Result, _params: Any) -> None:
    tiles(result, ["recall_at_1", "recall_at_5", "flat_top1_agreement", "hnsw_auto_recall_at_1",
                   "flat_p50_ms", "hnsw_p50_ms", "hnsw_auto_p50_ms", "numpy_p50_ms",
                   "flat_index_mb", "hnsw_index_mb", "hashes_mb", "load_s"])
    sweep = result.frames["ef_sweep"]
    recall = sweep.melt(id_vars="ef_runtime", value_vars=["recall@1", "recall@5"], var_name="measure",
                        value_name="recall")
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(recall, "ef_runtime", "recall", "measure", log_x=True,
                                        x_title="EF_RUNTIME (candidates kept per search)",
                                        y_title="HNSW recall against exact KNN"), width="stretch")
    right.plotly_chart(charts.latency_ecdf(result.frames["latency"], "ms", "index",
                                           x_title="search time per question (ms)"), width="stretch")
    table(sweep, result.measures)
    st.plotly_chart(charts.compare_bars(result.frames["memory"].round(2), "what", "memory_mb", y_title="memory (MB)"),
                    width="stretch")


def _expiry_view(result: Result, _params: Any) -> None:
    tiles(result, ["gone_from_index_s", "key_gone_s"])
    st.caption(f"Searched with the **{result.metrics['index']}**.")
    table(result.frames["timeline"], result.measures)


# --------------------------------------------------------------------------- RedisVL

def redisvl_tab(backend: Backend) -> None:
    lesson("ai_semantic_redisvl")
    search_badge(backend)
    if ready() is None:
        return
    recipe("semantic-redisvl", backend, extra=_redisvl_view, metrics=False, columns=2)


def _redisvl_view(result: Result, params: Any) -> None:
    m = result.metrics
    if not m.get("redisvl_available"):
        st.warning(result.notes[0], icon=":material/search_off:")
    tiles(result, ["same_outcome", "top1_numpy_vs_server", "top1_server_vs_redisvl",
                   "max_distance_gap", "optimizer_distance", "lab_threshold", "lab_hits", "redisvl_hits"])
    st.markdown("**Two ways to choose the threshold**, each scored on the test split (never used to choose):")
    table(result.frames["thresholds"], result.measures)
    if "optimizer" in result.frames:
        st.plotly_chart(charts.line_chart(result.frames["optimizer"], "distance", "mean_f1",
                                          x_title="distance threshold (RedisVL)", y_title="mean per-question F1 "
                                          "(validation)", vline=m["optimizer_distance"], vline_text="chosen"),
                        width="stretch")
    lookups = result.frames["lookups"]
    if "same" in lookups:
        differ = lookups[~lookups.same]
        st.markdown(f"**{len(lookups) - len(differ)} of {len(lookups)}** test questions got the same answer from both "
                    "caches" + (":" if len(differ) else "."))
        if len(differ):
            table(differ, result.measures)
    with st.expander("Every lookup, side by side"):
        table(lookups, result.measures)
    distance = m.get("optimizer_distance", params.distance_threshold if params is not None else 0.3)
    st.markdown(f"**The code for your app** — RedisVL at the optimizer's threshold, distance {distance:.2f} "
                f"(similarity {1 - distance:.2f}):")
    st.code(app_code(distance, getattr(params, "ttl_s", 600)), language="python")
