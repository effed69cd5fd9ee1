"""Near cache: a cache inside the application process, kept correct by the server (CLIENT TRACKING), and
keyspace notifications as the other invalidation channel."""
import streamlit as st

from ui import nearcache as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("Near cache")
st.caption("A cache inside your application, told by the server when a key changes: how fast, how fresh, "
           "what it costs, and how it fails.")
lesson("nearcache_intro")
backend = current_backend()

TABS = {"Local vs Redis vs database": ("nearcache_latency", "nearcache-latency", parts.latency, 4),
        "The stale window": ("nearcache_stale", "nearcache-stale-window", parts.stale_window, 1),
        "Invalidation storm": ("nearcache_storm", "nearcache-storm", parts.storm, 3),
        "Tracking's memory": ("nearcache_memory", "nearcache-tracking-memory", parts.memory, 3),
        "Reconnect": ("nearcache_reconnect", "nearcache-reconnect", parts.reconnect, 4),
        "Keyspace notifications": ("nearcache_notifications", "nearcache-notifications", parts.notifications, 5)}
for tab, (text, name, extra, columns) in zip(st.tabs(list(TABS)), TABS.values()):
    with tab:
        lesson(text)
        recipe(name, backend, extra=extra, columns=columns)
show_command_log(command_log())
