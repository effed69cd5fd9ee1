"""Every registered experiment runs headless: `python -m labs run <name> --json` prints its measured result."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labs import load_all

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(load_all()))
def test_experiment_runs_from_the_cli(name):
    out = subprocess.run([sys.executable, "-m", "labs", "run", name, "--backend", "sandbox", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["experiment"] == name and data["metrics"] and data["notes"]
