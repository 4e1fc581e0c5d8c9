"""The trustsim side of a calibration: candidates simulated as ensembles on the workers, seeds from the
calibration's root seed, and the run-to-run variance of the targets."""

from __future__ import annotations

import warnings

import numpy as np

from ..ensemble import batched
from ..experiments.cluster import kept_busy, result_of, slots_now
from ..params import MAX_SEED
from ..patterns.measure import measure_many
from .config import Calibration
from .targets import target_values

# seed namespaces: the inference, the noise estimate, posterior predictive draws, coverage truths, screening
ABC, NOISE, PREDICTIVE, COVERAGE, SCREEN = range(5)


def calibration_seed(root: int, *key: int) -> int:
    """A market run's seed from the calibration's root seed and the run's identity (63 bits): far from the tests'
    seeds (1–30, 101–112) and from every other run's, whatever the order or the workers."""
    state = np.random.SeedSequence(root, spawn_key=tuple(int(k) for k in key)).generate_state(1, dtype=np.uint64)[0]
    return int(state) & MAX_SEED


def measure_jobs(jobs: list) -> list[list[float]]:
    """In a worker: markets alike in their shapes run as one ensemble; each one's target figures."""
    members, seeds, measures = [j[0] for j in jobs], [j[1] for j in jobs], jobs[0][2]
    return [target_values(fig, measures) for fig in measure_many(members, seeds)]


class Simulator:
    """``simulate(theta, structure, keys)`` for the ABC core: each candidate's figures, the mean over its
    ``replicates`` runs, every run in ensembles spread over the executor's workers."""

    def __init__(self, cal: Calibration, executor, slots: int, measures: list[str], namespace: tuple = (ABC,),
                 replicates: int | None = None, watch=None):
        self.cal, self.executor, self.slots, self.measures = cal, executor, slots, measures
        self.namespace = namespace
        self.replicates = replicates or cal.spec.replicates
        self.progress = None  # called with the number of runs each finished batch held
        self.idle = None  # called with why (if known) after each IDLE_SECONDS in which no batch finished
        self.watch = watch  # called after each finished batch; raises to stop (FolderRemoved: the folder removed)

    def runs(self, params: list, seeds: list[int]) -> np.ndarray:
        """The figures of each (params, seed) run, ``(runs, measures)``, in the order given: ensembles kept
        ``2 × slots`` deep on the executor (on a Dask cluster, made and kept for the threads it has at each call:
        workers that joined during a generation get the next one's batches), as a sweep's are, and taken as they
        finish. ``watch``, called after each one, may raise to stop (the results folder removed): the batches still
        pending are left to the executor's owner, whose shut-down cancels them."""
        def slots():  # a cluster's threads as it has them now: workers join it while a calibration runs
            return slots_now(self.executor, self.slots)

        parts = batched(range(len(params)), params.__getitem__, slots())
        work = ((part, measure_jobs, [(params[i], seeds[i], self.measures) for i in part]) for part in parts)
        out = np.full((len(params), len(self.measures)), np.nan)
        for part, fut in kept_busy(self.executor, work, lambda: 2 * slots(), self.idle):
            out[part] = np.array(result_of(fut), dtype=float).reshape(len(part), -1)
            if self.progress:
                self.progress(len(part))
            if self.watch:
                self.watch()
        return out

    def __call__(self, theta: np.ndarray, structure: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The figures of particles ``theta`` under structures ``structure``, each the mean over those of its
        replicate runs that gave it (the distance's scale counts all of them: docs/ODD.md, Calibration, says why that
        is left so)."""
        reps = self.replicates
        params, seeds = [], []
        for th, m, key in zip(theta, structure, keys, strict=True):
            p = self.cal.params(th, int(m))
            for r in range(reps):
                params.append(p)
                seeds.append(calibration_seed(self.cal.spec.seed, *self.namespace, *key, r))
        figs = self.runs(params, seeds).reshape(len(theta), reps, -1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(figs, axis=1)


def run_noise(sim: Simulator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The targets' run-to-run variance from ``n`` runs at the prior's centre in its most probable structure:
    (variance per figure, the figures of the runs)."""
    cal = sim.cal
    centre = (np.array(cal.lo) + np.array(cal.hi)) / 2
    m = int(np.argmax(cal.structure_prior))
    p = cal.params(centre, m)
    seeds = [calibration_seed(cal.spec.seed, NOISE, i) for i in range(n)]
    figs = sim.runs([p] * n, seeds)
    return np.nanvar(figs, axis=0, ddof=1), figs
