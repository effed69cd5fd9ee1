"""TTL as a cost lever: leasing memory, how Redis expires keys, and what it costs per month."""
import streamlit as st

from ui import ttl as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("TTL as a cost lever")
st.caption("RAM is expensive: a TTL is how you stop paying for data nobody reads any more.")
lesson("ttl_intro")
backend = current_backend()

st.header("Plan your leases", divider="gray")
lesson("ttl_planner")
lesson("ttl_cost")
parts.lease_planner()

st.header("The memory model", divider="gray")
lesson("ttl_memory")
recipe("memory-calibration", backend, extra=parts.calibration, columns=4)

st.header("Synchronized expiry and jitter", divider="gray")
lesson("ttl_jitter")
recipe("expiry-jitter", backend, extra=parts.jitter, columns=4)
parts.jitter_for_real(backend)

st.header("How Redis expires keys", divider="gray")
lesson("ttl_expiry")
recipe("active-expiry", backend, extra=parts.expiry_sim, columns=4,
       show=("mean_fraction_stale", "max_fraction_stale", "predicted_fraction_stale", "max_expired_present",
             "deleted_active", "deleted_passive", "slow_cycles", "fast_cycles"))
recipe("active-expiry-real", backend, extra=parts.expiry_real, columns=4,
       show=("written", "expired_keys_end", "keys_in_db_end", "max_keys_in_db_real", "max_keys_in_db_sim",
             "max_keys_ratio_real_to_sim", "max_used_memory", "expired_stale_perc_end"))

st.header("TTL commands, live", divider="gray")
lesson("ttl_mechanics")
recipe("ttl-mechanics", backend, extra=parts.mechanics_steps,
       show=("options_supported", "hexpire_supported", "hash_ttl_s", "httl_f", "ttl_at_end"))
show_command_log(command_log())
