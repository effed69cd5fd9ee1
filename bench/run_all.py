"""Run every benchmark in bench/ (``make bench``); each prints its own figures as ratios from one run."""
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

failed = []
for script in sorted(HERE.glob("bench_*.py")):
    print(f"\n== {script.stem} ==", flush=True)
    sys.argv = [str(script)]  # each script's defaults are sized for `make bench` (bench_load: 30 learners, 30 s)
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:  # a script that ends with sys.exit(status) must not end the others
        if exc.code not in (None, 0):
            failed.append(script.stem)
if failed:
    print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1)
