"""trustsim/sourcing.py, phase 2 (docs/ODD.md 7.2): exits, filling slots from the best quote, rebids and
play-offs; in running markets and on markets whose costs and reputations are set by hand."""

import numpy as np
import pytest
from conftest import column

from trustsim import TrustMarket


def test_every_exit_cause_occurs_and_every_exit_gets_a_new_relationship():
    """In a market of passive, poorly aligned and poor suppliers all four causes occur; each step the
    relationships begun equal the exits of this step plus the bankruptcies of the last (re-sourced now)."""
    totals = dict.fromkeys(("exits_low_trust", "exits_silent", "exits_outbid", "exits_bankruptcy"), 0)
    for seed in (1, 2):
        m = TrustMarket(rng=seed, attention_policy="passive", alignment_mean=0.6, supplier_cash=50.0, steps=60)
        carried = 0
        while m.running:
            m.step()
            ev = m.ev
            begun = int((m.market.age == 1).sum())  # age 0 during their first step, 1 after it
            assert m.steps == 1 or begun == ev.exit_low.sum() + ev.exit_silent.sum() + ev.exit_outbid.sum() + carried
            carried = int(ev.exit_bankrupt.sum())
        for c in totals:
            totals[c] += column(m, c).sum()
    print("\nexits over two runs:", {k: int(v) for k, v in totals.items()})
    for c, n in totals.items():
        assert n > 0, c


@pytest.mark.parametrize("partner_share", [0.0, 0.5])
def test_a_buyer_never_holds_one_supplier_in_two_slots(partner_share):
    """Dual sourcing (S3): exits, rebids and bankruptcies never leave a buyer with the same supplier in
    two of its slots, even when all its slots are rebid in the same step from a handful of suppliers."""
    duplicates, steps = 0, 0
    for seed in range(1, 6):
        m = TrustMarket(rng=seed, buyers=30, suppliers=5, slots_per_buyer=3, partner_share=partner_share,
                        rebid_interval=1, n_bids=8, supplier_cash=30.0, steps=80)
        while m.running:
            m.step()
            held = np.sort(m.market.sup.reshape(m.market.n_buyers, 3), axis=1)
            duplicates += int((np.diff(held, axis=1) == 0).sum())
            steps += 1
    print(f"\n{steps} steps of 30 buyers with 3 slots among 5 suppliers: {duplicates} duplicated slots")
    assert duplicates == 0
