"""Where the market has settled: what P4's productivity ratio and the ideas channel are made of.

Two measurements docs/experiments.md ("Where the market settles") reads, each over seeds 1…N at the defaults:

1. P4 compares the units per purchasing hour of the most trusted fifth of buyers with the least trusted fifth's
   (``patterns.measure.trust_fifths``). A fifth's units per hour is its units (its market share) over its
   purchasing hours (its suppliers' trust), so the ratio is split into the fifths' units and hours, at the
   default run's length and at ``--steps``.
2. The decomposition D switches both kinds of ideas off at once. Here each is switched off alone (the
   suppliers' ideas to their buyers, ``innovation.idea_rate``; the buyers' process ideas to their suppliers,
   ``innovation.process_idea_rate``) at both lengths, with the partner share advantage over the run's second
   half, what each costs it (paired on seeds), and what partners and aggressive buyers pay per component and
   per unit of cost of ownership there.

    python scripts/settled_channels.py                  # 10 000 steps, 30 and 20 seeds: about 80 s on one core
    python scripts/settled_channels.py --steps 400 --seeds 4
"""

from __future__ import annotations

import argparse

import numpy as np

from trustsim.columns import COLUMN_NAMES
from trustsim.commands.argtypes import pos_int, run_steps
from trustsim.ensemble import Ensemble
from trustsim.params import Params
from trustsim.patterns.measure import quintile_figures, trust_fifths
from trustsim.stats import interval_text, mean_ci

IDEAS_OFF = {"baseline": {}, "supplier ideas off": {"innovation.idea_rate": 0.0},
             "process ideas off": {"innovation.process_idea_rate": 0.0},
             "both off": {"innovation.idea_rate": 0.0, "innovation.process_idea_rate": 0.0}}


def ci(values, sign: str = "+") -> str:
    """A mean with its 95% interval (signed unless ``sign`` is empty)."""
    return interval_text(*mean_ci(values), sign=sign)


def p4_parts(steps: int, seeds: int) -> dict[str, np.ndarray]:
    """Per seed: P4's ratio of the fifths' units per purchasing hour, the ratio of their mean units and of their
    mean purchasing hours over the long run."""
    ens = Ensemble([Params().replace(**{"run.steps": steps})] * seeds, list(range(1, seeds + 1))).run()
    sums, each = ens.buyer_sums, ens.market.buyers_each
    units, hours = (sums.matrix[sums.FIELDS.index(f)] for f in ("units", "purchasing"))
    parts = {"units per purchasing hour": [], "units": [], "purchasing hours": []}
    for i in range(seeds):
        buyers = sums.frame(ens, i)
        low, high, _ = trust_fifths(buyers)
        lo, hi = (i * each + part["buyer"].to_numpy() for part in (low, high))
        parts["units per purchasing hour"].append(quintile_figures(buyers)["units_per_hour_ratio"])  # P4's own
        parts["units"].append(units[hi].mean() / units[lo].mean())
        parts["purchasing hours"].append(hours[hi].mean() / hours[lo].mean())
    return {k: np.array(v) for k, v in parts.items()}


def ideas_off(steps: int, seeds: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per variant of ``IDEAS_OFF``: each seed's partner share advantage over the second half, and the mean over
    seeds of every column there, ``(groups, columns)``."""
    members = [Params().replace(**{"run.steps": steps}, **change) for change in IDEAS_OFF.values()
               for _ in range(seeds)]
    ens = Ensemble(members, list(range(1, seeds + 1)) * len(IDEAS_OFF)).run()
    rec = ens.recorder
    settled = rec.steady_series_each()[:, steps // 2:].mean(axis=1).reshape(len(IDEAS_OFF), seeds)
    columns = rec.data[steps // 2: rec.n].mean(axis=0)                       # (markets, groups, columns)
    columns = columns.reshape(len(IDEAS_OFF), seeds, *columns.shape[1:]).mean(axis=1)
    return dict(zip(IDEAS_OFF, settled, strict=True)), dict(zip(IDEAS_OFF, columns, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=run_steps, default=10_000,
                    help="steps a run (default 10 000; σ 0.3 settles by ~4 000)")
    ap.add_argument("--seeds", type=pos_int, help="seeds a variant (default 30 for P4, 20 for the ideas)")
    args = ap.parse_args()
    for steps in sorted({Params().run.steps, args.steps}):
        parts = p4_parts(steps, args.seeds or 30)
        print(f"P4, {steps} steps, most / least trusted fifth: "
              + "; ".join(f"{name} {ci(x, '')}" for name, x in parts.items()))
    price, tco = (COLUMN_NAMES.index(c) for c in ("component_price", "tco_per_unit"))
    for steps in sorted({Params().run.steps, args.steps}):
        advantage, columns = ideas_off(steps, args.seeds or 20)
        for name, x in advantage.items():
            (p_price, a_price), (p_tco, a_tco) = columns[name][:2, price], columns[name][:2, tco]
            print(f"{name}, {steps} steps: partner share advantage {ci(x)}, lost {ci(advantage['baseline'] - x)}; "
                  f"price per component partner {p_price:.3f} / aggressive {a_price:.3f}, "
                  f"cost of ownership per unit {p_tco:.3f} / {a_tco:.3f}")


if __name__ == "__main__":
    main()
