"""Helpers shared by the test layers (importable as ``tests.support`` from the repository root)."""
from __future__ import annotations

import os

import pytest


def skip_or_fail(require_env: str, reason: str) -> None:
    """Skip — unless ``require_env`` is set to 1 (CI sets it), when a missing prerequisite is a failure."""
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{reason} ({require_env}=1, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)
