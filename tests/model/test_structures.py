"""``trustsim structures`` and ``trustsim regimes``: every combination of the contested readings, the files and
figures they write, bad input refused before any run, the table of conclusions, and the same output for the
same seeds. Small: few seeds and steps."""

import json
import os
import shutil

import pandas as pd
import pytest
from conftest import run_cli

from trustsim import structures
from trustsim.cli import main
from trustsim.params import Params
from trustsim.patterns import SIGMAS
from trustsim.structures.grid import READINGS, reading_choices

QUICK = ["--seeds", "2", "--steps", "10", "--workers", "2"]


@pytest.fixture(scope="module")
def structures_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("s") / "structures"
    code = main(["structures", *QUICK, "--suite-seeds", "2", "--out", str(out)])
    return code, out


def test_the_grid_covers_every_combination_of_the_readings_at_every_sigma():
    points = structures.structure_points(Params())
    combos = {tuple(p[k] for k in READINGS) for p in points}
    assert len(combos) == 8
    assert all(len(reading_choices(k)) == 2 for k in READINGS)
    assert {(c, s) for c in combos for s in SIGMAS} == {(tuple(p[k] for k in READINGS), p["market.uncertainty"])
                                                        for p in points}
    assert len(points) == 8 * len(SIGMAS)
    default = Params().flat()
    assert tuple(points[0][k] for k in READINGS) == tuple(default[k] for k in READINGS)  # S1: the defaults


def test_trust_weight_changes_nothing_under_fixed_conduct():
    """Why buyers.trust_weight is not an axis of the grid: under the default conduct it has no effect."""
    from trustsim.ensemble import Ensemble

    assert Params().buyers.conduct == "fixed"
    p = Params().replace(**{"run.steps": 12})
    a = Ensemble([p], [3]).run().recorder.member(0).rows
    b = Ensemble([p.replace(**{"buyers.trust_weight": 2.0})], [3]).run().recorder.member(0).rows
    assert (a == b).all()


def test_structures_writes_its_files_and_report_redraws_them(structures_run, capsys):
    code, out = structures_run
    assert code == 0
    for name in ("structures.csv", "verdicts.csv", "conclusions.csv", "structures.md", "manifest.json",
                 "figures/structures.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "structures.csv")
    assert len(table) == 8 * len(SIGMAS) * 2  # structure × σ × horizon
    assert set(table["horizon"]) == {"business_horizon", "long_run"}
    assert (table["share_advantage.low"] <= table["share_advantage"]).all()
    verdicts = pd.read_csv(out / "verdicts.csv")
    assert verdicts["structure"].nunique() == 8 and {"P1", "P6"} <= set(verdicts["pattern"])
    assert json.loads((out / "manifest.json").read_text())["kind"] == "structures"
    (out / "figures" / "structures.png").unlink()
    code, stdout, _ = run_cli(capsys, "report", out)
    assert code == 0 and (out / "figures" / "structures.png").is_file()


def test_report_on_structures_keeps_the_users_files_in_figures(structures_run, capsys, tmp_path):
    """As for every kind: report replaces only the figures it draws."""
    folder = tmp_path / "structures"
    shutil.copytree(structures_run[1], folder)
    (folder / "figures" / "mine.png").write_bytes(b"\x89PNG my plot")
    code, _, err = run_cli(capsys, "report", folder)
    assert code == 0, err
    assert (folder / "figures" / "mine.png").read_bytes() == b"\x89PNG my plot"
    assert (folder / "figures" / "structures.png").is_file()
    assert [p.name for p in [*folder.iterdir(), *tmp_path.iterdir()] if p.name.startswith(".")] == []


def test_regimes_writes_its_map(tmp_path, capsys):
    out = tmp_path / "regimes"
    code, stdout, _ = run_cli(capsys, "regimes", *QUICK, "--out", out)
    assert code == 0
    table = pd.read_csv(out / "regimes.csv")
    assert set(table["map"]) == {"integrity", "fit_spread"}
    assert {"share_advantage.low", "profit_advantage.high"} <= set(table.columns)
    assert (out / "figures" / "regimes_share.png").is_file() and (out / "figures" / "regimes_profit.png").is_file()
    assert "cells" in stdout


def test_a_report_of_one_step_a_run_says_step(tmp_path, capsys):
    """The reports count their steps as a word should: "1 step a run", not "1 steps a run"."""
    out = tmp_path / "regimes"
    code, _, _ = run_cli(capsys, "regimes", "--seeds", "2", "--steps", "1", "--workers", "1", "--out", out)
    text = (out / "regimes.md").read_text()
    assert code == 0 and "2 seeds a cell, 1 step a run;" in text, text[:200]


@pytest.mark.parametrize("command", ["structures", "regimes"])
@pytest.mark.parametrize("args, needle", [(["--seeds", "1"], "--seeds"), (["--seeds", "x"], "not an integer"),
                                          (["--steps", "0"], "at least 1"), (["--out", ""], "empty")])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(command, args, needle, tmp_path, capsys):
    out = tmp_path / "res"
    code, _, err = run_cli(capsys, *([command, *args, "--out", out] if "--out" not in args else [command, *args]))
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["structures", "regimes"])
def test_never_writes_into_the_folder_it_runs_in_or_a_folder_of_the_users(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    code, _, err = run_cli(capsys, command, *QUICK, "--out", ".", "--force")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    code, _, err = run_cli(capsys, command, *QUICK, "--out", other)
    assert code == 2 and "--force" in err, err
    assert sorted(os.listdir(tmp_path)) == ["mine.txt", "other"] and os.listdir(other) == ["notes.txt"]


def _hand_table():
    rows = []
    for s, lows in (("A", (0.1, -0.5)), ("B", (0.2, -0.4)), ("C", (-0.1, -0.3))):
        for sigma, low in zip((0.0, 0.9), lows, strict=True):
            for h in ("business_horizon", "long_run"):
                rows.append({"structure": s, "market.uncertainty": sigma, "horizon": h,
                             "share_advantage": low + 0.05, "share_advantage.low": low,
                             "share_advantage.high": low + 0.1,
                             "profit_advantage": 0.0, "profit_advantage.low": -1.0, "profit_advantage.high": 1.0})
    return pd.DataFrame(rows)


def test_conclusions_are_classified_all_some_none_on_a_hand_made_table():
    table = _hand_table()
    verdicts = pd.DataFrame({"structure": ["A", "B", "C"], "pattern": "P1", "verdict": ["pass", "pass", "pass"]})
    conc = structures.conclusions(table, verdicts).set_index("conclusion")
    print(conc.to_string())
    pos0 = conc.loc["partner share advantage > 0 (CI excludes 0), long run, σ=0"]
    assert (pos0["holds"], pos0["of"], pos0["class"], pos0["under"]) == (2, 3, "some", "A; B")
    neg0 = conc.loc["partner share advantage < 0 (CI excludes 0), long run, σ=0"]
    assert (neg0["holds"], neg0["class"]) == (0, "none")  # C's interval [-0.1, 0] reaches 0
    neg9 = conc.loc["partner share advantage < 0 (CI excludes 0), business horizon, σ=0.9"]
    assert (neg9["holds"], neg9["class"]) == (3, "all")
    assert conc.loc["partner profit advantage > 0 (CI excludes 0), long run, σ=0.9", "class"] == "none"
    assert conc.loc["P1 passes", "class"] == "all"
    assert [structures.classify(k, 8) for k in (0, 1, 7, 8)] == ["none", "some", "some", "all"]
    text = structures.conclusions_table(structures.conclusions(table, verdicts), {"A": "S1", "B": "S2", "C": "S3"})
    assert "some 2 of 3 (S1, S2)" in text and "all  3 of 3" in text


def test_same_seeds_give_the_same_figures_and_other_seeds_differ():
    base = Params().replace(**{"run.steps": 12})
    points = structures.structure_points(base)[:2]
    a, _ = structures.run_points(base, points, seeds=2, workers=1)
    b, _ = structures.run_points(base, points, seeds=2, workers=2)
    key = lambda r: (r["point"], r["seed"], r["horizon"])  # noqa: E731
    assert sorted(a, key=key) == sorted(b, key=key)
    by_seed = [[r["share_advantage"] for r in a if r["point"] == 0 and r["seed"] == seed] for seed in (1, 2)]
    assert by_seed[0] != by_seed[1]


def test_the_table_does_not_depend_on_the_order_the_workers_finish_in():
    """Rows arrive in the order their batches finish; the table is the same, to the last bit, for any order."""
    import random

    points = structures.regime_points(Params())[:4]
    rng = random.Random(5)
    rows = [{"point": i, "seed": seed, "horizon": h, "share_advantage": rng.uniform(-1, 1),
             "profit_advantage": rng.uniform(-1e4, 1e4), "steady": float(rng.random() < 0.5)}
            for i in range(len(points)) for seed in range(1, 8) for h in structures.HORIZONS]
    by = ["map", "suppliers.integrity_mean", "idea_share", "market.fit_spread", "market.uncertainty"]
    first = structures.interval_table(rows, points, by)
    for k in range(10):
        shuffled = rows[:]
        random.Random(k).shuffle(shuffled)
        pd.testing.assert_frame_equal(structures.interval_table(shuffled, points, by), first, check_exact=True)


def test_the_reports_say_their_intervals_are_each_95_percent_not_adjusted_for_their_number(structures_run,
                                                                                         tmp_path, capsys):
    _, out = structures_run
    n = 2 * len(pd.read_csv(out / "structures.csv"))  # two figures a row
    assert f"not adjusted for the {n} read together" in (out / "structures.md").read_text()
    code, _, _ = run_cli(capsys, "regimes", *QUICK, "--out", tmp_path / "regimes")
    n = 2 * len(pd.read_csv(tmp_path / "regimes" / "regimes.csv"))
    assert code == 0 and f"not adjusted for the {n} read together" in (tmp_path / "regimes" / "regimes.md").read_text()


def test_the_help_counts_the_suites_variants_as_the_suite_has_them():
    from trustsim import patterns
    from trustsim.cli import build_parser

    sub = next(a for a in build_parser()._actions if getattr(a, "choices", None) and "structures" in a.choices)
    text = sub.choices["structures"].format_help().replace("\n", " ")
    assert f"{len(patterns.variants(Params()))} variants under 8 structures" in " ".join(text.split())


def test_the_regime_map_names_its_axes_in_words_and_prints_plain_numbers(tmp_path, monkeypatch):
    """The maps' axes said `suppliers.integrity_mean`, `market.fit_spread` and "σ (market.uncertainty)", and the
    profit map's cells "-4.1e+02". The axes are named in words with their symbols, as the pattern figures name
    them, and the cells' numbers are plain: -410."""
    from matplotlib.figure import Figure

    from trustsim.structures.figures import regimes_figure

    rows = []
    for horizon in ("business_horizon", "long_run"):
        for sigma in (0.0, 0.9):
            for level, value in ((0.2, -412.3), (0.6, 1534.0)):
                base = {"horizon": horizon, "market.uncertainty": sigma, "idea_share": 1.0,
                        "share_advantage": value / 1000, "profit_advantage": value}
                rows.append({**base, "map": "integrity", "suppliers.integrity_mean": level, "market.fit_spread": 0.1})
                rows.append({**base, "map": "fit_spread", "suppliers.integrity_mean": 0.8, "market.fit_spread": level})
    table = pd.DataFrame(rows)
    for col in ("share_advantage", "profit_advantage"):
        table[f"{col}.low"], table[f"{col}.high"] = table[col] - 1, table[col] + 1
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    regimes_figure(table, "profit_advantage", tmp_path / "regimes_profit.png")
    maps = [ax for ax in drawn[0].axes if ax.get_title()]  # not the colour bar
    cells = {t.get_text() for ax in maps for t in ax.texts}
    assert cells == {"-410*", "1500*"}, cells  # starred: each interval excludes 0
    assert {ax.get_xlabel() for ax in maps} == {"environmental uncertainty σ"}
    assert {ax.get_ylabel() for ax in maps} == {"mean supplier integrity θ̄", "fit spread (log cost)"}


def test_the_structures_figure_names_sigma_as_the_regime_map_does(tmp_path, monkeypatch):
    """The structures figure's axis read "environmental uncertainty σ (market.uncertainty)" where the regime map and
    the pattern figures say "environmental uncertainty σ"."""
    from matplotlib.figure import Figure

    from trustsim.structures.figures import structures_figure
    from trustsim.structures.tables import FIGURES

    rows = [{"structure": "S1 default", "horizon": h, "market.uncertainty": sigma, **{c: 0.1 for c in FIGURES},
             **{f"{c}.{end}": v for c in FIGURES for end, v in (("low", 0.0), ("high", 0.2))}}
            for h in ("business_horizon", "long_run") for sigma in (0.0, 0.9)]
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    structures_figure(pd.DataFrame(rows), tmp_path / "structures.png")
    assert {ax.get_xlabel() for ax in drawn[0].axes if ax.get_xlabel()} == {"environmental uncertainty σ"}


def test_the_figures_mark_the_long_run_figures_of_markets_that_have_not_settled(tmp_path, monkeypatch):
    """A long-run figure whose runs MSER-5 mostly finds unsteady is a transient's (decision 40): the regime map
    hatches its cell and the structures figure draws its point as an open circle, each saying so in its title;
    the business horizon, a fixed window, is never marked, nor is a table written before `steady_share` was."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from trustsim.structures.figures import regimes_figure, structures_figure
    from trustsim.structures.tables import FIGURES

    rows = []
    for horizon in ("business_horizon", "long_run"):
        for sigma in (0.0, 0.9):
            # the long run steady in 2 of 10 runs at σ 0, in 9 at σ 0.9 (a table gives its horizons the same share)
            base = {"horizon": horizon, "market.uncertainty": sigma, "idea_share": 1.0,
                    "steady_share": 0.2 if sigma == 0.0 else 0.9, **{c: 0.1 for c in FIGURES},
                    **{f"{c}.{end}": v for c in FIGURES for end, v in (("low", 0.0), ("high", 0.2))}}
            rows.append({**base, "map": "integrity", "suppliers.integrity_mean": 0.8, "market.fit_spread": 0.1})
            rows.append({**base, "map": "fit_spread", "suppliers.integrity_mean": 0.8, "market.fit_spread": 0.3})
            rows.append({**base, "structure": "S1 default"})
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    maps = pd.DataFrame([r for r in rows if "map" in r])
    regimes_figure(maps, "share_advantage", tmp_path / "regimes_share.png")
    hatched = {ax.get_title(): sum(isinstance(p, Rectangle) and p.get_hatch() == "///" for p in ax.patches)
               for ax in drawn[0].axes if ax.get_title()}
    print(hatched)
    assert hatched == {"business horizon; idea rates ×1": 0, "business horizon; fit spread": 0,
                       "long run; idea rates ×1": 1, "long run; fit spread": 1}
    assert "hatched: long run steady in fewer than 50% of the runs" in drawn[0].get_suptitle()
    structures = pd.DataFrame([r for r in rows if "structure" in r])
    structures_figure(structures, tmp_path / "structures.png")
    open_circles = {ax.get_title(): sum(len(line.get_xdata()) for line in ax.lines
                                        if line.get_markerfacecolor() == "white") for ax in drawn[1].axes}
    assert open_circles == {"partner share advantage, business horizon": 0, "partner share advantage, long run": 1,
                            "partner profit advantage, business horizon": 0, "partner profit advantage, long run": 1}
    assert "open circles: long run steady in fewer than 50% of the runs" in drawn[1].get_suptitle()
    regimes_figure(maps.drop(columns="steady_share"), "share_advantage", tmp_path / "old.png")
    assert not any(ax.patches for ax in drawn[2].axes) and "hatched" not in drawn[2].get_suptitle()


def test_the_figures_say_how_long_a_run_was_and_report_reads_it_from_the_manifest(structures_run, tmp_path,
                                                                                  monkeypatch):
    """A long-run figure means another thing at 1 200 steps than at 10 000: the structures figure and the regime
    map say a run's steps in their titles, as the command ran them and as `trustsim report` redraws them."""
    from matplotlib.figure import Figure

    from trustsim.structures.figures import redraw

    titles = []
    def keep_title(fig, path, *args, **kwargs):  # and an empty file where the figure would be
        titles.append(fig.get_suptitle())
        open(path, "wb").close()

    monkeypatch.setattr(Figure, "savefig", keep_title)
    folder = tmp_path / "again"
    shutil.copytree(structures_run[1], folder)
    steps = json.loads((folder / "manifest.json").read_text())["steps"]
    redraw(folder)
    assert titles and f"{steps} steps a run" in titles[0], titles
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["steps"]  # a manifest that does not say (a folder from before steps were recorded): none claimed
    (folder / "manifest.json").write_text(json.dumps(manifest))
    redraw(folder)
    assert "steps a run" not in titles[1], titles


def test_the_structures_figure_gives_each_of_eight_structures_a_colour_of_its_own(tmp_path, monkeypatch):
    """Each structure's open circles (its unsettled long-run points) took the next colour of the axes' cycle, which
    therefore ran two colours a structure: S6, S7 and S8 were drawn in S1's, S2's and S3's colours, and the legend
    could not tell S2 from S7 nor S3 from S8. Every structure's line, in the legend and in the panels, has its own."""
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from trustsim.structures.figures import structures_figure
    from trustsim.structures.tables import FIGURES

    rows = [{"structure": f"S{k} reading", "horizon": h, "market.uncertainty": sigma, "steady_share": 0.2,
             **{c: 0.1 * k for c in FIGURES}, **{f"{c}.{end}": 0.1 * k + v for c in FIGURES
                                                  for end, v in (("low", -0.05), ("high", 0.05))}}
            for k in range(1, 9) for h in ("business_horizon", "long_run") for sigma in (0.0, 0.9)]
    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    structures_figure(pd.DataFrame(rows), tmp_path / "structures.png")
    legend = drawn[0].legends[0]
    colours = [to_hex(h.lines[0].get_color() if hasattr(h, "lines") else h.get_color()) for h in legend.legend_handles]
    assert len(colours) == 8 and len(set(colours)) == 8, colours
    for ax in drawn[0].axes:  # each panel draws the structures in the legend's colours, in order
        assert [to_hex(c.lines[0].get_color()) for c in ax.containers] == colours, ax.get_title()
