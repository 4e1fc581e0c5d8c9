"""The runs behind the structures and the regime map: each point's markets over seeds, stepped together in
ensembles on the sweep's workers (``experiments.execute.local_executor``), each reduced to its headline
figures by horizon; and, per structure, the pattern suite's runs (``patterns.run_all``) on the same workers."""

from __future__ import annotations

import math
from concurrent.futures import FIRST_COMPLETED, wait

from .. import patterns
from ..ensemble import Ensemble, batched
from ..experiments.execute import local_executor
from ..metrics import BUSINESS_STEPS
from ..params import Params
from ..stats import posture_means, share_advantage
from .grid import params_of

HORIZONS = {"business_horizon": "business horizon", "long_run": "long run"}
"""The windows of ``Recorder.summary()`` the figures are taken over: the first ten years (40 steps) and the
second half of the run; whether that half is steady (MSER-5) is reported beside it (``steady_share``;
docs/ODD.md decision 40: at the defaults it is near steady, not steady)."""


def headline_figures(recorder) -> list[dict]:
    """One run's partner advantages per horizon: market share per buyer (in units of the equal share 1/n) and
    profit per buyer summed over the horizon's steps (the mean profit per step, partner minus aggressive,
    times the window's length), with whether the run reached steady state; NaN when a posture is empty."""
    s = recorder.summary()
    first, last = s["long_run_steps"]
    length = {"business_horizon": min(BUSINESS_STEPS, recorder.n), "long_run": last - first + 1}
    steady = float(s["steady_state"]["steady"])
    out = []
    for h in HORIZONS:
        means = posture_means(s, h)  # over the steps both postures had buyers
        share = None if means is None else share_advantage(*means)
        profit = (means[0]["profit"] - means[1]["profit"]) * length[h] if share is not None else math.nan
        out.append({"horizon": h, "share_advantage": math.nan if share is None else share,
                    "profit_advantage": profit, "steady": steady})
    return out


def _headline_batch(batch: list[tuple[int, int, Params]]) -> list[dict]:
    """Run points alike in ``batch_key`` as one ensemble; a row per run and horizon."""
    ids, seeds, members = zip(*batch, strict=True)
    ens = Ensemble(list(members), list(seeds)).run()
    return [{"point": i, "seed": seed, **fig}
            for m, (i, seed) in enumerate(zip(ids, seeds, strict=True))
            for fig in headline_figures(ens.recorder.member(m))]


def _pattern_runs(label: str, base: Params, seeds: int):
    """The pattern suite's runs under one structure, in this worker."""
    return label, patterns.run_all(base, seeds=seeds, workers=1)


def run_points(base: Params, points: list[dict], seeds: int, workers: int | None = None,
               suites: dict[str, Params] | None = None, suite_seeds: int = 0, progress=None):
    """Every point over seeds 1 … ``seeds`` and, for each ``suites`` entry, the pattern suite over seeds
    1 … ``suite_seeds``; returns ``(rows, suite_runs)``: a row per point, seed and horizon
    (:func:`headline_figures`), and ``{label: runs}`` for ``patterns.evaluate``.

    Runs alike in shape go together in ensembles, at least two batches per worker; the suites, the largest
    tasks, are handed out first. ``progress(n)`` is called with the runs each finished task held."""
    jobs = [(i, seed, params_of(base, p)) for i, p in enumerate(points) for seed in range(1, seeds + 1)]
    executor, slots = local_executor(workers)
    batches = batched(jobs, lambda job: job[2], slots)
    rows, suite_runs, pending = [], {}, {}
    try:
        for label, params in (suites or {}).items():
            pending[executor.submit(_pattern_runs, label, params, suite_seeds)] = None
        for batch in batches:
            pending[executor.submit(_headline_batch, batch)] = len(batch)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                n = pending.pop(fut)
                if n is None:
                    label, runs = fut.result()
                    suite_runs[label] = runs
                    n = sum(len(v) for v in runs.values())
                else:
                    rows.extend(fut.result())
                if progress:
                    progress(n)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown()
    return rows, suite_runs
