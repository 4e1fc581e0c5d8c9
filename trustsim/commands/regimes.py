"""``trustsim regimes``: the regime map at the defaults — where the partner advantage is positive and where it
reverses, over σ × supplier integrity × idea rate, and σ × fit spread."""

from __future__ import annotations

from datetime import UTC

from ..errors import counted
from .structures import common_arguments

NAME = "regimes"
SEEDS = 10
HELP = "map the partner advantage over uncertainty, integrity, idea rate and fit spread"


def arguments(p) -> None:
    """The arguments of ``trustsim regimes``."""
    common_arguments(p, "results/regimes", SEEDS)


def handle(args) -> int:
    """Exit 0; the folder holds regimes.csv (a row per cell and horizon: figures, 95% intervals), regimes.md,
    the heat maps (figures/regimes_share.png, figures/regimes_profit.png) and the manifest."""
    # here, not at the top: `trustsim --help` imports this module
    import time
    from datetime import datetime

    from ..errors import safe_text
    from ..results import write_atomically
    from ..structures import interval_table, regime_points
    from ..structures.figures import regimes_figure
    from ..structures.tables import FIGURES, markdown
    from .structures import execute, start, write_manifest

    base = start(args, NAME)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    points = regime_points(base)
    rows, _ = execute(args, base, points, len(points) * args.seeds, "regime runs")
    by = ["map", "suppliers.integrity_mean", "idea_share", "market.fit_spread", "market.uncertainty"]
    table = interval_table(rows, points, by)
    wall = time.perf_counter() - t0
    sure = {c: int(((table[f"{c}.low"] > 0) | (table[f"{c}.high"] < 0)).sum()) for c in FIGURES}
    for c, name in FIGURES.items():
        pos, neg = int((table[f"{c}.low"] > 0).sum()), int((table[f"{c}.high"] < 0).sum())
        print(f"{name}: positive (CI above 0) in {pos}, negative (CI below 0) in {neg}, undecided in "
              f"{len(table) - pos - neg} of {len(table)} cells × horizons")

    def write(tmp):
        table.to_csv(tmp / "regimes.csv", index=False)
        (tmp / "figures").mkdir()
        for c in FIGURES:
            regimes_figure(table, c, tmp / "figures" / f"regimes_{c.split('_')[0]}.png", base.run.steps)
        (tmp / "regimes.md").write_text(
            f"# Regime map at the defaults\n\n{args.seeds} seeds a cell, {counted(base.run.steps, 'step')} a run; "
            f"idea_share scales both idea rates (innovation.idea_rate, innovation.process_idea_rate). A figure is "
            f"decided where its 95% interval excludes 0 ({sure['share_advantage']} share, {sure['profit_advantage']} "
            f"profit cells); each interval is 95% on its own, not adjusted for the {2 * len(table)} read together: "
            f"where an advantage is 0, about one in twenty excludes 0 by chance.\n\n" + markdown(table) + "\n")
        write_manifest(tmp, base, started, wall, NAME, seeds=list(range(1, args.seeds + 1)))

    write_atomically(args.out, write, force=args.force, kind=NAME)
    print(f"{len(points)} cells × {args.seeds} seeds in {wall:.0f} s → {safe_text(args.out, 400)}/")
    return 0
