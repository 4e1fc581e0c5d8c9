"""What learning buyers learn from: the values the two sets of terms realise, and the attractions the buyers hold.

R3 asks whether partner terms are learned where they pay. docs/ODD.md (Pattern tests, R3) reads two figures of
``scenarios/learning.toml`` from this script, over steps 100 … ``--steps`` of seeds 1 … ``--seeds``, in the steps
where a market has relationships on both sets of terms:

1. how much more a relationship on partner terms realises a step than one on market terms (the value of
   ``rules.realised_value``, each term's mean over its relationships), at the defaults, with short-termist
   buyers (``horizon`` 2) and in the null model;
2. how far apart the buyers' attractions to the two sets of terms are (mean of partner − market): once no
   relationship of a market is on market terms, nothing realised moves their attraction any more.

    python scripts/learned_values.py                    # 600 steps, 5 seeds: about 8 s
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from trustsim import TrustMarket, load_scenario, rules
from trustsim.commands.argtypes import pos_int, run_steps
from trustsim.patterns import null_model

LEARNING = Path(__file__).resolve().parents[1] / "scenarios" / "learning.toml"

FIRST_STEP = 100  # the early steps, while the half-and-half start still sorts itself out, are left out


def gaps(params, seeds: int) -> tuple[float, float, int]:
    """Mean per-step value gap (partner − market terms), mean attraction gap, and the steps they are over."""
    values, attractions = [], []
    for seed in range(1, seeds + 1):
        model = TrustMarket(params.replace(**{"run.seed": seed}), rng=seed)
        mk = model.market
        while model.running:
            model.step()
            if model.steps < FIRST_STEP or mk.partner_terms.all() or not mk.partner_terms.any():
                continue
            v = rules.realised_value(model.ev.tco, model.ev.own_cost_cut, model.params.buyers.horizon)
            values.append(v[mk.partner_terms].mean() - v[~mk.partner_terms].mean())
            attractions.append(np.nanmean(mk.attraction_partner - mk.attraction_market))
    return float(np.mean(values)), float(np.mean(attractions)), len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=run_steps, default=600, help="steps of each run (default 600)")
    parser.add_argument("--seeds", type=pos_int, default=5, help="seeds 1 … N (default 5)")
    args = parser.parse_args()
    base = load_scenario(LEARNING, steps=args.steps).params
    for name, params in (("defaults", base), ("short-termists (horizon 2)", base.replace(**{"buyers.horizon": 2.0})),
                         ("null model", null_model(base))):
        value, attraction, steps = gaps(params, args.seeds)
        print(f"{name:28s} value partner − market {value:+.3f} a step, attraction gap {attraction:+.3f} "
              f"({steps} market-steps with both terms)")


if __name__ == "__main__":
    main()
