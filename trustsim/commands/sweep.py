"""``trustsim sweep FILE``: run a batch experiment (the work is done by ``trustsim.experiments``)."""

from __future__ import annotations

import os
import sys

from .argtypes import folder, pathname, pos_int, workers

NAME = "sweep"
HELP = "run a batch experiment (grid, Latin hypercube, Sobol, Morris)"


def arguments(p) -> None:
    """The arguments of ``trustsim sweep``."""
    p.add_argument("file", type=pathname("file", "a sweep TOML file"),
                   help="sweep TOML file: a scenario with a [sweep] table")
    p.add_argument("--workers", type=workers, help="worker processes (default: all cores)")
    p.add_argument("--dask", metavar="ADDRESS|local", help="run on a Dask cluster (tcp://host:port) or a local one")
    p.add_argument("--resume", action="store_true",
                   help="finish an interrupted sweep without recomputing finished runs (failed runs run again)")
    p.add_argument("--out", type=folder, help="results folder (default results/<sweep name>)")
    p.add_argument("--shard", metavar="K/N", help="run only part K of N (cluster array jobs); merge afterwards")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds a sweep, finished or not, or other files (its contents "
                        "are lost)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--timeseries", action="store_true", help="also keep every run's per-step time series")
    p.add_argument("--batch", type=pos_int, metavar="N",
                   help="runs stepped together in one ensemble (default: as many as fit 64 MiB, at least two "
                        "batches per worker; 1: one run at a time). The results do not depend on it")


def _kept_and_resume(args, out, more: str | None = None) -> str:
    """What an unfinished sweep keeps and the command that finishes it (``experiments.resume_command``; ``more``:
    options it needs besides, by default the --dask it ran on, so that it finishes where it started), with the
    --workers and --batch it was given (without them it finishes on every core, in batches of another size)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import safe_text
    from ..experiments import JOURNAL, parse_shard, read_journal
    from ..experiments.journal import resume_command

    if more is None:
        more = f" --dask {safe_text(args.dask, 200)}" if args.dask else ""
    more += "".join(f" {flag} {value}" for flag, value in (("--workers", args.workers), ("--batch", args.batch))
                    if value is not None)
    n = len(read_journal(out / JOURNAL))
    return (f"{n} finished runs are kept in {safe_text(out / JOURNAL, 400)}; finish with: "
            + resume_command(args.file, parse_shard(args.shard), args.timeseries, args.out, more))


def _removed(out) -> str:
    """The line of a sweep whose folder, or journal, was removed while it ran: nothing is left to resume."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import safe_text
    from ..experiments import JOURNAL

    return (f"trustsim: error: {safe_text(out, 400)}: the sweep's folder, or its {JOURNAL}, was removed while the "
            f"sweep ran, and the runs it had finished with it; start the sweep again")


def handle(args) -> int:
    """Exit 0 when every run succeeded, 1 when some failed (all results kept) or the folder was removed while the
    sweep ran, 2 on bad input (nothing written), 130 when interrupted (finished runs kept; finish with --resume)."""
    # here, not at the top: `trustsim --help` imports this module
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    from ..errors import ParamError, safe_text
    from ..experiments.cluster import ADDRESS_EXPECTED
    from ..experiments.design import load_sweep, parse_shard

    sweep = load_sweep(args.file)
    shard = parse_shard(args.shard)
    if args.dask == "":
        raise ParamError("--dask", None, ADDRESS_EXPECTED)
    # the engine, the executors and the writers once the input is checked (above): a mistake is told without them
    from ..experiments import STATE, run_sweep
    from ..experiments.cluster import other_code
    from ..experiments.journal import FolderRemoved
    from ..experiments.progress import tell_failures
    from ..locks import write_failure

    name = sweep.name if shard is None else f"{sweep.name}-shard-{shard[0]}-of-{shard[1]}"
    out = Path(args.out or os.path.join("results", name))
    if args.resume and not os.path.lexists(out):  # a mistyped --out would otherwise recompute every run unannounced
        print(f"trustsim: nothing to resume in {safe_text(out, 400)}: the sweep starts there", file=sys.stderr)
    try:
        res = run_sweep(sweep, out, workers=args.workers, dask=args.dask, resume=args.resume, shard=shard,
                        force=args.force, quiet=args.quiet, timeseries=args.timeseries, batch=args.batch)
    except KeyboardInterrupt:
        if not (out / STATE).exists():  # stopped while the workers started, before the folder was made ready
            print("trustsim: interrupted before the sweep started; nothing was written", file=sys.stderr)
        else:
            print(f"trustsim: interrupted; {_kept_and_resume(args, out)}", file=sys.stderr)
        return 130
    except FolderRemoved:
        print(_removed(out), file=sys.stderr)
        return 1
    except OSError as exc:
        failure = write_failure(exc)
        if not failure and not os.path.isdir(out):  # a write into the folder, removed while the sweep ran
            print(_removed(out), file=sys.stderr)
            return 1
        if not failure:
            raise
        print(f"trustsim: error: {failure}; {_kept_and_resume(args, out)}", file=sys.stderr)
        return 2
    except BrokenProcessPool:
        print(f"trustsim: a worker process died (out of memory?); {_kept_and_resume(args, out)}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        other = other_code(exc)  # a Dask worker runs other code: the runs of this code's workers are kept
        if not other:
            raise
        print(f"trustsim: error: {safe_text(other, 400)}; {_kept_and_resume(args, out)}", file=sys.stderr)
        return 1
    except CancelledError:  # Dask cancels every pending run when its client loses the scheduler
        print(f"trustsim: the Dask scheduler {safe_text(args.dask, 200)} was lost; "
              f"{_kept_and_resume(args, out, ' --dask ADDRESS')}", file=sys.stderr)
        return 1
    where = f"{safe_text(out, 400)}/"
    print(f"{safe_text(sweep.name)}: {res['runs']} runs ({res['computed']} computed now) in {res['wall']:.1f} s "
          f"→ {where}")
    return tell_failures(res["failed"], res["runs"], where, "--resume runs them again")
