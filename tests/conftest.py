"""What the tests share: where the repository and its scenarios are, the small markets they run, the command
line run in-process, the check that bad input is refused in one line (exit status 2), a run's recorded column,
what a writer leaves beside its results and a PID no process holds. Test files import them
(``from conftest import ROOT, run_cli``): parametrize lists need them when the file is read."""

import os
import subprocess
import sys
from pathlib import Path

from trustsim.cli import main
from trustsim.metrics import COLUMN_NAMES, POSTURE_GROUPS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"

# small markets: as `trustsim run` options (TINY for a few steps, SMALL for a short run) and as parameter overrides
TINY = ["--set", "market.buyers=8", "--set", "market.suppliers=4", "--steps", "6", "--quiet"]
SMALL = ["--set", "market.buyers=12", "--set", "market.suppliers=6", "--steps", "30"]
SMALL_PARAMS = {"market.buyers": 12, "market.suppliers": 6, "run.steps": 30}

# a sweep file's market: 6 buyers and 3 suppliers for 4 steps
SMALL_SWEEP_BASE = "[run]\nsteps = 4\n\n[market]\nbuyers = 6\nsuppliers = 3\n\n"


def small_sweep(extends=None, *, replications=1, extra="", factors=('"market.uncertainty" = [0.0, 0.6]',)):
    """A grid sweep file's text over the small market of ``SMALL_SWEEP_BASE``: ``extends`` a scenario (a path)
    or nothing, ``extra`` lines for its ``[sweep]`` table (each ending in a newline), and ``factors`` lines."""
    head = f'extends = "{Path(extends).as_posix()}"\n' if extends else ""
    return (f'{head}{SMALL_SWEEP_BASE}[sweep]\ndesign = "grid"\nreplications = {replications}\n{extra}\n'
            f'[sweep.factors]\n' + "".join(f"{line}\n" for line in factors))


def run_cli(capsys, *argv):
    """``trustsim ARGV…`` in this process: its exit status, standard output and standard error."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, err, *needles):
    """Bad input refused as every command promises: exit status 2 and one line, no traceback, naming each of
    ``needles``."""
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)



def column(model, name, group="all"):
    """One column of the recorded time series, one value per step."""
    return model.recorder.rows[:, POSTURE_GROUPS.index(group), COLUMN_NAMES.index(name)]


def ours_beside(folder: Path) -> list[str]:
    """What a writer may leave next to its results: temporary, replaced and lock files."""
    return sorted(p.name for p in folder.iterdir() if any(s in p.name for s in (".tmp-", ".old-", ".lock")))


def dead_pid() -> int:
    """The PID of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


REQUIRE_BROWSER = "TRUSTSIM_REQUIRE_BROWSER"  # set by .ci/run: there a missing Chromium fails, not skips


def no_browser(reason: str):
    """Skip a browser test for ``reason`` (no Chromium, no Playwright), or fail it where the browser is required:
    CI installs Chromium itself, so a browser test skipped there would pass CI without testing the app."""
    import pytest

    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(f"{reason} ({REQUIRE_BROWSER} is set: the browser tests must run)")
    pytest.skip(reason)


def data_under_legends(fig) -> list[tuple[str, str]]:
    """Where a legend of ``fig`` (an axes' or the figure's) covers what its axes draw: (the axes' title, the covered
    artist's label) for each line, interval, bar or dot with a point inside a legend's box, as drawn. Lines and
    intervals are followed between their vertices, so one that crosses a legend counts though no vertex lies in it;
    a line of markers alone is not, but each marker counts over its size (an interval's caps, for one)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    boxes = [legend.get_window_extent(renderer) for legend in legends]

    def followed(xy):  # display points along a polyline, 20 per segment
        xy = np.asarray(xy, float).reshape(-1, 2)
        if len(xy) < 2:
            return xy
        t = np.linspace(0, 1, 20)[:, None, None]
        return (xy[:-1] + t * (xy[1:] - xy[:-1])).reshape(-1, 2)

    covered = []
    for ax in fig.axes:
        for artist in ax.get_children():
            if isinstance(artist, Line2D):  # a line of markers alone (caps, dots) is not followed between them
                xy = artist.get_transform().transform(artist.get_xydata())
                h = artist.get_markersize() * fig.dpi / 72 / 2 if artist.get_marker() not in ("None", "", " ") else 0
                marks = [xy + (dx, dy) for dx in (-h, 0, h) for dy in (-h, 0, h)] if h else []  # a marker's extent
                xy = [followed(xy) if artist.get_linestyle() not in ("None", "none", "", " ") else xy, *marks]
            elif isinstance(artist, LineCollection):
                xy = [followed(artist.get_transform().transform(s)) for s in artist.get_segments()]
            elif isinstance(artist, PathCollection):
                xy = [artist.get_offset_transform().transform(artist.get_offsets())]
            elif isinstance(artist, Rectangle) and artist is not ax.patch:
                b = artist.get_window_extent(renderer)
                xy = [np.array([[b.x0, b.y0], [b.x1, b.y1], [b.x0, b.y1], [b.x1, b.y0], [(b.x0 + b.x1) / 2,
                                                                                       (b.y0 + b.y1) / 2]])]
            else:
                continue
            if not artist.get_visible():
                continue
            points = np.vstack([p for p in xy if len(p)] or [np.empty((0, 2))])
            points = points[np.isfinite(points).all(axis=1)]
            if any(((points[:, 0] >= b.x0) & (points[:, 0] <= b.x1) & (points[:, 1] >= b.y0)
                    & (points[:, 1] <= b.y1)).any() for b in boxes):
                covered.append((ax.get_title(), artist.get_label()))
    return covered


def pattern_figure(result, tmp_path, monkeypatch):
    """The figure :func:`trustsim.patterns.figures.plot` draws of ``result``, as it is saved."""
    # matplotlib and the pattern figures only for the tests that draw one
    from matplotlib.figure import Figure

    from trustsim.patterns.figures import plot

    drawn, original = [], Figure.savefig

    def spy(fig, *args, **kwargs):
        drawn.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    plot(result, tmp_path / f"{result.pattern}.png")
    return drawn[-1]
