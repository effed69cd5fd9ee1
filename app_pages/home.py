"""Home: what the course teaches and in which order, your backend, and a first measured experiment."""
import streamlit as st

from labs.core import charts
from labs.core.backends import BackendError
from labs.home.first_read import FirstReadParams, run
from ui.backend import current_backend
from ui.catalog import COURSE, SECTIONS
from ui.resources import learner_db, seed_notice
from ui.session import command_log, namespace
from ui.widgets import command_log as show_command_log
from ui.results import earlier_run
from ui.widgets import form_values, lesson, notes, params_form

st.title("Redis Caching Lab")
st.caption("Learn Redis caching by experiment: change a parameter, run it, read real numbers.")
lesson("home_intro")

backend = current_backend()

# ---------------------------------------------------------------- the course map
st.header("The course", divider="gray")
cols = st.columns(3)
for i, section in enumerate(s for s in SECTIONS if s != "Start"):
    with cols[i % 3].container(border=True):
        st.markdown(f"**{i + 1}. {section}**")
        for entry in (e for e in COURSE if e.section == section):
            if entry.exists:
                st.page_link(entry.file, label=entry.title, icon=entry.icon)
            else:
                st.markdown(f"{entry.title} · *coming soon*")
            st.caption(entry.teaches)

# ---------------------------------------------------------------- this session's backend
st.header("Your backend", divider="gray")
caps = backend.caps
c1, c2, c3 = st.columns(3)
c1.metric("Backend", backend.kind)
c2.metric("Server", caps.server_label)
c3.metric("INFO / MEMORY USAGE / OBJECT", " / ".join("yes" if x else "no"
                                                      for x in (caps.info, caps.memory_usage, caps.object_cmd)))
for line in caps.limitations():
    st.caption(f":material/block: {line}")
with st.expander("The three backends"):
    lesson("home_backends")

# ---------------------------------------------------------------- the first experiment
st.header("Your first experiment: a miss, then a hit", divider="gray")
lesson("home_first_experiment")
notice = seed_notice()
if notice:
    st.info(notice, icon=":material/database:")

params, submitted = params_form(FirstReadParams, key="first_read", submit="Run the experiment")
if params is not None and (submitted or "first_read_result" not in st.session_state):
    with st.spinner("Reading…"):
        try:
            st.session_state["first_read_result"] = run(params, backend=backend, db=learner_db(), ns=namespace())
            st.session_state["first_read_params"] = params
        except BackendError as exc:  # e.g. a learner limit on a shared server: say which, and what to do
            st.error(f"{exc.message} {exc.hint}".strip(), icon=":material/block:")
result = st.session_state.get("first_read_result")
if result is not None:
    # a result from other values than the form shows is dimmed and says which values it came from
    with earlier_run(FirstReadParams, st.session_state.get("first_read_params"),
                     params if params is not None else form_values("first_read"), "first_read__earlier"):
        m = result.metrics
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("First read (miss), median", f"{m['miss_median_us'] / 1000:.2f} ms",
                  help="GET + database (measured SQLite + simulated network) + SET")
        c2.metric("Second read (hit), median", f"{m['hit_median_us'] / 1000:.3f} ms", help="One GET, measured")
        c3.metric("No cache at all, median", f"{m['db_only_median_us'] / 1000:.3f} ms",
                  help="The same read straight from the database: measured SQLite + simulated network")
        c4.metric("Database queries", m["db_queries"], help="One per miss; hits never touch the database")
        gain = m["hit_vs_db_only"]
        if gain == gain:  # not NaN: at least one read hit
            verdict = (f"A hit is **{gain:.1f}× faster** than reading the database directly." if gain >= 1 else
                       f"A hit is **{1 / gain:.1f}× slower** than reading the database directly: here the cache "
                       "does not pay.")
            st.markdown(verdict)
        reads = result.frames["reads"]
        left, right = st.columns(2)
        with left:
            st.markdown("**Where the time goes** (median of each step)")
            st.plotly_chart(charts.latency_breakdown(reads), width="stretch")
        with right:
            st.markdown("**Every read** (cumulative distribution, log scale)")
            st.plotly_chart(charts.latency_ecdf(reads, "total_us", "outcome"), width="stretch")
        st.markdown(f"Measured only, without the simulated network: a Redis GET took "
                    f"**{m['redis_get_median_us']:.0f} µs** and the local SQLite lookup "
                    f"**{m['db_real_median_us']:.0f} µs** (medians).")
        lesson("home_crossover")
        notes(result)
        st.download_button("Download the reads (CSV)", reads.to_csv(index=False), "first_read.csv", "text/csv")
show_command_log(command_log())
