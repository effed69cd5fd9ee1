"""Redis Caching Lab — the router and frame: page config, the sidebar, navigation. No lab logic here."""
import streamlit as st

from ui.backend import current_backend, health_banner, sidebar
from ui.catalog import SECTIONS, available
from ui.preload import start_model_preload
from ui.startup import startup

st.set_page_config(page_title="Redis Caching Lab", page_icon=":material/bolt:", layout="wide")
startup()  # once per process: the instructor passcode, the worker pool
start_model_preload()  # the AI page's embedding model loads in the background (LAB_PRELOAD_MODEL=0: off)

sections: dict[str, list] = {}
for entry in available():
    sections.setdefault(entry.section, []).append(
        st.Page(entry.file, title=entry.title, icon=entry.icon, default=entry.file == "app_pages/home.py"))
pg = st.navigation({name: sections[name] for name in SECTIONS if name in sections})

backend = current_backend(instrumented=False)
sidebar(backend)
health_banner(backend)
pg.run()
