"""A calibration's outputs: posterior.parquet, predictive.csv, coverage.csv, screening.csv, calibration.md,
figures and, last, manifest.json (which marks a finished folder); ``trustsim report`` redraws the figures
from the tables."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import __version__
from ..errors import ParamError, counted
from ..markdown import table_lines
from ..params import validate
from ..reading import read_csv, read_json, read_parquet
from ..results import manifest, replace_file
from .config import STATE, Calibration, build_calibration


def write_outputs(out: Path, cal: Calibration, tables: dict, *, started: str, wall: float, figures: bool,
                  workers: int) -> None:
    """Write a calibration's tables, ``calibration.md``, its figures (if ``figures``) and its manifest into ``out``."""
    if "posterior" in tables:
        replace_file(out / "posterior.parquet", lambda tmp: tables["posterior"].to_parquet(tmp, index=False))
    for name in ("predictive", "coverage", "screening"):
        if name in tables:
            replace_file(out / f"{name}.csv", lambda tmp, n=name: tables[n].to_csv(tmp, index=False))
    replace_file(out / "calibration.md", lambda tmp: tmp.write_text(markdown(cal, tables, wall)))
    if figures:
        draw(out)
    sc = cal.scenario

    scenario = sc or SimpleNamespace(name=cal.name, path=None, sha256=None, chain=(), overrides={})
    info = manifest(scenario, cal.base, started, wall, out, kind="calibration", version=__version__,
                    calibration_file={"path": cal.source, "sha256": cal.sha256}, calibrate=cal.table,
                    budget=cal.spec.budget, calibration_seed=cal.spec.seed, workers=workers,
                    runs=int(tables["runs"]), stop=tables.get("stop", "screening only"),
                    **({"cut_generation": tables["cut"]} if "cut" in tables else {}),
                    parameters=list(cal.keys),
                    prior={k: [a, b] for k, a, b in zip(cal.keys, cal.lo, cal.hi, strict=True)},
                    structures=[cal.structure_label(i) for i in range(len(cal.structures))],
                    run_variance=tables.get("noise", {}).get("variance"), distance_scale=tables.get("scale"))
    replace_file(out / "manifest.json", lambda tmp: tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False,
                                                                                default=str) + "\n"))


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def _f(x, digits=3) -> str:
    try:
        return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"
    except TypeError:
        return str(x)


def _cut_note(tables: dict) -> str:
    """The runs of a last generation the budget cut short (not kept: fewer than half its particles accepted)."""
    cut = tables.get("cut") or {}
    return (f"; {cut['runs']} of them in generation {cut['generation']}, which the budget cut short before half "
            f"its particles were accepted and which is not kept" if cut.get("runs") else "")


def markdown(cal: Calibration, tables: dict, wall: float) -> str:
    """calibration.md: what was calibrated, how far it got, the posterior, the structures, the checks."""
    if "posterior" not in tables:
        return (f"# Screening of {cal.name}\n\nFrom `{cal.source}` (sha256 {cal.sha256}): {tables['runs']} market "
                f"runs in {wall:.0f} s. Seed {cal.spec.seed}.\n" + "\n".join(screening_lines(tables["screening"]))
                + "\n")
    gens, params = tables["generations"], tables["parameters"]
    lines = [f"# Calibration of {cal.name}", "",
             f"ABC-SMC (docs/ODD.md, Calibration) from `{cal.source}` (sha256 {cal.sha256}): "
             f"{counted(len(gens), 'generation')} of {cal.spec.population} particles, "
             f"{int(tables['runs'])} market runs of a budget of {cal.spec.budget} "
             f"(run-noise estimate included{_cut_note(tables)}), stopped by {tables['stop']}, in {wall:.0f} s. "
             f"Seed {cal.spec.seed}.",
             "", "Targets fitted (role calibrate): " + ", ".join(
                 f"{t.name} = {t.value:g} ± {t.sd:g}" + (f" ({t.source})" if t.source else "")
                 for t in cal.calibrate_targets) + ". Held out: "
             + (", ".join(f"{t.name} = {t.value:g}" for t in cal.spec.targets if t.role == "held_out") or "none")
             + ", and every pattern" + (f" but {_listed(cal.fitted_patterns)}, whose published figures are the "
                                        "fitted targets (checked in sample)" if cal.fitted_patterns else "")
             + ".", "",
             "## Generations", ""]
    lines += table_lines(["generation", "tolerance", "proposed", "acceptance", "ESS", "runs so far"],
                         ([str(g.generation), _f(g.tolerance), str(g.proposed), f"{g.acceptance:.3f}", f"{g.ess:.0f}",
                           str(g.runs_so_far)] for g in gens.itertuples()))
    lines += ["", "## Posterior (last generation)", "",
              "Shrinkage is 1 − posterior variance / prior variance: near 0 the figures say nothing about a "
              "parameter, near 1 they fix it.", ""]
    lines += table_lines(["parameter", "prior", "default", "median", "90% interval", "mean ± sd", "shrinkage"],
                         ([f"`{p.parameter}`", f"U({_f(p.prior_lo)}, {_f(p.prior_hi)})", _f(p.default), _f(p.q50),
                           f"[{_f(p.q05)}, {_f(p.q95)}]", f"{_f(p['mean'])} ± {_f(p.sd, 2)}", f"{p.shrinkage:.2f}"]
                          for _, p in params.iterrows()))
    corr = tables["correlations"]
    strong = [(a, b, corr.loc[a, b]) for i, a in enumerate(corr.index) for b in corr.index[i + 1:]
              if abs(corr.loc[a, b]) >= 0.3]
    lines += ["", "Posterior correlations of |r| ≥ 0.3 (a ridge: the figures fix a combination): "
              + ("; ".join(f"`{a}` × `{b}` {r:+.2f}" for a, b, r in strong) or "none") + "."]
    st = tables["structures"]
    if len(st) > 1:
        lines += ["", "## Structural readings (ABC model choice)", ""]
        lines += table_lines(["reading", "prior", "posterior"],
                             ([str(r.structure), f"{r.prior:.3f}", f"{r.posterior:.3f}"] for _, r in st.iterrows()))
        ratio = (st.posterior / st.prior).replace([np.inf], np.nan)
        spread = ratio.max() / max(ratio.min(), 1e-12)
        lines += ["", "The figures " + ("cannot tell the readings apart (every Bayes factor below 3)." if spread < 3
                                        else f"favour {st.loc[ratio.idxmax(), 'structure']} (largest Bayes factor "
                                             f"{spread:.1f} against the least favoured).")]
    if "predictive" in tables:
        pr = tables["predictive"]
        t = pr[pr.kind == "target"]
        lines += ["", "## Posterior predictive checks", "",
                  "Each target re-simulated at posterior draws on fresh seeds, with the published figure's error "
                  "added (a new published figure's 90% interval), against the scenario's own parameters.", ""]
        lines += table_lines(["target", "role", "published", "posterior mean [90%]", "inside", "defaults mean [90%]"],
                             ([str(r["name"]), str(r.role), _f(r.published), f"{_f(r['mean'])} [{_f(r.lo90)}, "
                               f"{_f(r.hi90)}]", "yes" if r.inside90 else "MISS", f"{_f(r.defaults_mean)} "
                               f"[{_f(r.defaults_lo90)}, {_f(r.defaults_hi90)}]"] for _, r in t.iterrows()))
        pt = pr[pr.kind == "pattern"]
        if len(pt):
            lines += ["", f"Patterns held at {int(pt.draws.iloc[0])} posterior draws against at the defaults, "
                          f"{int(pt.seeds.iloc[0])} seeds per variant each (the suite's verdicts use 30: with so "
                          f"few, a pattern judged by an interval may hold or fail where 30 seeds say otherwise, "
                          f"either way). Role calibrate: the pattern's published figures are fitted targets, so it "
                          f"is checked in sample:", ""]
            fitted = cal.fitted_patterns  # from the targets, also for a record written before rows had this role
            lines += table_lines(["pattern", "role", "P(holds), posterior", "holds at the defaults"],
                                 ([str(r["name"]), "calibrate" if r["name"] in fitted else "held_out",
                                   f"{r.p_posterior:.2f}", "yes" if r.p_defaults else "no"]
                                  for _, r in pt.iterrows()))
    if "coverage" in tables and len(tables["coverage"]):
        # on use: only this path needs diagnostics
        from .diagnostics import coverage_summary

        cov = tables["coverage"]
        n = cov["dataset"].nunique()
        lines += ["", "## Coverage on pseudo-observed figures", "",
                  f"{n} truths drawn from the prior, their figures simulated on fresh seeds with the published "
                  "figures' error, each calibrated like the published ones:", ""]
        for s in coverage_summary(cov.to_dict("records")):
            lines.append(f"- {s['level']:.0%} intervals held the truth in {s['rate']:.0%} of {s['n']} "
                         f"(sampling error ± {2 * s['se']:.0%}: {'within' if s['within'] else 'OUTSIDE'})")
        lines += ["", "| parameter | 50% held | 90% held | recovery: corr(truth, posterior mean) |",
                  "|---|---|---|---|"]
        for k, g in cov.groupby("parameter", sort=False):
            r = np.corrcoef(g.truth, g.posterior_mean)[0, 1] if len(g) > 2 else np.nan
            lines.append(f"| `{k}` | {g.in50.mean():.0%} | {g.in90.mean():.0%} | {_f(r, 2)} |")
    return "\n".join(lines) + "\n"


def screening_lines(sc) -> list[str]:
    """The screening section: the informed parameters, then every index."""
    # on use: only this path needs screen
    from .screen import INFORMED, informed

    chosen = informed(sc)
    lines = ["", "## Screening (Sobol indices of the targets over the priors' box)", "",
             f"Parameters whose total index reaches {INFORMED} on some calibrate-role target: "
             + (", ".join(f"`{k}` ({v:.2f})" for k, v in chosen) or "none")
             + ". The others move no fitted figure: calibrating them would return their prior.", "",
             "| target | role | parameter | S1 | ST |", "|---|---|---|---|---|"]
    lines += [f"| {r.target} | {r.role} | `{r.parameter}` | {r.S1:.2f} ± {r.S1_conf:.2f} | "
              f"{r.ST:.2f} ± {r.ST_conf:.2f} |" for r in sc.itertuples()]
    if "filled" in sc and sc["filled"].any():
        gaps = sc[sc["filled"] > 0].drop_duplicates("target")
        lines += ["", "Points where a target's figure is missing (a posture without buyers, say) were given the "
                  "target's mean before its indices were computed: "
                  + ", ".join(f"{r.target} {r.filled} of {r.points}" for r in gaps.itertuples()) + "."]
    return lines

# --- figures ------------------------------------------------------------------------------------------


def draw(folder: Path) -> list[Path]:
    """The figures of a calibration folder, from its tables: marginals against priors, pairs, predictive
    checks and coverage (each where its table exists)."""
    # only drawing needs matplotlib
    from matplotlib.figure import Figure


    folder = Path(folder)
    cal = _recorded(folder)
    (folder / "figures").mkdir(exist_ok=True)
    keys = list(cal.keys)
    paths = []

    def save(fig, name):
        path = folder / "figures" / name
        replace_file(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
        paths.append(path)

    if (folder / "screening.csv").exists():
        sc = read_csv(folder / "screening.csv")
        st = sc.pivot(index="parameter", columns="target", values="ST").reindex(keys)
        fig = Figure(figsize=(max(6, 0.7 * len(keys) * max(1, len(st.columns)) / 2), 3.5), layout="constrained")
        ax = fig.subplots()
        st.plot.bar(ax=ax, width=0.8)
        ax.axhline(0.05, color="k", ls="--", lw=1)
        ax.set_ylabel("Sobol total index")
        ax.set_title("Screening: total indices of each target")
        ax.legend(fontsize=7)
        save(fig, "screening.png")
    if not (folder / "posterior.parquet").exists():
        return paths
    post = read_parquet(folder / "posterior.parquet")
    last = post[post.generation == post.generation.max()]
    w = last["weight"].to_numpy()

    d = len(keys)
    cols = min(d, 3)
    rows = -(-d // cols)
    fig = Figure(figsize=(4 * cols, 3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for j, k in enumerate(keys):
        ax = axes.flat[j]
        ax.hist(last[k], bins=20, weights=w, density=True, range=(cal.lo[j], cal.hi[j]), color="#0072B2", alpha=0.7,
                label="posterior")
        ax.axhline(1 / (cal.hi[j] - cal.lo[j]), color="k", ls="--", lw=1, label="prior")
        ax.axvline(cal.base.flat()[k], color="#D55E00", lw=1, label="default")
        ax.set_title(k, fontsize=9)
    for ax in list(axes.flat)[d:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Posterior marginals against uniform priors")
    save(fig, "marginals.png")

    fig = Figure(figsize=(2.2 * d, 2.2 * d), layout="constrained")
    axes = fig.subplots(d, d, squeeze=False)
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            ax = axes[i, j]
            if i == j:
                ax.hist(last[a], bins=15, weights=w, color="#0072B2")
            else:
                ax.scatter(last[b], last[a], s=4 + 200 * w, alpha=0.5, color="#0072B2")
                ax.set_xlim(cal.lo[j], cal.hi[j])
                ax.set_ylim(cal.lo[i], cal.hi[i])
            if i == d - 1:
                ax.set_xlabel(b.split(".")[1], fontsize=7)
            if j == 0:
                ax.set_ylabel(a.split(".")[1], fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior pairs (last generation; size by weight)")
    save(fig, "pairs.png")

    if (folder / "predictive.csv").exists():
        pr = read_csv(folder / "predictive.csv")
        t = pr[pr.kind == "target"]
        fig = Figure(figsize=(2.6 * len(t), 3.2), layout="constrained")
        axes = fig.subplots(1, len(t), squeeze=False)
        for ax, (_, r) in zip(axes.flat, t.iterrows(), strict=False):
            _interval(ax, [0], [r["mean"]], [r.lo90], [r.hi90], color="#0072B2", label="posterior")
            _interval(ax, [1], [r.defaults_mean], [r.defaults_lo90], [r.defaults_hi90], color="#7a7a7a",
                      label="defaults")
            ax.axhline(r.published, color="#D55E00", ls="--", label="published")
            ax.set_xticks([0, 1], ["post.", "dflt."])
            ax.set_title(f"{r['name']}\n({r.role})", fontsize=8)
        fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=7)
        fig.suptitle("Posterior predictive 90% intervals against the published figures")
        save(fig, "predictive.png")
        pt = pr[pr.kind == "pattern"]
        if len(pt):
            fig = Figure(figsize=(max(6, 0.45 * len(pt)), 3), layout="constrained")
            ax = fig.subplots()
            x = np.arange(len(pt))
            ax.bar(x - 0.2, pt.p_posterior, 0.4, label="posterior", color="#0072B2")
            ax.bar(x + 0.2, pt.p_defaults.astype(float), 0.4, label="defaults", color="#7a7a7a")
            ax.set_xticks(x, [f"{name}\nfitted" if name in cal.fitted_patterns else name for name in pt["name"]])
            ax.set_ylabel("probability it holds")
            ax.set_title("How often each pattern holds (fitted: its published figures are targets, so it is checked in "
                         "sample; the rest are held out)", fontsize=8)
            ax.legend(fontsize=7)
            save(fig, "patterns.png")
    if (folder / "coverage.csv").exists():
        cov = read_csv(folder / "coverage.csv")
        fig = Figure(figsize=(3 * d, 3), layout="constrained")
        axes = fig.subplots(1, d, squeeze=False)
        for ax, (j, k) in zip(axes.flat, enumerate(keys), strict=False):
            g = cov[cov.parameter == k]
            _interval(ax, g.truth, g.posterior_mean, g.lo90, g.hi90, ms=3, color="#0072B2", alpha=0.7)
            ax.plot([cal.lo[j], cal.hi[j]], [cal.lo[j], cal.hi[j]], "k--", lw=1)
            ax.set_title(f"{k}\n90% held {g.in90.mean():.0%}", fontsize=8)
            ax.set_xlabel("truth", fontsize=7)
        axes.flat[0].set_ylabel("posterior mean, 90% interval")
        save(fig, "coverage.png")
    return paths


def _interval(ax, x, mean, lo, hi, ms=6, **style) -> None:
    """Each mean as a point on a line from its interval's lower to its upper end. A mean may lie outside its 90%
    interval (a skewed or few-particle weighted posterior), which error bars measured from the mean cannot draw."""
    ax.vlines(x, lo, hi, color=style["color"], alpha=style.get("alpha"))
    ax.plot(x, mean, "o", ms=ms, **style)


def _recorded(folder: Path) -> Calibration:
    """The calibration a folder holds, from its state or, in a record kept without it (docs/calibration/), from
    its manifest."""
    if (folder / STATE).exists():
        state = read_json(folder / STATE, expected="a calibration's state")
        return build_calibration(state["name"], state["source"], validate(state["base"]), state["calibrate"])
    info = read_json(folder / "manifest.json", expected="a JSON manifest")
    return build_calibration(info["scenario"]["name"], info["calibration_file"]["path"], validate(info["params"]),
                             info["calibrate"])


def redraw(folder: str | Path) -> list[Path]:
    """``trustsim report`` on a calibration folder."""

    folder = Path(folder)
    if not (folder / "manifest.json").exists():
        raise ParamError(str(folder), None, "an unfinished calibration has no figures; finish it with --resume")
    return draw(folder)
