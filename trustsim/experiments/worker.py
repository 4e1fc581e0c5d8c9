"""What a worker does: run one task, or a batch of tasks together as an ensemble, and return each run's row.

A task is one design point with one seed (``design.tasks``). Nothing here raises: a run that fails becomes a
row with status "error", and a failing ensemble is retried run by run so that only the failing run fails.
"""

from __future__ import annotations

import io
import math
import time
import traceback
from pathlib import Path

from ..ensemble import Ensemble
from ..metrics import COLUMN_NAMES, POSTURE_GROUPS
from ..stats import advantages
from .design import STEADY_COLUMNS

FAIL_ENV = "TRUSTSIM_FAIL_RUNS"  # test hook: comma-separated run ids that raise on purpose


def metric_row(summary: dict) -> dict[str, float | None]:
    """A run's long-run figures by posture as ``posture.column``, plus the partner advantages (from its summary,
    ``Recorder.summary``).

    A posture with no buyers reports nothing (None) but its size.
    """
    long_run = summary["long_run"]
    row: dict[str, float | None] = {}
    for g in POSTURE_GROUPS:
        empty = long_run[g]["buyers"] == 0
        for c in COLUMN_NAMES:
            row[f"{g}.{c}"] = None if empty and c != "buyers" else long_run[g][c]
    row.update(advantages(summary))
    return {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in row.items()}


def steady_row(summary: dict) -> dict[str, bool | int]:
    """A run's ``steady`` and ``mser5_warm_up_steps``, as its summary's ``steady_state`` gives them (MSER-5 on the
    partner share advantage, ``Recorder.summary``)."""
    state = summary["steady_state"]
    return dict(zip(STEADY_COLUMNS, (bool(state["steady"]), int(state["mser5_warm_up_steps"])), strict=True))


def _row(task: dict) -> dict:
    return {"run_id": task["run_id"], "point": task["point"], "replicate": task["replicate"], "seed": task["seed"],
            "status": "ok", "error": "", **task["factors"]}


def _result(task: dict, row: dict, recorder, wall: float) -> dict:
    """A finished run's row (its long-run figures and whether its long run is steady) and, if asked, its time
    series as Parquet bytes."""
    summary = recorder.summary()
    row.update(metric_row(summary))
    row.update(steady_row(summary))
    ts = None
    if task["timeseries"]:
        frame = recorder.frame()
        frame.insert(0, "run_id", task["run_id"])
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        ts = buf.getvalue()
    return {"row": row, "wall": round(wall, 4), "timeseries": ts}


def task_params(task: dict):
    """A task's parameters: its sweep's base with the design point's factors."""
    return task["base"].replace(**task["factors"])


def run_one(task: dict) -> dict:
    """Run one design point with one seed; never raises: a failure becomes a row with status "error"."""
    # on use: only this path needs model
    from ..model import TrustMarket

    t0 = time.perf_counter()
    row = _row(task)
    try:
        if task["fail"]:
            raise RuntimeError(f"deliberate failure of run {task['run_id']} ({FAIL_ENV} test hook)")
        params = task_params(task)
        model = TrustMarket(params, rng=task["seed"]).run()
        return _result(task, row, model.recorder, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 — recorded, the sweep goes on
        row["status"] = "error"
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
        row["error"] = " ".join(f"{type(exc).__name__}: {exc}{at}".split())
    return {"row": row, "wall": round(time.perf_counter() - t0, 4), "timeseries": None}


def run_batch(batch: list[dict]) -> list[dict]:
    """Run tasks whose markets share their shapes together, as one ensemble (``ensemble.py``); never raises.

    Each run's figures are those it has alone. Should the ensemble fail, its runs are run one at a time, so
    that only a run that fails by itself is recorded as failed; so is a run the test hook fails on purpose.
    """
    alone = [t for t in batch if t["fail"]]
    together = [t for t in batch if not t["fail"]]
    results = [run_one(t) for t in alone]
    if len(together) == 1:
        return results + [run_one(together[0])]
    if together:
        t0 = time.perf_counter()
        try:
            params = [task_params(t) for t in together]
            ens = Ensemble(params, [t["seed"] for t in together]).run()
            wall = (time.perf_counter() - t0) / len(together)
            results += [_result(t, _row(t), ens.recorder.member(i), wall) for i, t in enumerate(together)]
        except Exception:  # noqa: BLE001 — find the run that fails, alone
            results += [run_one(t) for t in together]
    return results
