"""`trustsim …`: run scenarios, check parameter files, sweep, explore in the browser.

Exit status: 0 done; 2 bad input (file, key, value, usage) with one line on standard error;
1 a failure, with a message saying what to report, or a check not passed (a pattern not reproduced, a rerun
that differs); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .errors import ParamError, safe_text

PROG = "trustsim"


class UsageError(Exception):
    """Wrong use of the command line: printed as one line, exit status 2."""
    pass


class Parser(argparse.ArgumentParser):
    """argparse's parser with its errors raised as ``UsageError`` instead of printed with the usage and exited."""
    def error(self, message):  # one line, not argparse's usage block, repeating what was typed safely
        """Raise the error as one ``UsageError`` line that names the command and points to its ``--help``."""
        raise UsageError(f"{self.prog}: error: {safe_text(message, 400)} (see '{self.prog} --help')")


def build_parser() -> Parser:
    """The command line: one subcommand per module of ``trustsim.commands``, in its order."""
    # here, not at the top: `trustsim --help` imports this module
    from . import __version__
    from .commands import COMMANDS

    p = Parser(prog=PROG, description="Agent-based simulation of trust between industrial buyers and suppliers.")
    p.add_argument("--version", action="version", version=f"trustsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.NAME, help=command.HELP))
        sub.choices[command.NAME].set_defaults(handle=command.handle)
    p.commands = sub.choices  # each command's parser, for what it does not recognise (parse)
    return p


def parse(argv):
    """The arguments; one the command does not take is refused by its own parser, which points to its own
    ``--help`` (argparse's top-level parser pointed to ``trustsim --help``, which does not list its options)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


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
    """Run one command; its exit status: 0 done, 1 failed or a check not passed, 2 bad input, 130 interrupted."""
    restore = _interrupt_on_terminate()
    getattr(sys.modules.get(f"{PROG}.results"), "WRITTEN", []).clear()  # what an earlier call in this process wrote
    args = None
    try:
        args = parse(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        return int(args.handle(args) or 0)
    except ModuleNotFoundError as exc:
        if args is None or not (exc.name or "").startswith(f"{PROG}."):
            return _internal_error(exc)  # something trustsim imports is missing: say so, as for any failure
        print(f"{PROG}: error: '{args.command}' is not available in this installation "
              f"({exc.name} is missing); reinstall trustsim", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and friends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; {_what_was_written()}", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 — the last line of defence: one line, no traceback
        if isinstance(exc, ParamError):  # bad input, named in one line
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        failure = _write_failure(exc)
        if failure:  # a full disk, a file-size limit, a read-only folder: the user's to fix, one line
            print(f"{PROG}: error: {failure}", file=sys.stderr)
            return 2
        cluster = sys.modules.get(f"{PROG}.experiments.cluster")  # not imported: no Dask worker ran anything
        other = cluster.other_code(exc) if cluster else None
        if other:  # a Dask worker with other code installed: the cluster's to fix, one line
            print(f"{PROG}: error: {safe_text(other, 400)}", file=sys.stderr)
            return 1
        return _internal_error(exc)
    finally:
        restore()


def _what_was_written() -> str:
    """What an interrupted command leaves: the results it had already put in place (``results.WRITTEN``), if any."""
    results = sys.modules.get(f"{PROG}.results")  # not imported: nothing was written
    written = [safe_text(str(p), 400) for p in getattr(results, "WRITTEN", [])]
    return f"the result was written to {', '.join(written)}" if written else "nothing was written"


def _write_failure(exc: BaseException) -> str | None:
    """An OS error while writing, in a line (``locks.write_failure``); None for anything else."""
    if not isinstance(exc, OSError) and not isinstance(exc.__cause__ or exc.__context__, OSError):
        return None
    # here, not at the top: `trustsim --help` imports this module
    from .locks import write_failure

    return write_failure(exc)


def _internal_error(exc: Exception) -> int:
    if os.environ.get("TRUSTSIM_DEBUG"):
        raise exc
    # one line, as every line of ours: an exception's own message may hold newlines (Matplotlib's parser's held four)
    print(f"{PROG}: internal error: {type(exc).__name__}: {safe_text(exc, 300)} — please report this with the command "
          f"and the scenario file (TRUSTSIM_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 1
