"""TTL page pieces: the lease planner (an editable table of data classes and prices), and the charts of
the jitter, expiry and calibration experiments. Numbers and headers read through the experiments'
measures; a planner result from other data classes, prices or settings is dimmed and labelled."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd
import streamlit as st

from labs.core import charts
from labs.core.experiment import Result
from labs.core.measures import measure
from labs.core.servers import ServerUnavailable
from labs.ttl.cost import PLANNER_MEASURES, PRESETS, LeaseParams, load_prices, parse_classes
from labs.ttl.jitter import write_keys
from labs.ttl.memory import CALIBRATION_MEASURES, measure_plan
from ui.results import column_config, earlier_run, result_table, show_result_numbers, table
from ui.runner import simulate
from ui.session import namespace
from ui.widgets import form_values, notes, params_form

CLASS_COLUMNS = {"name": measure("Data class", "text"), "keys_per_s": measure("New keys", "keys/s"),
                 "key_bytes": measure("Key name", "bytes"), "value_bytes": measure("Value", "bytes"),
                 "ttl_s": measure("TTL (0 = none)", "s"), "reads_per_key": measure("Reads per key", "reads"),
                 "useful_life_s": measure("Read for", "s", help="How long after it is written the data is still read.")}
MEASURED_COLUMNS = {**CALIBRATION_MEASURES, "class": measure("Data class", "text"),
                    "keys_written": measure("Keys written", "keys")}
FORM_KNOBS = ("horizon_h", "step_min", "reserved_fraction", "maxmemory_gb", "seed")


def lease_planner() -> None:
    st.markdown("**Your data classes** — edit a cell, add or delete rows (TTL 0 = no TTL).")
    classes = st.data_editor(pd.DataFrame([dataclasses.asdict(c) for c in PRESETS]), num_rows="dynamic",
                             key="planner_classes", width="stretch",
                             column_config=column_config(CLASS_COLUMNS, CLASS_COLUMNS))
    with st.expander("Node prices (illustrative, dated — edit to match your provider)"):
        prices = st.data_editor(load_prices(), num_rows="dynamic", key="planner_prices", width="stretch",
                                column_config=column_config(load_prices().columns, PLANNER_MEASURES))
    params, submitted = params_form(LeaseParams, key="planner", columns=5, submit="Run: Plan your leases",
                                    only=FORM_KNOBS)
    rows = json.dumps(classes.dropna(how="all").to_dict(orient="records"))
    inputs = (rows, prices.dropna(how="all").to_json())
    if submitted and params is not None:
        try:
            params = dataclasses.replace(params, classes=rows)
            st.session_state["planner_result"] = simulate("lease-planner", params, prices=prices.dropna(how="all"))
            st.session_state["planner_run"] = (params, inputs)
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
    result: Result | None = st.session_state.get("planner_result")
    if result is None:
        return
    ran, ran_inputs = st.session_state.get("planner_run", (params, inputs))
    now = dataclasses.replace(params, classes=ran.classes) if params is not None else form_values("planner")
    other = "" if ran_inputs == inputs else ("data classes" if ran_inputs[0] != inputs[0] else "node prices")
    with earlier_run(LeaseParams, ran, now, "planner__earlier", other=other):
        _planner_result(result)
    measure_for_real(classes)


def _planner_result(result: Result) -> None:
    show_result_numbers(result)
    st.markdown(f"Node with TTLs: **{result.metrics['node_with_ttls']}** · without TTLs: "
                f"**{result.metrics['node_without_ttls']}**")
    timeline = result.frames["timeline"].assign(GB=lambda f: f.bytes / 1e9)
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(timeline, "t_h", "keys", "class", x_title="hours (simulated)",
                                        y_title="live keys", step=True), width="stretch")
    right.plotly_chart(charts.area_chart(timeline, "t_h", "GB", "class", x_title="hours (simulated)",
                                         y_title="memory (GB)"), width="stretch")
    totals = result.frames["totals"].assign(GB=lambda f: f.bytes / 1e9)
    st.plotly_chart(charts.line_chart(totals, "t_h", "GB", "data", x_title="hours (simulated)",
                                      y_title="total memory (GB)", step=True), width="stretch")
    result_table(result, "classes")
    with st.expander("Which nodes fit"):
        result_table(result, "nodes")
    notes(result)


def measure_for_real(classes: pd.DataFrame) -> None:
    """Write each class's keys at their planned sizes to a private server and compare with the model."""
    if st.button("Measure this plan for real (on a private server)", key="planner_measure"):
        try:
            rows = parse_classes(json.dumps(classes.dropna(how="all").to_dict(orient="records")))
            with st.spinner("Writing keys to a private server…"):
                st.session_state["planner_measured"] = measure_plan(rows)
        except (ValueError, ServerUnavailable) as exc:
            st.error(str(exc), icon=":material/error:")
    measured = st.session_state.get("planner_measured")
    if measured is not None:
        table(measured, MEASURED_COLUMNS)
        st.caption("Measured: used_memory growth per key on a private server the lab started and stopped. "
                   "Modelled: the memory model the planner uses.")


def calibration(result: Result, _params: Any) -> None:
    result_table(result, "calibration")


def jitter(result: Result, _params: Any) -> None:
    frame = result.frames["expirations"]
    st.plotly_chart(charts.line_chart(frame, "second", "expirations", "strategy", x_title="seconds after the write",
                                      y_title="expirations per second", step=True), width="stretch")


def jitter_for_real(backend: Any) -> None:
    if st.button("Do it for real: write 1,000 keys with jittered TTLs", key="jitter_real"):
        hist = write_keys(backend.client, namespace("ttl-cost"), keys=1000, ttl_s=60, jitter_s=120)
        st.session_state["jitter_hist"] = hist
    hist = st.session_state.get("jitter_hist")
    if hist is not None:
        st.plotly_chart(charts.compare_bars(hist, "ttl_s", "keys", y_title="keys (TTL read back)"), width="stretch")


def expiry_sim(result: Result, _params: Any) -> None:
    frame = result.frames["timeline"].melt(id_vars="t_s", value_vars=["live", "expired_present"],
                                           var_name="keys", value_name="count")
    frame["keys"] = frame["keys"].map({"live": "live", "expired_present": "expired, still in memory"})
    st.plotly_chart(charts.line_chart(frame, "t_s", "count", "keys", x_title="seconds (simulated)",
                                      y_title="keys in memory"), width="stretch")


def expiry_real(result: Result, _params: Any) -> None:
    frame = result.frames["comparison"]
    st.plotly_chart(charts.line_chart(frame, "t_s", "keys_in_db", "source", x_title="seconds",
                                      y_title="keys in the database (DBSIZE)"), width="stretch")


def mechanics_steps(result: Result, _params: Any) -> None:
    result_table(result, "steps", columns=["command", "reply", "ttl_s", "pttl_ms", "supported", "redis.io says"])
