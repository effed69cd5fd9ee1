"""Workshop: your challenges and progress, a place to try any challenge, and the instructor dashboard."""
import streamlit as st

from labs.workshop import challenges as ch
from labs import load_all
from ui import workshop as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.widgets import lesson

st.title("Workshop")
st.caption("Challenges checked on your own runs, a leaderboard without accounts, and tools for instructors.")
parts.replica_note()
lesson("workshop_intro")
backend = current_backend()
store = parts.progress_store()

tabs = st.tabs(["My progress", "Try a challenge", "Instructor"])
with tabs[1]:  # filled first so a pass in this run already shows under "My progress"
    lesson("workshop_challenges")
    picked = ch.get(st.selectbox("Challenge", [c.id for c in ch.CHALLENGES], key="workshop_pick",
                                 format_func=lambda cid: f"{ch.get(cid).title} ({load_all()[ch.get(cid).experiment].title})"))
    st.markdown(f"**Goal:** {picked.goal}")
    if picked.constraints:
        st.markdown("**Rules:** " + "; ".join(picked.rules_text()) + ".")
    recipe(picked.experiment, backend, columns=4, key=f"workshop_{picked.experiment}")  # its own form: no leak
with tabs[0]:
    parts.name_form(store)
    parts.my_progress(store)
with tabs[2]:
    lesson("workshop_instructor")
    if parts.instructor_gate():
        minutes = st.number_input("Active within the last (minutes)", min_value=1, max_value=240, value=10,
                                  key="workshop_active_minutes")
        parts.dashboard(store, int(minutes))
        st.subheader("Share a preset")
        parts.link_builder()
        parts.end_workshop(store)
