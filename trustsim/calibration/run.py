"""``trustsim calibrate``: the calibration run end to end, into a results folder that a kill does not lose.

The folder holds ``calibration.json`` (which calibration it is: a fingerprint of the scenario, the
``[calibrate]`` table, the budget and the seed) and ``journal.jsonl``: the run-noise estimate, then each
generation's population as it completes, then each coverage dataset. ``--resume`` reads them and goes on
from the last complete generation, which gives the same posterior as a run never interrupted. The tables,
report, figures and, last, the manifest are written from the journal at the end.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..arguments import refuse_blank, seed_argument, true_or_false
from ..capacity import workers_fault
from ..commands.run import refuse_other_files
from ..errors import COMMAND_LINE, PYTHON, ParamError, Words, safe_text
from ..experiments.cluster import ADDRESS_EXPECTED, dask_executor
from ..experiments.design import needs_salib, sobol_samples_fault
from ..experiments.execute import local_executor, shut_down
from ..experiments.journal import FolderRemoved, _start_afresh, append_entry, still_there
from ..experiments.progress import Progress
from ..folders import foreign_entries, guard_target, result_kind
from ..reading import json_or_none
from ..reproduce import code_digest, other_code
from ..results import replace_file
from .abc import Population, Problem, Settings, abc_smc, structure_weights, weighted_quantile
from .config import (
    JOURNAL,
    MAX_RUNS,
    STATE,
    TABLES,
    Calibration,
    budget_fault,
    coverage_budget_fault,
    coverage_fault,
    load_calibration,
    whole,
)
from .diagnostics import correlations, coverage_records, shrinkage, weighted_moments
from .journal import discard, interrupted, read_journal
from .predictive import predictive_table
from .report import write_outputs
from .screen import screening
from .simulate import COVERAGE, PREDICTIVE, Simulator, calibration_seed, run_noise


def fingerprint(cal: Calibration, budget: int, seed: int) -> str:
    """What makes two calibrations the same: the scenario's parameters, the [calibrate] table, budget, seed."""
    blob = json.dumps({"base": cal.base.nested(), "calibrate": cal.table, "budget": budget, "seed": seed},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def settings_of(cal: Calibration) -> Settings:
    """The ABC-SMC settings a validated ``[calibrate]`` table asks for."""
    s = cal.spec
    return Settings(population=s.population, budget=s.budget, generations=s.generations, quantile=s.quantile,
                    min_acceptance=s.min_acceptance, min_tolerance=float(s.min_tolerance),
                    switch_probability=s.switch_probability, seed=s.seed)


def problem_of(cal: Calibration, sim: Simulator, run_var: np.ndarray, observed=None) -> Problem:
    """The ABC problem of the calibrate-role targets: scale² = sd² + run-to-run variance of a particle's mean, the
    variance over all ``replicates`` (a figure some of them lack: docs/ODD.md, Calibration)."""
    targets = cal.calibrate_targets
    sd = np.array([t.sd for t in targets], dtype=float)
    idx = [cal.spec.targets.index(t) for t in targets]
    var = np.nan_to_num(np.asarray(run_var, dtype=float)[idx]) / cal.spec.replicates
    obs = np.array([t.value for t in targets], dtype=float) if observed is None else np.asarray(observed)
    return Problem(lo=np.array(cal.lo), hi=np.array(cal.hi), observed=obs, scale=np.sqrt(sd ** 2 + var), obs_sd=sd,
                   simulate=sim, structure_prior=np.array(cal.structure_prior), cost=cal.spec.replicates)

# --- the folder ---------------------------------------------------------------------------------------


def prepare(out: Path, state: dict, resume: bool, force: bool, protect=(), check_only: bool = False,
            cal: Calibration | None = None, words: Words = COMMAND_LINE) -> list[dict]:
    """Make the folder ready; returns the journal's entries when resuming. Refuses (ParamError, nothing
    written) a folder of other things without --force, a finished calibration without --force (it runs in its
    folder, so the old one would go before the new one is complete), an unfinished one without --resume or
    --force, --resume of a different calibration, and --resume of a journal with a line that is not ``cal``'s.
    ``check_only``: raise what would be refused, change nothing (before the workers start, so that a refusal
    costs no cluster and a cluster that fails writes nothing). ``words``: how a refusal names them (:class:`Words`)."""
    shown, w = safe_text(str(out)), words
    ours = out.is_dir() and result_kind(out) == "calibration" and not foreign_entries(out, "calibration")
    if ours and any(out.iterdir()):
        old = json_or_none(out / STATE)  # none to read (not JSON, a named pipe …): another calibration's
        old = old if isinstance(old, dict) else {}
        if resume:
            if old.get("fingerprint") != state["fingerprint"]:
                raise ParamError(shown, None, f"holds a different calibration (the file, {w.name('budget')} or "
                                              f"{w.name('seed')} changed); pass {w.force} instead of {w.resume} to "
                                              f"start afresh (its runs go), or {w.another}")
            if why := other_code(old.get("code")):
                raise ParamError(shown, None, f"{why}; finish it with that code, or pass {w.force} instead of "
                                              f"{w.resume} to start afresh (its runs go)")
            # a line cut short by a kill goes
            entries = read_journal(out / JOURNAL, cal, repair=not check_only, force=w.force)
            if not check_only:
                (out / JOURNAL).touch()  # appended to, never made anew (``append_entry``), from here on
            return [] if check_only else entries
        if not force:  # a calibration runs in its folder: the old one would go before the new one is complete
            if (out / "manifest.json").exists():
                raise ParamError(shown, None, f"holds a finished calibration; pass {w.force} to replace it (it is "
                                              f"removed as the new one starts), or {w.another}")
            raise ParamError(shown, None, f"holds an unfinished calibration; pass {w.resume} to finish it, or "
                                          f"{w.force} to start afresh")
        if check_only:
            return []
        for name in (STATE, JOURNAL, "manifest.json", *TABLES):
            (out / name).unlink(missing_ok=True)
        for png in (out / "figures").glob("*.png"):  # the old calibration's: the new one draws only its own
            png.unlink()
    else:
        if resume and out.exists():
            raise ParamError(shown, None, "holds no calibration to resume")
        guard_target(out, "calibration", force, protect=protect, words=words)
        above = next(p for p in (out, *out.parents) if os.path.lexists(p))
        if above != out and not above.is_dir():  # --out base.toml/x: made before any run, not when writing
            raise ParamError(shown, None, f"cannot write in {safe_text(str(above))} (not a folder)")
        if check_only:
            return []
        if out.is_dir() and any(out.iterdir()):
            _start_afresh(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a folder the system does not let be made (/proc/x), as every writer says it
        raise ParamError(shown, None, f"cannot write in {safe_text(str(out.parent))} ({exc.strerror})") from None
    replace_file(out / STATE, lambda tmp: tmp.write_text(json.dumps(state, indent=2, default=str) + "\n"))
    (out / JOURNAL).touch()  # appended to, never made anew (``append_entry``)
    return []

# --- the calibration ----------------------------------------------------------------------------------


def calibrate(file, out=None, *, budget: int | None = None, seed: int | None = None, workers: int | None = None,
              dask: str | None = None, resume: bool = False, force: bool = False, quiet: bool = True,
              check_coverage: int = 0, coverage_budget: int | None = None, screen: int = 0,
              predictive: bool = True, figures: bool = True, words: Words = PYTHON) -> dict:
    """Calibrate the scenario of a calibration file (a path or a ``Calibration``) and return its tables as
    pandas DataFrames: ``posterior`` (one row per particle of every generation), ``predictive``, ``coverage``
    (with ``check_coverage`` > 0), ``generations``, ``parameters`` (posterior summary, shrinkage),
    ``structures``; with ``screen`` > 0 only ``screening`` (Sobol indices of the targets over the priors, N base
    samples, a power of 2 from 8 as in a sweep), no calibration. With ``out`` the folder of ``trustsim calibrate``.
    ``words``: how a refusal names the arguments (``trustsim calibrate`` names its options)."""
    name = words.name
    seed = seed_argument(seed, name("seed"))  # a Generator told why it is no seed, as every function tells it
    budget, workers, check_coverage, coverage_budget, screen = (
        whole(name(arg), value, least, most) for arg, value, least, most in (
            ("budget", budget, 10, MAX_RUNS), ("workers", workers, 1, None),
            ("check_coverage", check_coverage, 0, None), ("coverage_budget", coverage_budget, 1, None),
            ("screen", screen, 0, None)))
    check_coverage, screen = check_coverage or 0, screen or 0
    if workers is not None and (fault := workers_fault(workers)):  # as --workers refuses it
        raise ParamError(name("workers"), None, fault)
    if dask is not None and not (isinstance(dask, str) and dask.strip()):  # "" ran locally, as no dask does
        raise ParamError(name("dask"), None, ADDRESS_EXPECTED)
    if resume and out is None:
        raise ParamError(name("resume"), None, "goes on in the folder of a calibration: give it with out=FOLDER")
    if screen and (fault := sobol_samples_fault(screen, words.given("screen", "{}"), 32)):
        raise ParamError(name("screen"), None, fault)
    if not isinstance(file, (Calibration, str, os.PathLike)):
        raise ParamError(None, "file", f"expected a calibration file's path, got {type(file).__name__}")
    resume, force, quiet, predictive, figures = (true_or_false(name(flag), value) for flag, value in (
        ("resume", resume), ("force", force), ("quiet", quiet), ("predictive", predictive), ("figures", figures)))
    refuse_blank(file, "file", "a calibration TOML file")  # load_scenario would name it "scenario"
    if out is not None and not isinstance(out, (str, os.PathLike)):  # not pathlib's TypeError
        raise ParamError(words.out, None, f"expected a folder's path, got {type(out).__name__}")
    refuse_blank(out, words.out, "a folder for the results")  # Path("") is the current folder, refused as that
    if out is not None and "\0" in str(out):  # no folder has such a name; os.lstat raises ValueError, not OSError
        raise ParamError(str(out), None, "a path cannot hold a NUL character (\\x00)")
    if not words.options and isinstance(file, (str, os.PathLike)):  # a results folder: not "is a directory"
        refuse_other_files(str(file), python=True)
    cal = file if isinstance(file, Calibration) else load_calibration(file)
    spec = cal.spec
    if budget is not None and not screen and (fault := budget_fault(spec, budget)):
        raise ParamError(name("budget"), None, fault)
    if screen and check_coverage:
        raise ParamError(name("check_coverage"), None, f"a screening calibrates nothing whose coverage it could "
                                                       f"check; give it without {name('screen')}")
    if coverage_budget is not None and not check_coverage:
        raise ParamError(name("coverage_budget"), None, f"applies to the coverage check: give it with "
                                                        f"{words.given('check_coverage', 'N')}")
    if check_coverage and coverage_budget is not None and (fault := coverage_budget_fault(spec, coverage_budget)):
        raise ParamError(name("coverage_budget"), None, fault)
    if budget is not None or seed is not None:
        spec = spec.model_copy(update={k: v for k, v in (("budget", budget), ("seed", seed)) if v is not None})
        cal = replace(cal, spec=spec)
    if check_coverage and (fault := coverage_fault(check_coverage, coverage_budget or default_coverage_budget(spec))):
        raise ParamError(name("check_coverage"), None, fault)
    state = {"trustsim": "calibration state", "name": cal.name, "source": cal.source, "sha256": cal.sha256,
             "fingerprint": fingerprint(cal, spec.budget, spec.seed), "code": code_digest(), "budget": spec.budget,
             "seed": spec.seed, "base": cal.base.nested(), "calibrate": cal.table}
    entries: list[dict] = []
    protect = [p for p in (getattr(cal.scenario, "path", None), *getattr(cal.scenario, "chain", ())) if p]
    if out is not None:
        out = Path(out)
        prepare(out, state, resume, force, protect, check_only=True, cal=cal, words=words)
    if screen:
        needs_salib("sobol", name("screen"), key=None)
    close = None
    if dask:
        executor, slots, close = dask_executor(dask, workers, name("dask"))
    else:
        executor, slots = local_executor(workers)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0, before, made, first = time.perf_counter(), 0.0, False, False
    new_folders = [p for p in (out, *out.parents) if not os.path.lexists(p)] if out is not None else []
    try:
        if out is not None:  # nothing is written before the workers are there
            entries = prepare(out, state, resume, force, protect, cal=cal, words=words)
            before, made, first = time_before(entries), True, not entries  # first: no earlier session's runs
        tables = _calibrate(cal, out, entries, executor, slots, quiet, check_coverage, coverage_budget, screen,
                            predictive, lambda: before + time.perf_counter() - t0)
    except OSError:
        removed(out, made)
        raise
    except Exception as exc:
        if first and not interrupted(exc):  # it would fail again on --resume: it leaves nothing in the way
            discard(out, new_folders)
        raise
    finally:
        shut_down(executor, close, cancel=True)
    wall = before + time.perf_counter() - t0
    tables["wall_seconds"] = wall
    if out is not None:
        try:
            write_outputs(out, cal, tables, started=started, wall=wall, figures=figures, workers=slots)
        except OSError:
            removed(out, True)
            raise
        except Exception as exc:
            if first and not interrupted(exc):
                discard(out, new_folders)
            raise
    return tables


def removed(out, made: bool) -> None:
    """FolderRemoved when the folder the calibration made is gone: whatever it failed to write there, that is why."""
    if made and not out.is_dir():
        raise FolderRemoved(str(out)) from None


def time_before(entries: list[dict]) -> float:
    """The seconds a resumed calibration took in its sessions before this one, to the last entry they kept: each
    entry records the calibration's time when it was written (a session's time after its last entry, whose runs
    are made again, is not counted)."""
    times = [e.get("seconds") for e in entries]
    return max((float(t) for t in times if isinstance(t, (int, float)) and not isinstance(t, bool)
                and math.isfinite(t) and t >= 0), default=0.0)


def _calibrate(cal: Calibration, out, entries, executor, slots, quiet, check_coverage, coverage_budget, screen,
               predictive, clock) -> dict:
    # on use: only this path needs pandas
    import pandas as pd

    spec = cal.spec
    measures = [t.measure for t in spec.targets]
    log = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    journal = ((lambda e: append_entry(out / JOURNAL, {**e, "seconds": round(clock(), 3)})) if out is not None
               else (lambda e: None))  # with the calibration's time so far: a resumed one's wall time goes on from it
    watch = (lambda: still_there(out / JOURNAL)) if out is not None else None  # after each batch, not each entry
    tables: dict = {}
    if screen:  # screening alone: which parameters the targets can inform, before any calibration

        tables["screening"] = screening(cal, executor, slots, screen, quiet, watch)
        tables["runs"] = 2 * screen * (len(cal.keys) + 2)
        return tables
    sim = Simulator(cal, executor, slots, measures, watch=watch)
    noise = next((e["noise"] for e in entries if "noise" in e), None)
    if noise is None:
        log(f"run-to-run variance from {spec.noise_replicates} runs at the prior's centre")
        var, _ = run_noise(sim, spec.noise_replicates)
        noise = {"variance": [None if not math.isfinite(v) else float(v) for v in var], "runs": spec.noise_replicates}
        journal({"noise": noise})
    run_var = np.array([np.nan if v is None else v for v in noise["variance"]], dtype=float)
    ids = [spec.targets.index(t) for t in cal.calibrate_targets]
    problem = problem_of(cal, Simulator(cal, executor, slots, [measures[i] for i in ids], watch=watch), run_var)
    settings = replace(settings_of(cal), budget=spec.budget - noise["runs"])
    start = [Population(**e["population"]) for e in entries if "population" in e]

    bar = Progress(f"calibrating {cal.name}", settings.budget, start[-1].used if start else 0, 0, quiet)
    problem.simulate.progress = lambda n: [bar.update(True) for _ in range(n)]
    problem.simulate.idle = bar.idle
    cut = {"generation": None, "runs": 0}  # a last generation the budget cut short: its runs were made all the same
    try:
        pops, why = abc_smc(problem, settings, start=start,
                            on_generation=lambda p: journal({"population": p.to_json()}),
                            on_cut=lambda t, n: cut.update(generation=t, runs=n))
    finally:
        bar.close()
    tables.update(posterior_tables(cal, pops, why, noise, problem))
    tables["runs"] = pops[-1].used + cut["runs"] + noise["runs"]
    tables["cut"] = cut
    if predictive:
        sim = Simulator(cal, executor, slots, measures, (PREDICTIVE,), watch=watch)
        tables["predictive"] = predictive_table(cal, pops[-1], sim, slots, quiet)
    if check_coverage:
        runs = coverage_budget or default_coverage_budget(spec)  # a data set kept on other runs is done again
        done = {e["coverage"][0]["dataset"]: e["coverage"] for e in entries
                if e.get("coverage") and e.get("runs", runs) == runs}
        rows = []
        for j in range(check_coverage):
            if j not in done:
                done[j] = coverage_dataset(cal, j, executor, slots, run_var, measures, runs, watch)
                journal({"coverage": done[j], "runs": runs})
                log(f"coverage dataset {j + 1}/{check_coverage} done")
            rows += done[j]
        tables["coverage"] = pd.DataFrame(rows)
    return tables


def coverage_dataset(cal: Calibration, j: int, executor, slots, run_var, measures, budget: int | None,
                     watch=None) -> list[dict]:
    """One simulation-based-calibration dataset: a truth drawn from the prior, its pseudo-observed figures (one
    simulation on a fresh seed plus the published figures' error), calibrated as the published ones are; ``watch``
    as the ``Simulator``'s."""
    spec = cal.spec
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(COVERAGE, j)))
    lo, hi = np.array(cal.lo), np.array(cal.hi)
    truth = lo + rng.random(len(lo)) * (hi - lo)
    prior = np.array(cal.structure_prior)
    m = int(rng.choice(len(prior), p=prior / prior.sum()))
    ids = [spec.targets.index(t) for t in cal.calibrate_targets]
    fitted = [measures[i] for i in ids]
    truth_sim = Simulator(cal, executor, slots, fitted, (COVERAGE, j, 1), watch=watch)  # the truth's own seeds
    clean = truth_sim(truth[None, :], np.array([m]), np.zeros((1, 3), int))[0]
    sim = Simulator(cal, executor, slots, fitted, (COVERAGE, j, 0), watch=watch)
    sd = np.array([t.sd for t in cal.calibrate_targets])
    pseudo = clean + rng.standard_normal(len(sd)) * sd
    problem = problem_of(cal, sim, run_var, observed=pseudo)
    settings = replace(settings_of(cal), budget=budget or default_coverage_budget(spec),
                       seed=calibration_seed(spec.seed, COVERAGE, j))
    pops, _ = abc_smc(problem, settings)
    rows = coverage_records(j, cal.keys, truth, pops[-1])
    weights = structure_weights(pops[-1], len(cal.structures))
    for r in rows:
        r.update({"structure_truth": cal.structure_label(m), "structure_weight_of_truth": float(weights[m]),
                  "generations": len(pops), "tolerance": pops[-1].tolerance})
    return rows


def default_coverage_budget(spec) -> int:
    """Runs per coverage data set unless told: the calibration's budget, at most 2000 but never less than one
    generation (the budget covers one, ``budget_fault``)."""
    return min(spec.budget, max(2000, spec.population * spec.replicates))


def posterior_tables(cal: Calibration, pops: list[Population], why: str, noise: dict, problem: Problem) -> dict:
    """The posterior (every generation's particles), the generations, the parameters' summary, the structures."""
    # on use: only this path needs pandas, abc, diagnostics
    import pandas as pd


    rows = []
    for p in pops:
        theta, m, w, d = p.arrays()
        for i in range(len(w)):
            rows.append({"generation": p.generation, "particle": i, "weight": w[i],
                         "structure": cal.structure_label(int(m[i])), "distance": d[i],
                         **{k: theta[i, j] for j, k in enumerate(cal.keys)}})
    posterior = pd.DataFrame(rows)
    gens = pd.DataFrame([{"generation": p.generation, "tolerance": p.tolerance, "proposed": p.proposed,
                          "acceptance": len(p.weight) / p.proposed, "runs_so_far": p.used + noise["runs"],
                          "ess": 1.0 / float(np.sum(np.square(p.weight)))} for p in pops])
    last = pops[-1]
    theta, _, w, _ = last.arrays()
    mean, cov = weighted_moments(last)
    shrink = shrinkage(last, cal.lo, cal.hi)
    default = cal.base.flat()
    params = pd.DataFrame([{"parameter": k, "prior_lo": cal.lo[j], "prior_hi": cal.hi[j], "default": default[k],
                            "mean": mean[j], "sd": math.sqrt(max(cov[j, j], 0.0)),
                            **{f"q{int(q * 100):02d}": float(weighted_quantile(theta[:, j], w, q))
                               for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
                            "shrinkage": shrink[j]} for j, k in enumerate(cal.keys)])
    sw = structure_weights(last, len(cal.structures))
    structures = pd.DataFrame([{"structure": cal.structure_label(i), "prior": cal.structure_prior[i],
                                "posterior": sw[i]} for i in range(len(cal.structures))])
    corr = pd.DataFrame(correlations(last), index=list(cal.keys), columns=list(cal.keys))
    return {"posterior": posterior, "generations": gens, "parameters": params, "structures": structures,
            "correlations": corr, "stop": why, "noise": noise, "scale": problem.scale.tolist()}
