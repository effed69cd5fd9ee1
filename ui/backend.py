"""Which backend this learner's session runs on, the sidebar that shows and switches it, and Reset.

The sidebar always says which backend, which server and version (never a password), and what it
cannot show. A failed switch keeps the previous backend and says why, once, where the switch is; a
server that stops answering is reported on every page with a way out (restart the embedded server, or
use the sandbox). "Reset my lab" asks first, saying how many keys it would delete.
"""
from __future__ import annotations

import dataclasses
import os

import streamlit as st

from labs.core.backends import KINDS, Backend, BackendError, for_learner, redact_url
from labs.core.metrics import instrument
from labs.core.namespace import Namespace, learner_keys, reset
from ui import resources
from ui.session import command_log, learner_guard, namespace, resume_link

KIND_LABELS = {"embedded": "Embedded — a private real server",
               "sandbox": "Sandbox — fakeredis in this process",
               "live": "Live — your Redis (URL)"}
BADGE_COLORS = {"embedded": "green", "sandbox": "orange", "live": "blue"}


def default_kind() -> str:
    forced = os.environ.get("LAB_BACKEND", "").lower()
    if forced in KINDS:
        return forced
    return "live" if resources.configured_url() else "embedded"


def _open(kind: str, url: str) -> Backend:
    """Open ``kind`` or raise BackendError; the embedded kind falls back inside current_backend()."""
    if kind == "live":
        return resources.live(url)
    if kind == "sandbox":
        return resources.sandbox()
    backend, why = resources.embedded()
    if backend is None:
        raise BackendError(f"The embedded server could not start: {why}", "Using the sandbox instead.",
                           reason="embedded")
    return backend


def current_backend(*, instrumented: bool = True) -> Backend:
    """This learner's backend; by default its client passes the learner's limits on a shared server
    (``labs.core.safety``) and logs into the learner's command log (what a lab sends). The frame's health
    check and Reset use the plain client: they do not clutter that log, and Reset works when a limit bites."""
    state = st.session_state
    kind = state.setdefault("backend_kind", default_kind())
    url = state.setdefault("live_url", resources.configured_url())
    try:
        backend = _open(kind, url)
    except BackendError as exc:
        state["backend_notice"] = f"{exc.message} {exc.hint}".strip()
        state["backend_kind"] = "sandbox"
        backend = resources.sandbox()
    if not instrumented:
        return backend
    backend = for_learner(backend, learner_guard())
    return dataclasses.replace(backend, client=instrument(backend.client, command_log()))


def switch_backend(kind: str, url: str) -> None:
    known = st.session_state.get("live_url", "")
    if known and url.strip() == redact_url(known):  # the form shows the configured URL redacted: keep it
        url = known
    try:
        _open(kind, url.strip())
    except BackendError as exc:
        st.session_state["switch_error"] = f"{exc.message} {exc.hint}".strip()
        return
    st.session_state.update(backend_kind=kind, live_url=url.strip(), backend_notice="", switch_error="")


def _restart_embedded() -> None:
    resources.embedded.clear()  # on_release stops the old server
    st.session_state.update(backend_kind="embedded", backend_notice="")


def health_banner(backend: Backend) -> None:
    """A clear message, with a way out, when the server stopped answering (never a traceback)."""
    problem = backend.check()
    if problem is None:
        return
    with st.container(border=True):
        st.error(f"**The {backend.kind} server is not answering.** {problem} "
                 "Cache-aside reads fall back to the database until it is back.", icon=":material/cloud_off:")
        cols = st.columns(2)
        if backend.kind == "embedded":
            cols[0].button("Restart the embedded server", on_click=_restart_embedded, key="restart_embedded")
        cols[1].button("Use the sandbox", on_click=switch_backend, args=("sandbox", ""), key="fallback_sandbox")


def sidebar(backend: Backend) -> None:
    caps = backend.caps
    with st.sidebar:
        st.markdown("**Backend**")
        st.badge(backend.kind, color=BADGE_COLORS.get(backend.kind, "gray"), icon=":material/dns:")
        st.caption(f"{caps.server_label} · {backend.label}")
        notice = st.session_state.get("backend_notice")
        if notice:
            st.warning(notice, icon=":material/info:")
        limits = caps.limitations()
        if limits:
            with st.expander("What this backend cannot show"):
                st.markdown("\n".join(f"- {line}" for line in limits))
        with st.expander("Switch backend"):
            with st.form("switch_backend", border=False):
                kind = st.radio("Run Redis on", KINDS, format_func=KIND_LABELS.get,
                                index=KINDS.index(backend.kind))
                # never the password itself, not even in a password field (its eye icon would show it)
                url = st.text_input("Redis URL (for live)", value=redact_url(st.session_state.get("live_url", "")),
                                    type="password", placeholder="redis://user:password@host:6379/0",
                                    help="redis:// or rediss:// (TLS); a cluster node works too.")
                if st.form_submit_button("Connect"):
                    switch_backend(kind, url)
                    st.rerun()
            error = st.session_state.pop("switch_error", "")  # shown once: the next page is not still red
            if error:
                st.error(error, icon=":material/error:")
        ns = namespace()
        st.caption(f"Your keys: `{ns.learner_prefix}…`, each with a TTL.")
        if st.session_state.get("resume_notice"):
            st.warning(st.session_state["resume_notice"], icon=":material/link_off:")
        with st.expander("Continue on another device"):
            st.caption("This link opens your keys (and progress) in another browser, or on another server "
                       "of this workshop. Keep it to yourself: whoever has it works in your namespace.")
            st.markdown(f"`{resume_link()}`")  # not st.code: pages' tests take the last code block as theirs
        reset_panel(backend, ns)


def _ask_reset() -> None:
    st.session_state["reset_confirm"] = True


def _do_reset(client: object, ns: Namespace) -> None:
    """Button callback: delete the learner's keys, and leave the outcome for the sidebar to say."""
    st.session_state.pop("reset_confirm", None)
    try:
        removed = reset(client, ns)
        st.session_state["reset_message"] = (f"Deleted {removed:,} of your keys.", ":material/delete:")
    except Exception as exc:  # a dead server: say so, lose nothing
        st.session_state["reset_message"] = (f"Could not reset: {exc}", ":material/error:")


def reset_panel(backend: Backend, ns: Namespace) -> None:
    """ "Reset my lab", then a confirmation that says how many keys would go (SCAN, never KEYS)."""
    message = st.session_state.pop("reset_message", None)
    if message:
        st.toast(message[0], icon=message[1])
    if not st.session_state.get("reset_confirm"):
        st.button("Reset my lab", icon=":material/restart_alt:", help="Delete only your keys (SCAN + UNLINK).",
                  on_click=_ask_reset)
        return
    try:
        count = sum(1 for key in learner_keys(backend.client, ns) if ns.owns(key))
        what = f"all {count:,} of your keys" if count != 1 else "your 1 key"
    except Exception:  # a dead server: the reset will say so
        what = "all your keys"
    with st.container(border=True):
        st.warning(f"Delete {what}? Everything your labs wrote goes; this cannot be undone.",
                   icon=":material/warning:")
        yes, no = st.columns(2)
        yes.button("Yes, delete", type="primary", key="reset_yes", on_click=_do_reset, args=(backend.client, ns))
        no.button("Cancel", key="reset_no", on_click=st.session_state.pop, args=("reset_confirm", None))


