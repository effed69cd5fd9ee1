"""Headless runner: ``python -m labs list`` and ``python -m labs run <experiment> --set key=value --json``.

The same experiments the pages run, for scripts, notebooks, CI and instructors preparing a workshop.
Errors (an unknown experiment, a bad ``--set``, an unreachable server) print one clear line to stderr and
exit with status 2 — never a traceback. A message names a parameter as the page's form does, followed by
the ``--set`` name to type. Results print each number with its label and unit, as the page shows them.
"""
from __future__ import annotations

import argparse
import json
import sys

from labs.core.experiment import knob_label, knobs, params_from_strings

from labs import load_all


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labs", description="Run Redis Caching Lab experiments headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments and their parameters")
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name", help="experiment name (see 'list')")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="set a parameter")
    run.add_argument("--backend", choices=("default", "embedded", "sandbox", "live"), default="default",
                     help="where Redis runs (default: embedded if a server binary starts, else sandbox)")
    run.add_argument("--url", help="Redis URL for --backend live (default: $REDIS_URL)")
    run.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    run.add_argument("--csv", metavar="FOLDER", help="also write each result table as CSV into FOLDER")
    return parser


def _list() -> int:
    for exp in load_all().values():
        print(f"{exp.name} — {exp.title}: {exp.summary}")
        for k in knobs(exp.params_cls):
            rng = f" [{k['min']}..{k['max']}]" if k.get("min") is not None else ""
            choices = f" one of: {' | '.join(k['choices'])}" if k.get("choices") else ""
            unit = f" {k['unit']}" if k.get("unit") else ""
            print(f"    {k['name']}={k['default']!r}{unit}{rng}{choices}  {knob_label(k)}: {k['help']}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from labs.core.backends import BackendError, open_backend, open_default

    registry = load_all()
    if args.name not in registry:
        raise ValueError(f"Unknown experiment '{args.name}'. Known: {', '.join(registry)}.")
    exp = registry[args.name]
    values = {}
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"--set takes KEY=VALUE, got '{item}'.")
        key, value = item.split("=", 1)
        values[key.strip()] = value
    try:
        params = params_from_strings(exp.params_cls, values)
    except ValueError as exc:
        raise ValueError(_with_set_names(str(exc), exp.params_cls)) from None
    try:
        backend = open_default() if args.backend == "default" else open_backend(args.backend, url=args.url)
    except BackendError as exc:
        raise ValueError(str(exc)) from None
    try:
        result = exp.run(params, backend=backend)
    finally:
        backend.close()
    if args.csv:
        for path in result.write_csv(args.csv):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        json.dump({"experiment": exp.name, "params": params.__dict__, **result.to_json()}, sys.stdout, indent=2)
        print()
    else:
        print(exp.title)
        for key, value in result.metrics.items():
            m = result.describe(key)
            print(f"  {m.label if m else key:44} {m.format(value) if m else value}")
        for note in result.notes:
            print(f"  note: {note}")
    return 0


def _with_set_names(message: str, params_cls: type) -> str:
    """``message`` plus the ``--set`` name of each parameter it names in the form's words."""
    named = [f"--set {k['name']}" for k in knobs(params_cls) if knob_label(k).lower() in message.lower()]
    return f"{message} ({', '.join(named)})" if named else message


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _list() if args.command == "list" else _run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
