"""``trustsim report FOLDER``: redraw the figures of a results folder."""

from __future__ import annotations

NAME = "report"
HELP = "redraw the figures of a results folder"


def arguments(p) -> None:
    p.add_argument("folder")


def handle(args) -> int:
    from pathlib import Path

    from .. import report
    from ..params import ParamError, safe_text

    folder = Path(args.folder)
    if not (folder / "timeseries.csv").is_file():
        raise ParamError(str(folder), None, "not a results folder (no timeseries.csv)")
    for path in report.figures(folder):
        print(safe_text(path, 400))
    return 0
