"""What every structures recipe shares: the lab's namespace, and the recipe runner of :mod:`labs.core.recipe`
bound to it."""
from __future__ import annotations

from typing import Any

from labs.core.metrics import CommandLog
from labs.core.namespace import Namespace, new_session_id
from labs.core.recipe import run_recipe as _run_recipe

LAB = "structures"


def lab_namespace(ns: Namespace | None) -> Namespace:
    """The learner's namespace for this lab (a fresh one for a headless run)."""
    return (ns or Namespace(new_session_id())).for_lab(LAB)


def run_recipe(backend: Any, ns: Namespace | None, log: CommandLog | None, body: Any) -> Any:
    """Run a structures recipe (see :func:`labs.core.recipe.run_recipe`) in this lab's namespace."""
    return _run_recipe(backend, ns, log, body, lab=LAB)
