"""Every ``trustsim`` command, one module each, its arguments beside its handler.

A command module names the command (``NAME``), says in a line what it does (``HELP``), declares its
arguments (``arguments(parser)``) and does the work (``handle(args)``, returning the exit status).
To add a command, write such a module and list it in :data:`COMMANDS` (the order of ``trustsim --help``).

A command module imports only the standard library at its top; its handler imports what the work
needs (NumPy, Mesa, pandas, Matplotlib, Solara), so ``trustsim --help`` stays fast. Bad input is a
``ParamError`` (exit 2, one line); ``cli.main`` turns every outcome into an exit status.
"""

from . import (
    calibrate,
    check,
    columns,
    compare,
    merge,
    params,
    patterns,
    regimes,
    report,
    rerun,
    run,
    structures,
    sweep,
    viz,
)

COMMANDS = (run, rerun, compare, check, params, columns, report, viz, sweep, merge, patterns, structures, regimes,
            calibrate)
