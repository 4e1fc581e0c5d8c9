"""Many markets stepped together in one set of arrays: the engine behind sweeps, replications and comparisons.

An ``Ensemble`` holds markets (members) that share their array shapes (``members.batch_key``) one after
another in the arrays of ``Market``, and steps them with the phases of a single run: every phase is one
rule applied to every relationship of every market, so NumPy's cost per call is shared by all of them. Its
random numbers are counter-based (``draws.py``) and its per-market sums run market by market, so each
member's tables are byte-identical to those of the same run alone (``TrustMarket``), in any batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import phases
from .capacity import market_in_ensemble, markets_that_fit, memory_budget, record_in_ensemble
from .draws import Draws
from .market import Market
from .members import ParamSpace, batch_key
from .metrics import BuyerAccumulator, Recorder, step_measurements
from .params import Params
from .state import Events


class Markets:
    """The stepping shared by a single run and an ensemble: state, events, draws, measurements."""

    def setup(self, members: Sequence[Params], seeds: Sequence[int]) -> None:
        """Build the markets of ``members`` on ``seeds``, source every slot (step 0) and open the recorders."""
        self.pp = ParamSpace(members)
        self.draws = Draws(seeds)
        self.market = Market(self.pp, self.draws)
        mk = self.market
        self.ev = Events.cleared(mk.n_rel, mk.n_buyers, mk.members, demand=self.pp.market.market.demand)
        phases.initial_sourcing(self)
        steps = self.pp.shared.run.steps
        self.recorder = Recorder(steps, mk.members)
        self.buyer_sums = BuyerAccumulator(mk.n_buyers, steps // 2)

    def advance(self) -> None:
        """One quarter: the phases of docs/ODD.md section 3, then the measurements (phase 14)."""
        for phase in phases.SCHEDULE:
            phase(self)

    def measure(self) -> None:
        """Record this step's measurements (phase 14) and add it to the buyers' second-half sums."""
        self.recorder.append(step_measurements(self))
        self.buyer_sums.add(self)


class Ensemble(Markets):
    """Markets ``members`` (validated ``Params``, alike in ``batch_key``) with their ``seeds``, run together.

    ``run()`` steps them to ``run.steps``; ``recorder.member(i)`` is market ``i``'s time series, as
    ``TrustMarket(members[i], rng=seeds[i]).run().recorder`` would hold it.
    """

    def __init__(self, members: Sequence[Params], seeds: Sequence[int]):
        if len(members) != len(seeds) or not members:
            raise ValueError("an ensemble needs one seed per member, and at least one member")
        self.steps = 0
        self.setup(members, seeds)

    def step(self) -> None:
        """Advance every market one quarter and record it."""
        self.steps += 1
        self.advance()
        self.measure()

    def run(self) -> Ensemble:
        """Step every market to ``run.steps``; the ensemble, its recorders full."""
        for _ in range(self.pp.shared.run.steps):
            self.step()
        return self


def batch_size(params: Params, runs: int | None = None, workers: int = 1, budget_bytes: int = 64 << 20) -> int:
    """How many markets of this shape to step together: enough to spread NumPy's cost per call, few enough that
    the batch's memory stays within ``budget_bytes`` on every worker, and, for ``runs`` runs on ``workers``
    workers, at least two batches per worker, so that every worker has work to the end.

    A market costs about 2.6 KB per relationship while it runs (its state, a step's events and draws, the
    bidding tables and the measurements; measured with the default market), so 64 MiB holds about 300
    default markets: the throughput per run is flat from about 250 to 500 markets and falls beyond, where a
    phase's arrays no longer stay in the processor's caches. Each market also keeps its record of every step
    (``record_in_ensemble``), which the stepping does not read again but memory must hold: a long run's batch is
    as large as half the memory available allows (``markets_that_fit``).
    """
    per_market = market_in_ensemble(params)
    size = int(np.clip(memory_budget(workers, budget_bytes) // per_market, 1, 1000))
    if (fit := markets_that_fit(per_market + record_in_ensemble(params), workers)) is not None:
        size = min(size, fit)
    if runs is not None:
        size = min(size, runs // (2 * workers))  # rounded down: ⌈runs / size⌉ ≥ 2 · workers batches
    return max(size, 1)


def batched(jobs: Sequence, params_of: Callable[[object], Params], workers: int) -> list[list]:
    """``jobs`` in batches to step as ensembles: jobs whose markets share their shapes (``batch_key`` of
    ``params_of(job)``) together, each shape's batches of up to its own ``batch_size`` for ``len(jobs)`` runs on
    ``workers`` workers, in the jobs' order within a shape."""
    groups: dict = {}
    for job in jobs:
        groups.setdefault(batch_key(params_of(job)), []).append(job)
    out = []
    for group in groups.values():
        size = batch_size(params_of(group[0]), len(jobs), workers)
        out += [group[k: k + size] for k in range(0, len(group), size)]
    return out
