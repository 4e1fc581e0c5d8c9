"""`trustsim …`: run scenarios, check parameter files, sweep, explore in the browser.

Exit status: 0 done; 2 bad input (file, key, value, usage) with one line on standard error;
1 anything else, with a message saying what to report; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone

from .params import ParamError

PROG = "trustsim"


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _nonneg_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _pos_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def build_parser() -> Parser:
    p = Parser(prog=PROG, description="Agent-based simulation of trust between industrial buyers and suppliers.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"trustsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", help="scenario TOML file (e.g. scenarios/baseline.toml)")
    run.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE", help="override one parameter")
    run.add_argument("--seed", type=_nonneg_int, help="seed of the random generator (overrides run.seed)")
    run.add_argument("--steps", type=_pos_int, help="number of steps (overrides run.steps)")
    run.add_argument("--out", help="results folder (default results/<scenario name>)")
    run.add_argument("--force", action="store_true", help="replace an --out folder that holds files other than a trustsim result (its contents are lost)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    chk = sub.add_parser("check", help="validate a scenario file and show what it resolves to")
    chk.add_argument("scenario")
    chk.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE")

    prm = sub.add_parser("params", help="print the parameter schema")
    prm.add_argument("--markdown", action="store_true", help="as a Markdown table")

    rep = sub.add_parser("report", help="redraw the figures of a results folder")
    rep.add_argument("folder")

    viz = sub.add_parser("viz", help="explore a market in the browser")
    viz.add_argument("scenario", nargs="?", help="scenario TOML file (default: the baseline)")
    viz.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    viz.add_argument("--port", type=_pos_int, help="port (default: a free one)")

    sw = sub.add_parser("sweep", help="run a batch experiment (grid, Latin hypercube, Sobol, Morris)")
    sw.add_argument("file", help="sweep TOML file: a scenario with a [sweep] table")
    sw.add_argument("--workers", type=_pos_int, help="worker processes (default: all cores)")
    sw.add_argument("--dask", metavar="ADDRESS|local", help="run on a Dask cluster (tcp://host:port) or a local one")
    sw.add_argument("--resume", action="store_true", help="finish an interrupted sweep without recomputing")
    sw.add_argument("--out", help="results folder (default results/<sweep name>)")
    sw.add_argument("--shard", metavar="K/N", help="run only part K of N (cluster array jobs); merge afterwards")
    sw.add_argument("--force", action="store_true", help="write into a folder that holds other files, or start an unfinished sweep there afresh")
    sw.add_argument("--quiet", action="store_true", help="no progress output")
    sw.add_argument("--timeseries", action="store_true", help="also keep every run's per-step time series")

    mg = sub.add_parser("merge", help="merge the folders of sweep shards into one")
    mg.add_argument("dirs", nargs="+", metavar="DIR")
    mg.add_argument("--out", required=True, help="merged results folder")
    mg.add_argument("--force", action="store_true", help="replace an --out folder that holds other files (its contents are lost)")

    pt = sub.add_parser("patterns", help="run the pattern suite P1–P10 and print its table")
    pt.add_argument("--seeds", type=_pos_int, default=10, help="seeds per scenario variant (default 10)")
    pt.add_argument("--out", default="results/patterns", help="folder for the figures (default results/patterns)")
    pt.add_argument("--workers", type=_pos_int, help="worker processes (default: all cores)")
    pt.add_argument("--force", action="store_true", help="replace an --out folder that holds other files (its contents are lost)")
    return p


# --- commands ------------------------------------------------------------------------------------

def cmd_run(args) -> int:
    from .model import TrustMarket
    from .params import load_scenario
    from .results import check_target, scenario_files, write_run

    scenario = load_scenario(args.scenario, args.set, seed=args.seed, steps=args.steps)
    out = args.out or os.path.join("results", scenario.name)
    check_target(out, args.force, kind="run", protect=scenario_files(scenario))  # refuse, and lock, before the run
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = TrustMarket(scenario.params)
    show = not args.quiet and sys.stderr.isatty()
    if show:
        from tqdm import tqdm

        with tqdm(total=scenario.params.run.steps, desc=scenario.name, unit="step", file=sys.stderr) as bar:
            model.run(progress=bar.update)
    else:
        model.run()
    wall = time.perf_counter() - t0
    write_run(model, scenario, out, started=started, wall_seconds=wall, force=args.force,
              network=scenario.params.market.buyers <= 20_000)
    s = model.recorder.summary()["long_run"]
    print(f"{scenario.name}: {scenario.params.run.steps} steps in {wall:.2f} s → {out}/")
    for g in ("partner", "aggressive"):
        if s[g]["buyers"]:
            print(f"  {g:<10} market share {s[g]['market_share']:.3f}  cost of ownership {s[g]['tco_per_unit']:.3f}/unit"
                  f"  trust {s[g]['trust_buyer']:.2f}  ideas/step {s[g]['ideas_received']:.2f}")
    return 0


def cmd_check(args) -> int:
    from .params import Params, load_scenario

    scenario = load_scenario(args.scenario, args.set)
    print(f"{args.scenario}: valid")
    if len(scenario.chain) > 1:
        print("extends: " + " -> ".join(scenario.chain))
    defaults = Params().flat()
    changed = [(k, v) for k, v in scenario.params.flat().items() if v != defaults[k]]
    if changed:
        print("differs from the defaults:")
        for k, v in changed:
            print(f"  {k} = {v!r}  (default {defaults[k]!r})")
    else:
        print("every parameter at its default")
    if scenario.sweep is not None:
        print(f"[sweep] table present ({', '.join(sorted(scenario.sweep))}); check it with 'trustsim sweep'")
    return 0


def cmd_params(args) -> int:
    from .params import schema_markdown, schema_rows

    if args.markdown:
        print(schema_markdown())
        return 0
    rows = schema_rows()
    wk = max(len(r["key"]) for r in rows)
    wd = max(len(str(r["default"])) for r in rows)
    for r in rows:
        print(f"{r['key']:<{wk}}  {str(r['default']):<{wd}}  [{r['range']}] {r['unit']}  {r['meaning']}")
    return 0


def cmd_report(args) -> int:
    from pathlib import Path

    from . import report

    folder = Path(args.folder)
    if not (folder / "timeseries.csv").is_file():
        raise ParamError(str(folder), None, "not a results folder (no timeseries.csv)")
    for path in report.figures(folder):
        print(path)
    return 0


DISPATCH = {
    "run": cmd_run, "check": cmd_check, "params": cmd_params, "report": cmd_report,
    "viz": ("trustsim.viz.app", "serve"), "sweep": ("trustsim.experiments", "sweep_command"),
    "merge": ("trustsim.experiments", "merge_command"), "patterns": ("trustsim.patterns", "patterns_command"),
}


def _interrupt_on_terminate():
    """SIGTERM and SIGHUP end a command as Ctrl-C does, so no temporary folder outlives it; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, interrupt) for s in wanted}
    return lambda: [signal.signal(s, h) for s, h in previous.items()]


def main(argv=None) -> int:
    restore = _interrupt_on_terminate()
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        target = DISPATCH[args.command]
        if isinstance(target, tuple):
            try:
                module = importlib.import_module(target[0])
            except ModuleNotFoundError as exc:
                if exc.name is None or not target[0].startswith(exc.name):
                    raise  # the module exists but something it imports is missing
                print(f"{PROG}: error: '{args.command}' is not available in this installation "
                      f"({target[0]} is missing); reinstall trustsim", file=sys.stderr)
                return 1
            target = getattr(module, target[1])
        return int(target(args) or 0)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ParamError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and friends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 — the last line of defence: one line, no traceback
        if os.environ.get("TRUSTSIM_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} — please report this with the command and "
              f"the scenario file (TRUSTSIM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    finally:
        restore()
