"""The learner's session: a random id (the key namespace), a command log, per-session state."""
from __future__ import annotations

import streamlit as st

from labs.metrics import CommandLog
from labs.namespace import Namespace, new_session_id


def session_id() -> str:
    return st.session_state.setdefault("lab_session_id", new_session_id())


def namespace(lab: str = "home") -> Namespace:
    """This learner's key prefix for ``lab``: ``lab:{<session-id>}:<lab>:…``."""
    return Namespace(session_id(), lab)


def command_log() -> CommandLog:
    """The last commands this learner's labs sent ("what Redis saw")."""
    return st.session_state.setdefault("lab_command_log", CommandLog(maxlen=200))
