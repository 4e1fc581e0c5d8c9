"""The after-sales mechanisms of docs/ODD.md section 7 in running markets.

Each test runs small markets through ``TrustMarket`` and checks a mechanism against docs/ODD.md with
bookkeeping of its own: what the supplier last heard from each buyer, the unvoiced dissatisfaction
each buyer has built up, each supplier's cash flows. Where a phase's input matters (trust at the
moment of inspection, cash at the moment of service), ``Hooks`` runs a callback just before that
phase inside an ordinary ``model.step()``. Stochastic results pool several seeds and print the
figures they compare.
"""

import math

import numpy as np
import pytest
from conftest import column

from trustsim import TrustMarket, phases, rules

# --- helpers -----------------------------------------------------------------------------------

class Hooks:
    """Runs ``callback(model)`` just before a phase, inside ``model.step()`` (so Mesa counts the steps)."""

    def __init__(self, monkeypatch):
        self.before = {}
        schedule = tuple(phases.SCHEDULE)

        def wrap(phase):
            def run(model):
                for callback in self.before.get(phase, ()):
                    callback(model)
                phase(model)
            return run

        monkeypatch.setattr(phases, "SCHEDULE", tuple(wrap(p) for p in schedule))

    def add(self, phase, callback):
        self.before.setdefault(phase, []).append(callback)

    def reset(self):
        """Forget every callback (before the next model of a test)."""
        self.before.clear()


def long_run(model, group, name):
    return model.recorder.summary()["long_run"][group][name]


def binomial_z(successes, probabilities):
    """How many standard deviations ``successes`` lies from the sum of independent ``probabilities``."""
    p = np.asarray(probabilities, dtype=float)
    sd = math.sqrt(max(float((p * (1 - p)).sum()), 1e-12))
    return (successes - p.sum()) / sd


class LastWord:
    """When each relationship's supplier last heard from its buyer, kept apart from the model's clock.

    Hearing from a buyer is the sale that began the relationship, a complaint (answering it is a
    contact) or a contact the supplier makes. Relationships that began this step have age 0 until the
    end of the step. Callbacks added before ``trust_update`` see the last word before this step's
    contacts; those added later before ``innovation``, after them.
    """

    def __init__(self, hooks: Hooks, model: TrustMarket):
        self.step = np.zeros(model.market.n_rel, dtype=np.int64)
        hooks.add(phases.complaints, self._sales)
        hooks.add(phases.attention, self._complaints)
        hooks.add(phases.innovation, self._contacts)

    def _sales(self, m):
        self.step[m.market.age == 0] = m.steps

    def _complaints(self, m):
        self.step[m.ev.complained] = m.steps

    def _contacts(self, m):
        self.step[m.ev.contacted] = m.steps

    def silent_for(self, m):
        return m.steps - self.step


# --- 7. attention and erosion (S6, S7, S13) -----------------------------------------------------

def test_passive_attention_lets_partner_trust_erode():
    """P7's first half: with suppliers that only answer complaints, partners' trust ends lower."""
    passive, silence = [], []
    for seed in range(1, 6):
        for policy, out in (("passive", passive), ("silence", silence)):
            m = TrustMarket(steps=120, rng=seed, attention_policy=policy)
            m.run()
            out.append(long_run(m, "partner", "trust_buyer"))
    print("\nlong-run partner trust by seed, passive:", np.round(passive, 3),
          "silence-triggered:", np.round(silence, 3))
    assert max(passive) < min(silence)
    assert np.mean(silence) - np.mean(passive) > 0.1


@pytest.mark.parametrize("policy", ["silence", "periodic", "passive"])
def test_contacts_follow_the_policy(monkeypatch, policy):
    """silence: a contact exactly when ``contact_interval`` steps have passed without a word from the buyer;
    periodic: whenever the relationship's age is a positive multiple of ``contact_interval``; passive:
    never (it only answers complaints)."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=11, attention_policy=policy, steps=60)
    words = LastWord(hooks, m)
    ci = m.params.suppliers.contact_interval
    contacts = []

    def check(x):
        mk, ev = x.market, x.ev
        silent = words.silent_for(x)  # since the last word before this step's contacts
        if policy == "silence":
            assert np.array_equal(ev.contacted, silent >= ci)
            assert silent.max() <= ci
        elif policy == "periodic":
            assert np.array_equal(ev.contacted, (mk.age > 0) & (mk.age % ci == 0))
        else:
            assert not ev.contacted.any()
        contacts.append(int(ev.contacted.sum()))

    hooks.add(phases.trust_update, check)
    m.run()
    print(f"\n{policy}: {sum(contacts)} contacts over {len(contacts)} steps")
    assert (sum(contacts) > 0) == (policy != "passive")


def test_without_complaints_silence_keeps_the_periodic_calendar():
    """With no complaint ever (``complaint_gap`` = 1) the only words are sales and contacts, so a supplier
    stepping in after ``contact_interval`` silent steps contacts exactly when a periodic one does."""
    calendars = {}
    for policy in ("silence", "periodic"):
        m = TrustMarket(rng=11, attention_policy=policy, complaint_gap=1.0, steps=40)
        contacted = []
        while m.running:
            m.step()
            contacted.append(m.ev.contacted.copy())
        assert column(m, "complaints").sum() == 0
        calendars[policy] = np.array(contacted)
    print(f"\n{calendars['silence'].sum()} contacts under each policy")
    assert calendars["silence"].sum() > 0
    assert np.array_equal(calendars["silence"], calendars["periodic"])


@pytest.mark.parametrize("policy", ["passive", "silence"])
def test_unattended_relationships_erode_toward_the_baseline(monkeypatch, policy):
    """A relationship not contacted for longer than ``contact_interval`` steps: both trusts move toward
    ``trust.baseline`` by ``erosion`` of the distance; the others keep their trust through the phase."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=12, attention_policy=policy, steps=60)
    words = LastWord(hooks, m)
    t, ci = m.params.trust, m.params.suppliers.contact_interval
    before, eroded = {}, []
    hooks.add(phases.attention, lambda x: before.update(b=x.market.trust_b.copy(), s=x.market.trust_s.copy()))

    def check(x):  # trust as the attention phase left it
        unattended = (words.silent_for(x) > ci) & ~x.ev.contacted
        for name, old in (("trust_b", before["b"]), ("trust_s", before["s"])):
            expected = np.where(unattended, old + t.erosion * (t.baseline - old), old)
            np.testing.assert_allclose(getattr(x.market, name), expected, rtol=0, atol=1e-15)
        eroded.append(int(unattended.sum()))

    hooks.add(phases.trust_update, check)
    m.run()
    print(f"\n{policy}: {sum(eroded)} relationship-steps eroded")
    assert (sum(eroded) > 0) == (policy == "passive")


# --- 6. complaints (S7) ------------------------------------------------------------------------

def test_candour_depends_on_trust_and_recent_contact_and_alignment_fixes(monkeypatch):
    """A dissatisfied buyer (gap > ``complaint_gap``) complains with probability 0.2 + 0.8·trust_b if it
    heard from its supplier within the last ``contact_interval`` steps (this one included), else 0.2; a
    complaint is fixed with probability ``alignment``. Passive suppliers leave many buyers uncontacted."""
    hooks = Hooks(monkeypatch)
    stats = {"recent": [0, []], "not recent": [0, []], "fixed": [0, []]}

    def one_market(seed):  # the hooks close over this market's state and run within m.run()
        hooks.reset()
        m = TrustMarket(steps=120, rng=seed, attention_policy="passive", alignment_mean=0.7)
        words = LastWord(hooks, m)
        state = {}

        def before_complaints(x):
            recent = words.silent_for(x) <= x.params.suppliers.contact_interval
            state.update(trust=x.market.trust_b.copy(), recent=recent)

        def count(x):  # after the complaints phase, before attention adds fixes of surfaced dissatisfaction
            ev, mk = x.ev, x.market
            dissatisfied = ev.gap > x.params.service.complaint_gap
            assert not (ev.complained & ~dissatisfied).any()
            recent = state["recent"]
            for name, rows in (("recent", dissatisfied & recent), ("not recent", dissatisfied & ~recent)):
                stats[name][0] += int(ev.complained[rows].sum())
                stats[name][1].extend(np.where(state["recent"][rows], 0.2 + 0.8 * state["trust"][rows], 0.2))
            stats["fixed"][0] += int(ev.fixed[ev.complained].sum())
            stats["fixed"][1].extend(mk.alignment[mk.sup[ev.complained]])

        hooks.add(phases.complaints, before_complaints)
        hooks.add(phases.attention, count)
        m.run()

    for seed in (1, 2, 3):
        one_market(seed)
    print()
    for name, (observed, probs) in stats.items():
        z = binomial_z(observed, probs)
        print(f"{name:>10}: {observed} of {len(probs)} (expected {np.sum(probs):.1f}, z = {z:+.2f})")
        assert len(probs) > 200, name
        assert abs(z) < 4, name
    rate = {k: v[0] / len(v[1]) for k, v in stats.items()}
    assert rate["recent"] > rate["not recent"] + 0.3


def test_an_unfixed_complaint_turns_the_gap_and_the_built_up_dissatisfaction_into_distrust(monkeypatch):
    """Phase 6 (S7, docs/ODD.md 7.6): a voiced complaint left unfixed carries this step's gap plus the
    dissatisfaction the buyer had built up unvoiced into the trust update; a complaint (fixed or not) clears what
    had built up; a dissatisfied buyer that stays silent adds its gap to it."""
    hooks = Hooks(monkeypatch)
    carried = 0

    def one_market(seed):  # the hooks close over this market's state and run within m.run()
        hooks.reset()
        m = TrustMarket(rng=seed, steps=60, attention_policy="passive", alignment_mean=0.6)
        before = {}
        hooks.add(phases.complaints, lambda x: before.update(latent=x.market.latent.copy()))

        def check(x):  # after the complaints phase, before attention surfaces anything
            nonlocal carried
            ev, latent = x.ev, before["latent"]
            unfixed = ev.complained & ~ev.fixed
            np.testing.assert_allclose(ev.unfixed_gap, np.where(unfixed, ev.gap + latent, 0.0), rtol=1e-12, atol=0)
            silent = (ev.gap > x.params.service.complaint_gap) & ~ev.complained
            np.testing.assert_allclose(x.market.latent, np.where(ev.complained, 0.0, latent + np.where(
                silent, ev.gap, 0.0)), rtol=1e-12, atol=0)
            carried += int((unfixed & (latent > 0)).sum())

        hooks.add(phases.attention, check)
        m.run()

    for seed in (1, 2):
        one_market(seed)
    print(f"\n{carried} unfixed complaints carried dissatisfaction built up before them")
    assert carried > 10


# --- the silent exit (S7, P7's second half) -----------------------------------------------------

@pytest.mark.parametrize("policy", ["passive", "silence"])
def test_buyers_that_leave_silently_had_not_complained(monkeypatch, policy):
    """'The steps before' a silent exit: every step since the buyer's dissatisfaction last was cleared
    (by a complaint, a contact that surfaced it, or the start of the relationship). Kept here from the
    events alone: each step a dissatisfied buyer that did not complain adds its gap; a complaint or a
    contact clears it. The buyers that leave silently are exactly those whose sum exceeds
    ``exit_dissatisfaction`` (and whose trust is not below ``exit_threshold``: those count as low-trust
    exits); none of them complained in those steps, and as no single gap reaches
    ``exit_dissatisfaction`` there were always at least two of them."""
    hooks = Hooks(monkeypatch)
    quiet_steps, unvoiced_steps, exits = [], [], 0
    max_gap = 0.0

    def one_market(seed):  # the hooks close over this market's state and run within m.run()
        hooks.reset()
        m = TrustMarket(rng=seed, attention_policy=policy, alignment_mean=0.6, steps=80)
        p, n = m.params, m.market.n_rel
        acc, unvoiced, since_complaint = np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64)
        predicted = {}

        def before_sourcing(x):
            mk = x.market
            rows = ~mk.vacant & (mk.trust_b >= p.buyers.exit_threshold) & (acc > p.buyers.exit_dissatisfaction)
            predicted["buyers"] = np.bincount(mk.buyer_of[rows], minlength=mk.n_buyers)
            quiet_steps.extend(since_complaint[rows])
            unvoiced_steps.extend(unvoiced[rows])

        def after_sourcing(x):
            assert np.array_equal(x.ev.exit_silent, predicted["buyers"])
            new = x.market.age == 0  # begun this step (after an exit, a lost rebid or a bankruptcy)
            acc[new], unvoiced[new], since_complaint[new] = 0.0, 0, 0

        def after_complaints(x):
            nonlocal max_gap
            ev = x.ev
            max_gap = max(max_gap, float(ev.gap.max()))
            unheard = (ev.gap > p.service.complaint_gap) & ~ev.complained
            acc[:] = np.where(ev.complained, 0.0, acc + np.where(unheard, ev.gap, 0.0))
            unvoiced[:] = np.where(ev.complained, 0, unvoiced + unheard)
            since_complaint[:] = np.where(ev.complained, 0, since_complaint + 1)

        def after_attention(x):
            acc[x.ev.contacted], unvoiced[x.ev.contacted] = 0.0, 0

        hooks.add(phases.sourcing, before_sourcing)
        hooks.add(phases.supplier_conduct, after_sourcing)
        hooks.add(phases.attention, after_complaints)
        hooks.add(phases.trust_update, after_attention)
        m.run()
        return m

    for seed in (1, 2, 3):
        m = one_market(seed)
        exits += column(m, "exits_silent").sum()
    p = m.params
    quiet_steps, unvoiced_steps = np.array(quiet_steps), np.array(unvoiced_steps)
    assert exits == len(quiet_steps) > (20 if policy == "passive" else 0)
    print(f"\n{policy}: {exits:.0f} silent exits; steps without a complaint before them: min {quiet_steps.min()}, "
          f"median {np.median(quiet_steps):.0f}; unvoiced dissatisfied steps: min {unvoiced_steps.min()}, median "
          f"{np.median(unvoiced_steps):.0f}; largest single gap {max_gap:.2f}")
    assert max_gap < p.buyers.exit_dissatisfaction  # so one gap never makes a buyer leave …
    assert unvoiced_steps.min() >= 2  # … every silent exit followed at least two unvoiced dissatisfied steps
    assert (quiet_steps >= unvoiced_steps).all()  # and no complaint since the first of them


# --- 12. suppliers' finance, exit and entry (S12) -----------------------------------------------

def test_bankrupt_supplier_is_replaced_and_its_buyers_resourced(monkeypatch):
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=4, buyers=30, suppliers=10, steps=20)
    for _ in range(5):
        m.step()
    mk, p = m.market, m.params
    j = int(np.bincount(mk.sup, minlength=mk.n_suppliers).argmax())
    old_agent, old_id = m.suppliers[j], m.suppliers[j].unique_id
    old_traits = {name: getattr(mk, name)[j] for name in ("unit_cost", "quality", "alignment")}
    held = {}

    def break_supplier(x):
        if x.steps == 6:
            held["rows"] = np.flatnonzero((x.market.sup == j) & ~x.market.vacant)
            x.market.linked[held["rows"][0]] = True  # a linked relationship: its buyer pays to switch
            x.market.supplier_cash[j] = -1e12  # cannot recover this step

    hooks.add(phases.supplier_finance, break_supplier)
    m.step()
    rows = held["rows"]
    assert len(rows) > 1 and m.ev.bankruptcies == 1
    assert np.array_equal(m.ev.exit_bankrupt, np.bincount(mk.buyer_of[rows], minlength=mk.n_buyers))
    assert mk.vacant[rows].all() and not mk.linked[rows].any()
    # the Mesa agent is replaced: a new agent at the same index, the old one gone
    new_agent = m.suppliers[j]
    assert old_agent not in m.agents and new_agent in m.agents
    assert new_agent.unique_id != old_id and new_agent.index == j
    assert len(m.agents_by_type[type(new_agent)]) == p.market.suppliers
    # the entrant's fresh traits (ODD 5)
    assert mk.supplier_cash[j] == p.suppliers.supplier_cash == new_agent.cash
    assert mk.unit_cost[j] != old_traits["unit_cost"]
    assert (mk.quality[j], mk.alignment[j]) != (old_traits["quality"], old_traits["alignment"])
    assert mk.cost_floor[j] == pytest.approx((1 - p.suppliers.improvable) * mk.unit_cost[j])
    assert mk.base_defect[j] == mk.base_defect0[j] == pytest.approx(1 - mk.quality[j])
    assert 0.3 <= mk.alignment[j] <= 1.0 and 0.8 <= mk.quality[j] <= 1.0 and mk.unit_cost[j] >= 0.5
    assert mk.vacant[mk.sup == j].all()  # it starts with no customers
    assert column(m, "exits_bankruptcy")[-1] == m.ev.exit_bankrupt.sum() and column(m, "bankruptcies")[-1] >= 1
    # the next sourcing phase fills every vacancy with a fresh relationship; the linked one costs its buyer
    m.step()
    assert not mk.vacant.any()
    assert (mk.age[rows] == 1).all() and m.ev.rebid[rows].all()
    assert m.ev.cost_parts["switching"][rows[0]] == pytest.approx(p.linkage.linkage_switching_cost)
    assert (m.ev.cost_parts["switching"][rows[1:]] == 0).all()


def test_bankruptcies_in_a_poor_market_end_exactly_the_bankrupts_relationships(monkeypatch):
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=13, supplier_cash=200.0, contact_cost=100.0, steps=40)
    before = {}
    hooks.add(phases.supplier_finance, lambda x: before.update(
        sup=x.market.sup.copy(), vacant=x.market.vacant.copy(), ids=[s.unique_id for s in x.suppliers]))
    bankruptcies = 0
    while m.running:
        m.step()
        mk = m.market
        gone = np.array([s.unique_id != i for s, i in zip(m.suppliers, before["ids"], strict=True)])
        assert gone.sum() == m.ev.bankruptcies
        ended = gone[before["sup"]] & ~before["vacant"]
        assert np.array_equal(m.ev.exit_bankrupt, np.bincount(mk.buyer_of[ended], minlength=mk.n_buyers))
        assert np.array_equal(mk.vacant, ended)  # vacant until the next sourcing phase, and only those
        assert (mk.supplier_cash >= 0).all()
        assert (mk.supplier_cash[gone] == m.params.suppliers.supplier_cash).all()
        bankruptcies += m.ev.bankruptcies
    print(f"\n{bankruptcies} bankruptcies, {column(m, 'exits_bankruptcy').sum():.0f} relationships ended by them")
    assert bankruptcies > 5


# --- 9. information sharing and innovation (S9, S18, S19) ---------------------------------------

def test_ideas_flow_only_above_the_sharing_thresholds(monkeypatch):
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=2, steps=40)
    inn, th = m.params.innovation, m.params.trust.share_threshold
    own = {}
    hooks.add(phases.innovation, lambda x: own.update(cost=x.market.own_cost.copy()))
    supplier_ideas = process_ideas = 0
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        assert (ev.supplier_ideas[mk.trust_s < th] == 0).all()
        mutual = (mk.trust_s >= th) & (mk.trust_b >= th)
        assert (ev.process_ideas[~mutual] == 0).all()
        # each supplier idea takes idea_value of the distance to the buyer's floor off its own cost
        n = mk.per_buyer(ev.supplier_ideas)
        floor = (1 - m.params.suppliers.improvable) * m.params.downstream.own_cost
        np.testing.assert_allclose(mk.own_cost, floor + (own["cost"] - floor) * (1 - inn.idea_value) ** n, rtol=1e-12)
        supplier_ideas += ev.supplier_ideas.sum()
        process_ideas += ev.process_ideas.sum()
    print(f"\nthreshold {th}: {supplier_ideas} supplier ideas, {process_ideas} process ideas")
    assert supplier_ideas > 0 and process_ideas > 0
    assert mk.ideas_received.sum() == supplier_ideas

    closed = TrustMarket(rng=2, steps=40, share_threshold=1.0)
    unit_cost0 = closed.market.unit_cost.copy()
    closed.run()
    assert closed.market.ideas_received.sum() == 0 and column(closed, "ideas_received").sum() == 0
    assert (closed.market.own_cost == closed.params.downstream.own_cost).all()
    assert np.array_equal(closed.market.unit_cost, unit_cost0) or column(closed, "bankruptcies").sum() > 0
    assert (closed.market.defect_mult == 1.0).all()

    open_ = TrustMarket(rng=2, steps=40, share_threshold=0.0)
    reached = np.zeros(open_.market.n_rel, dtype=bool)
    hooks.add(phases.face_to_face_time, lambda x: reached.__ior__(x.ev.process_ideas > 0) if x is open_ else None)
    open_.run()
    assert open_.market.ideas_received.min() > 0  # every buyer, aggressive ones too
    assert reached[~open_.market.rel_partner].any()  # process ideas flow to aggressive buyers' suppliers too


@pytest.mark.parametrize("plan_sharing", ["partner_terms", "trust"])
def test_spec_changes_are_anticipated_only_where_the_buyer_shares_plans(monkeypatch, plan_sharing):
    Hooks(monkeypatch)
    m = TrustMarket(rng=14, uncertainty=0.9, steps=60, plan_sharing=plan_sharing)
    th = m.params.trust.share_threshold
    only_partner = plan_sharing == "partner_terms"
    changes = {"shared": [0, []], "not shared": [0, 0]}
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        assert not (ev.unanticipated & ~ev.spec_change).any()
        plans = (mk.trust_b >= th) & (mk.rel_partner | (not only_partner))
        shares = ev.spec_change & plans
        assert (ev.unanticipated[ev.spec_change & ~plans]).all()  # nothing shared, nothing anticipated
        changes["shared"][0] += int((shares & ~ev.unanticipated).sum())
        changes["shared"][1].extend(mk.trust_b[shares])
        assert (m.ev.cost_parts["mismatch"] == m.params.innovation.mismatch_cost * ev.unanticipated).all()
    anticipated, probs = changes["shared"]
    z = binomial_z(anticipated, probs)
    print(f"\nanticipated {anticipated} of {len(probs)} shared changes (expected {np.sum(probs):.1f}, z = {z:+.2f})")
    assert len(probs) > 100 and abs(z) < 4


@pytest.mark.parametrize("refit", ["current_spec", "incumbent_keeps"])
def test_a_change_the_supplier_anticipated_redraws_its_fit_from_a_narrower_spread(monkeypatch, refit):
    """Phase 9 (S14, S19, docs/ODD.md 7.9): a specification change re-draws the incumbent's fit as
    ``exp(spread · ε)``, ε ~ N(0, 1), with ``spread`` = ``fit_spread`` for a change it did not see coming and
    ``fit_spread · (1 − trust_s)`` for one the buyer's shared plans let it anticipate: so log(fit) / spread is a
    standard normal draw in both cases (its mean square near 1)."""
    hooks = Hooks(monkeypatch)
    spread = 0.2
    z = {"anticipated": [], "unanticipated": []}

    def one_market(seed):  # the hooks close over this market's state and run within m.run()
        hooks.reset()
        m = TrustMarket(rng=seed, steps=60, uncertainty=0.9, fit_spread=spread, refit=refit)
        before = {}
        hooks.add(phases.innovation, lambda x: before.update(trust_s=x.market.trust_s.copy()))

        def check(x):  # as the innovation phase left the fits
            ev, log_fit = x.ev, np.log(x.market.fit)
            seen = ev.spec_change & ~ev.unanticipated & (before["trust_s"] < 1.0)
            z["anticipated"].extend(log_fit[seen] / (spread * (1.0 - before["trust_s"][seen])))
            z["unanticipated"].extend(log_fit[ev.unanticipated] / spread)

        hooks.add(phases.face_to_face_time, check)
        m.run()

    for seed in (1, 2, 3):
        one_market(seed)
    print()
    for name, values in z.items():
        values = np.array(values)
        print(f"{refit}, {name} changes: {len(values)}, mean square of log(fit) / spread {np.mean(values ** 2):.3f}")
        assert len(values) > 150
        assert 0.9 < np.mean(values ** 2) < 1.1  # its sd at 5000 draws: about 0.02


# --- 13. adaptation ----------------------------------------------------------------------------

def test_adaptation_changes_the_partner_share_within_bounds():
    shares_by_seed = []
    for seed in (3, 4):
        m = TrustMarket(steps=120, rng=seed, enabled=True, partner_share=0.5, imitation_interval=4)
        shares = []
        while m.running:
            before = m.market.is_partner.copy()
            m.step()
            if m.steps % 4 != 0:  # postures change only in an imitation round
                assert np.array_equal(m.market.is_partner, before)
            shares.append(m.market.is_partner.mean())
        shares_by_seed.append(np.array(shares))
    for seed, shares in zip((3, 4), shares_by_seed, strict=True):
        print(f"\nseed {seed}: partner share of buyers from {shares[0]:.2f} to {shares[-1]:.2f}, "
              f"range [{shares.min():.2f}, {shares.max():.2f}]")
        assert ((shares >= 0) & (shares <= 1)).all()
        assert len(np.unique(shares)) > 1
    still = TrustMarket(steps=120, rng=3, enabled=False, partner_share=0.5)
    still.run()
    assert still.market.is_partner.mean() == 0.5


# --- money ---------------------------------------------------------------------------------------

def test_money_is_conserved_every_step(monkeypatch):
    """What buyers pay (price and service fees, from the buyers' side in the downstream phase) is what
    suppliers receive (from their side in the finance phase); and a supplier's cash changes by exactly
    what it received less production, service, rework, contacts and new links."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(steps=120, rng=5, attention_policy="silence", uncertainty=0.6, linkage_age=2)
    cash = {}
    hooks.add(phases.supplier_finance, lambda x: cash.update(before=x.market.supplier_cash.copy()))
    p, steps_checked = m.params, 0
    while m.running:
        m.step()
        mk, ev, v = m.market, m.ev, m.ev.volume
        assert m.ev.paid_by_buyers > 0
        assert m.ev.paid_by_buyers == pytest.approx(m.ev.received_by_suppliers, rel=1e-12)
        paid = ((m.ev.cost_parts["price"] + m.ev.cost_parts["service_fee"]) * v).sum()
        assert m.ev.paid_by_buyers == pytest.approx(paid, rel=1e-12)
        if ev.bankruptcies:
            continue
        spent = (mk.unit_cost[mk.sup] * mk.fit * (1 - p.suppliers.shirk_saving * ev.shirked) * v
                 + p.service.service_cost * ev.need * v + p.quality.rework_cost * ev.found * v).sum()
        spent += p.suppliers.contact_cost * ev.contacted.sum() + p.linkage.linkage_cost * ev.new_link.sum()
        change = (mk.supplier_cash - cash["before"]).sum()
        assert abs(change - (m.ev.received_by_suppliers - spent)) <= 1e-9 * m.ev.received_by_suppliers
        steps_checked += 1
    assert steps_checked > 60


# --- linkage (S8) --------------------------------------------------------------------------------

def test_a_link_is_made_once_by_a_trusting_supplier_and_halves_admin_hours():
    # hours other than administration switched off, so a relationship's non-productive hours are h_admin or half
    m = TrustMarket(rng=1, steps=60, h_monitor=0.0, h_bid=0.0, h_dispute=0.0, h_renegotiate=0.0, audit_hours=0.0)
    p = m.params
    links = 0
    while m.running:
        linked_before = m.market.linked.copy()
        m.step()
        mk, ev = m.market, m.ev
        made = ev.new_link
        assert (mk.age[made] - 1 >= p.linkage.linkage_age).all()  # age counted before this step's end
        assert (mk.trust_s[made] >= p.trust.share_threshold).all()
        assert not (made & linked_before).any()  # once
        links += made.sum()
        held = ~mk.vacant  # a bankruptcy at the end of the step unlinks its relationships
        admin = np.where(mk.linked, p.time.h_admin / 2, p.time.h_admin)
        np.testing.assert_allclose(ev.nonproductive[held], admin[held])
    print(f"\n{links} links made")
    assert links > 0


def test_leaving_a_linked_relationship_costs_the_buyer_the_switching_cost():
    m = TrustMarket(rng=1, steps=30)
    for _ in range(3):
        m.step()
    mk, p = m.market, m.params
    leave_linked, leave_plain = 0, 2  # two relationships of different buyers
    mk.linked[leave_linked] = True
    mk.trust_b[[leave_linked, leave_plain]] = p.buyers.exit_threshold / 2
    mk.trust_b[[1, 3]] = 1.0  # the other slots of these buyers stay
    m.step()
    assert m.ev.exit_low[[0, 1]].tolist() == [1, 1]
    assert m.ev.cost_parts["switching"][leave_linked] == pytest.approx(p.linkage.linkage_switching_cost)
    assert m.ev.cost_parts["switching"][leave_plain] == 0
    assert not mk.linked[leave_linked]  # lost to both
    assert column(m, "cost_switching")[-1] > 0


def test_an_audit_costs_its_audit_hours_of_face_to_face_time():
    """docs/ODD.md 7.10 and decision 24: an audit of a cost-plus supplier's costs adds ``audit_hours`` to the
    relationship's non-productive hours (other hours but administration switched off, so each relationship's
    hours are its administration hours, halved by a link, plus its audit's)."""
    m = TrustMarket(rng=2, steps=40, h_monitor=0.0, h_bid=0.0, h_dispute=0.0, h_renegotiate=0.0, audit_hours=6.0)
    p = m.params
    audits = 0
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        held = ~mk.vacant  # a bankruptcy at the end of the step unlinks its relationships
        admin = np.where(mk.linked, p.time.h_admin / 2, p.time.h_admin)
        np.testing.assert_allclose(ev.nonproductive[held], (admin + p.time.audit_hours * ev.audited)[held])
        audits += int(ev.audited.sum())
    print(f"\n{audits} audits")
    assert audits > 20


# --- 5. after-sales service (S2, S4, S5, S11, S12) ----------------------------------------------

@pytest.mark.parametrize("partner_in_price", [True, False])
def test_service_gap_downtime_and_fee_follow_the_equations(monkeypatch, partner_in_price):
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=6, steps=60, partner_in_price=partner_in_price, alignment_mean=0.7, supplier_cash=500.0)
    s = m.params.service
    now = {}  # each relationship's supplier as the service phase sees it (a bankruptcy later in the step replaces it)
    hooks.add(phases.after_sales_service, lambda x: now.update(
        cash=x.market.supplier_cash[x.market.sup], alignment=x.market.alignment[x.market.sup]))
    needs = health_below_one = 0
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        partner = mk.rel_partner
        unbundled = ~partner | (partner & (not partner_in_price))
        assert np.array_equal(ev.unbundled, unbundled)
        health = np.clip(now["cash"] / m.params.suppliers.supplier_cash, 0, 1)
        health_below_one += int((ev.need & (health < 1)).sum())
        delivered = now["alignment"] * (0.5 + 0.5 * health) * np.where(unbundled, s.unbundled_priority, 1.0)
        promised = np.where(partner, s.promise_partner, s.promise_aggressive)
        gap = np.where(ev.need, np.maximum(0.0, promised - delivered), 0.0)
        np.testing.assert_allclose(ev.gap, gap, rtol=1e-12, atol=0)
        np.testing.assert_allclose(m.ev.cost_parts["downtime"], s.downtime_cost * gap, rtol=1e-12, atol=0)
        assert np.array_equal(m.ev.cost_parts["service_fee"], s.service_fee * (ev.need & unbundled))
        needs += ev.need.sum()
    print(f"\n{needs} service events, {health_below_one} of them from a supplier short of its starting cash")
    assert needs > 0 and health_below_one > 0


def test_unbundled_partners_pay_a_lower_price_but_the_fee_and_more_downtime():
    """P8's mechanism: partners with service left out of the price pay service_fee per event and, paid per
    call, get the delivered level × unbundled_priority, so more downtime."""
    fee, downtime = {}, {}
    for flag in (True, False):
        fee[flag], downtime[flag] = [], []
        for seed in (6, 7):
            m = TrustMarket(steps=120, rng=seed, partner_share=1.0, partner_in_price=flag)
            m.run()
            fee[flag].append(column(m, "cost_service_fee", "partner").sum())
            downtime[flag].append(long_run(m, "partner", "cost_downtime"))
    print(f"\npartner downtime per unit, service in the price {np.mean(downtime[True]):.4f}, "
          f"billed on top {np.mean(downtime[False]):.4f}")
    assert sum(fee[True]) == 0 < min(fee[False])
    assert min(downtime[False]) > max(downtime[True])
    # at equal unit costs (the first step, same seed) the price without service is lower by need·cost·(1 + fair)
    first = {}
    for flag in (True, False):
        first[flag] = TrustMarket(rng=6, partner_share=1.0, partner_in_price=flag, steps=1)
        first[flag].run()
    p = first[True].params
    diff = first[True].market.price - first[False].market.price
    np.testing.assert_allclose(diff, p.service.service_need * p.service.service_cost * (1 + p.prices.fair_markup))


# --- 4. inspection (S17) -----------------------------------------------------------------------

def test_nobody_inspects_above_the_no_inspection_trust_and_suppliers_learn_how_often_buyers_do(monkeypatch):
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=8, steps=120)
    th, memory = m.params.trust.no_inspection_trust, m.params.quality.inspection_memory
    state = {}
    hooks.add(phases.inspection,
              lambda x: state.update(trust=x.market.trust_b.copy(), seen=x.market.inspection_seen.copy()))
    errors, inspected, estimated, partner = [], [], [], []
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        assert not (ev.inspected & (state["trust"] >= th)).any()
        # the estimate moves a share `inspection_memory` toward what the supplier saw this step …
        seen = state["seen"]
        np.testing.assert_allclose(mk.inspection_seen, seen + memory * (ev.inspected - seen), rtol=1e-12)
        # … and so follows the buyer's inspection probability, better than a guess that knows only the market
        truth = np.clip(1 - mk.trust_b / th, 0, 1)
        old = mk.age >= 12
        if old.sum() > 10:
            errors.append((np.abs(mk.inspection_seen[old] - truth[old]).mean(),
                           np.abs(truth.mean() - truth[old]).mean()))
        inspected.append(ev.inspected)
        estimated.append(mk.inspection_seen.copy())
        partner.append(mk.rel_partner)
    errors = np.array(errors).mean(axis=0)
    inspected, estimated, partner = map(np.concatenate, (inspected, estimated, partner))
    print(f"\n{inspected.sum()} lots inspected; mean |estimate − inspection probability| {errors[0]:.3f} "
          f"(the market's mean probability as the guess: {errors[1]:.3f})")
    assert inspected.sum() > 0
    assert errors[0] < errors[1]
    for name, rows in (("partner", partner), ("aggressive", ~partner)):
        print(f"{name}: inspected {inspected[rows].mean():.3f} of lots, "
              f"suppliers' mean estimate {estimated[rows].mean():.3f}")
        assert estimated[rows].mean() == pytest.approx(inspected[rows].mean(), abs=0.03)



def test_padding_an_audit_finds_is_refunded_at_the_partners_honest_cost_plus_price(monkeypatch):
    """S14, docs/ODD.md 7.4: a cost-plus supplier's padding found by an audit is refunded, so the relationship's
    price this step is the cost-plus price on its true cost, ``(cost + need · service_cost) · (1 + fair_markup)``;
    padding left unfound stays in the price. Checked as the inspection phase leaves the price (before a later
    phase's idea can move the cost)."""
    hooks = Hooks(monkeypatch)
    found = kept = 0

    def one_market(seed):  # the hooks close over this market's state and run within m.run()
        hooks.reset()
        m = TrustMarket(rng=seed, steps=60, partner_share=1.0, integrity_mean=0.2)
        p = m.params
        s = p.service

        def check(x):
            nonlocal found, kept
            mk, ev = x.market, x.ev
            in_price = mk.service_in_price()
            honest = rules.cost_plus_price(mk.cost_for_buyer(), s.service_need, s.service_cost, p.prices.fair_markup,
                                           in_price)
            padded = rules.cost_plus_price(mk.cost_for_buyer(), s.service_need, s.service_cost, p.prices.fair_markup,
                                           in_price, ev.padding)
            refunded = ev.padding_found
            np.testing.assert_allclose(mk.price[refunded], honest[refunded], rtol=1e-12)
            unfound = mk.rel_partner & (ev.padding > 0) & ~refunded
            np.testing.assert_allclose(mk.price[unfound], padded[unfound], rtol=1e-12)
            found += int(refunded.sum())
            kept += int(unfound.sum())

        hooks.add(phases.after_sales_service, check)
        m.run()

    for seed in (1, 2):
        one_market(seed)
    print(f"\npadding found and refunded in {found} relationship-steps; left in the price in {kept}")
    assert found > 20 and kept > 20


def test_a_defect_is_found_only_in_an_inspected_lot_with_probability_detection():
    """Phase 4 (S17, docs/ODD.md 7.4): inspection finds a defective lot with probability ``detection``; a lot not
    inspected is never found defective, so its defect fails in the field."""
    found, chances = 0, 0
    for seed in (1, 2, 3):
        m = TrustMarket(rng=seed, steps=60, integrity_mean=0.4)
        while m.running:
            m.step()
            ev = m.ev
            assert not (ev.found & ~(ev.defect & ev.inspected)).any()
            found += int(ev.found.sum())
            chances += int((ev.defect & ev.inspected).sum())
    detection = m.params.quality.detection
    z = binomial_z(found, np.full(chances, detection))
    print(f"\n{found} of {chances} inspected defective lots found (expected {detection * chances:.1f}, z = {z:+.2f})")
    assert chances > 100 and abs(z) < 4


def test_only_cost_plus_relationships_are_audited_and_only_their_suppliers_learn_of_audits(monkeypatch):
    """Phase 4 (S14, docs/ODD.md 7.4): a buyer audits only a cost-plus (partner-terms) supplier's costs; that
    supplier's estimate of how often it is audited moves ``inspection_memory`` of the way toward this step's audit,
    while a supplier on market terms, with no cost to report, keeps the estimate it had (learning buyers move
    relationships between the two, so the estimate is read again when partner terms return)."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=3, steps=60, conduct="learning")
    memory = m.params.quality.inspection_memory
    before = {}
    hooks.add(phases.inspection, lambda x: before.update(seen=x.market.audit_seen.copy()))
    kept = {"partner": 0, "market": 0}

    def check(x):  # as the inspection phase left the estimates
        mk, ev, seen = x.market, x.ev, before["seen"]
        partner = mk.rel_partner
        assert not (ev.audited & ~partner).any()
        np.testing.assert_allclose(mk.audit_seen[partner], (seen + memory * (ev.audited - seen))[partner], rtol=1e-12)
        assert np.array_equal(mk.audit_seen[~partner], seen[~partner])
        kept["partner"] += int(partner.sum())
        kept["market"] += int((~partner & (seen > 0)).sum())

    hooks.add(phases.after_sales_service, check)
    m.run()
    print(f"\nrelationship-steps on partner terms {kept['partner']}; on market terms with an estimate kept "
          f"{kept['market']}")
    assert min(kept.values()) > 50


# --- 1. environment (S19) ------------------------------------------------------------------------

@pytest.mark.parametrize("uncertainty", [0.3, 0.8])
def test_a_specification_changes_with_probability_sigma(uncertainty):
    """Phase 1: each relationship's specification changes with probability σ (``market.uncertainty``) per step."""
    changes = trials = 0
    for seed in (1, 2):
        m = TrustMarket(rng=seed, steps=40, uncertainty=uncertainty)
        while m.running:
            m.step()
            changes += int(m.ev.spec_change.sum())
            trials += m.market.n_rel
    z = binomial_z(changes, np.full(trials, uncertainty))
    print(f"\nσ {uncertainty}: {changes} specification changes in {trials} relationship-steps "
          f"(expected {uncertainty * trials:.0f}, z = {z:+.2f})")
    assert abs(z) < 4


def test_each_step_the_buyers_slots_buy_exactly_the_final_demand_their_shares_win():
    """Phase 1 (S19, docs/ODD.md 7.1): a buyer's volume this step is its market share of final demand, split
    equally over its ``k`` slots, so the lots bought in a market add up to its final demand."""
    m = TrustMarket(rng=2, steps=30, uncertainty=0.6)
    mk = m.market
    while m.running:
        share = mk.share.copy()  # as the environment phase reads it (updated at the end of the last step)
        m.step()
        ev = m.ev
        np.testing.assert_allclose(ev.volume, share[mk.buyer_of] * ev.demand[mk.member_of_rel] / mk.k, rtol=1e-12)
        np.testing.assert_allclose(ev.volume.sum(), ev.demand.sum(), rtol=1e-12)
    print(f"\nlast step's final demand {ev.demand.sum():.1f}, bought over {mk.n_rel} slots")


# --- 8. trust update (S14, S18) -------------------------------------------------------------------

@pytest.mark.parametrize("reading", ["proportional", "betrayal"])
def test_the_trust_update_reads_a_clean_step_and_betrayals_from_the_steps_events(monkeypatch, reading):
    """Phase 8 (docs/ODD.md 7.8): a clean step is one without a defect, a service gap or padding found; a defect is
    a whole betrayal and padding found one in proportion to its size (``padding_loss``) or a whole one; suppliers
    gain trust by the margin they are paid, unless played off, and more where the buyer shares its plans."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=3, steps=60, integrity_mean=0.4, alignment_mean=0.6, padding_loss=reading)
    p = m.params
    t, pr, th = p.trust, p.prices, p.trust.share_threshold
    before = {}
    hooks.add(phases.trust_update, lambda x: before.update(b=x.market.trust_b.copy(), s=x.market.trust_s.copy()))
    counts = {"clean": 0, "gap only": 0, "padding found": 0}

    def check(x):
        mk, ev = x.market, x.ev
        clean = ~ev.defect & (ev.gap == 0) & ~ev.padding_found
        size = ev.padding / p.suppliers.padding_max if reading == "proportional" else 1.0
        betrayal = np.where(ev.defect, 1.0, np.where(ev.padding_found, size, 0.0))
        tb = before["b"] * (1 - t.loss * betrayal)
        tb += np.where(clean, t.gain * (1 - tb), 0.0)
        tb += np.where(ev.fixed, 0.5 * t.gain * (1 - tb), 0.0)
        tb -= 0.5 * t.loss * np.minimum(ev.unfixed_gap, 1.0) * tb
        np.testing.assert_allclose(mk.trust_b, np.clip(tb, 0, 1), rtol=1e-12, atol=1e-15)
        markup = mk.price / mk.cost_for_buyer() - 1
        margin = np.clip((markup - pr.min_markup) / (pr.fair_markup - pr.min_markup), 0, 1)
        ts = np.where(ev.played_off, before["s"], before["s"] + t.gain * margin * (1 - before["s"]))
        plans = (before["b"] >= th) & mk.rel_partner  # plan_sharing "partner_terms", on trust before this update
        ts += np.where(plans, t.gain * (1 - ts), 0.0)
        np.testing.assert_allclose(mk.trust_s, ts, rtol=1e-12, atol=1e-15)
        counts["clean"] += int(clean.sum())
        counts["gap only"] += int((~ev.defect & (ev.gap > 0) & ~ev.padding_found).sum())
        counts["padding found"] += int((ev.padding_found & ~ev.defect).sum())

    hooks.add(phases.innovation, check)
    m.run()
    print(f"\n{reading}: relationship-steps {counts}")
    assert min(counts.values()) > 20


# --- 11. downstream competition (S1, S10, S19) ---------------------------------------------------

def test_the_cost_of_ownership_charges_inspection_and_only_the_defects_inspection_missed():
    """docs/ODD.md 7.11: the inspection part is ``inspection_cost`` · [inspected], the failure part
    ``failure_cost`` · [defective and not found] (a defect an inspection found is reworked, not failed in the
    field), the transaction part the non-productive hours at ``hour_cost`` per ``reference_volume``; the cost of
    ownership is the sum of the eight parts."""
    m = TrustMarket(rng=5, steps=60, integrity_mean=0.4)
    q, tm = m.params.quality, m.params.time
    found = missed = 0
    while m.running:
        m.step()
        ev = m.ev
        parts = ev.cost_parts
        assert np.array_equal(parts["inspection"], q.inspection_cost * ev.inspected)
        assert np.array_equal(parts["failure"], q.failure_cost * (ev.defect & ~ev.found))
        np.testing.assert_allclose(parts["transaction"], ev.nonproductive * tm.hour_cost / tm.reference_volume,
                                   rtol=1e-12)
        np.testing.assert_allclose(ev.tco, sum(parts.values()), rtol=1e-12)
        found += int(ev.found.sum())
        missed += int((ev.defect & ~ev.found).sum())
    print(f"\ndefects found by inspection {found}, missed {missed}")
    assert found > 10 and missed > 10


@pytest.mark.parametrize("honest", [{"padding_max": 0.0}, {"integrity_mean": 1.0, "integrity_sd": 0.0}])
def test_an_audit_finds_no_padding_where_there_is_none(honest):
    """Phase 4 (S14, docs/ODD.md 7.4): an audit finds padding only in a padded price; where no supplier pads (no
    padding allowed, or every supplier honest) partners' audits find nothing, so none costs trust."""
    m = TrustMarket(rng=1, steps=40, partner_share=1.0, **honest)
    audits = 0
    while m.running:
        m.step()
        assert not m.ev.padding.any() and not m.ev.padding_found.any()
        audits += int(m.ev.audited.sum())
    assert audits > 20


def test_a_buyer_without_a_service_gap_is_never_dissatisfied_even_at_complaint_gap_0():
    """Phase 6 (S7, docs/ODD.md 7.6): a buyer is dissatisfied when gap > ``complaint_gap``; at ``complaint_gap`` 0
    any shortfall is, but a step without one (no service needed, or the promise kept) is not: it is neither
    voiced nor built up."""
    m = TrustMarket(rng=1, steps=40, complaint_gap=0.0)
    complaints = 0
    while m.running:
        m.step()
        ev = m.ev
        assert not (ev.complained & (ev.gap <= 0)).any()
        complaints += int(ev.complained.sum())
    assert complaints > 20


def test_corners_are_cut_on_the_suppliers_own_trust_in_its_buyer(monkeypatch):
    """Phase 3 (S5, S14, docs/ODD.md 7.3): a supplier cuts corners with probability (1 − θ)·(1 − inspection_seen)·
    (1 − θ·t_s), on its own trust t_s in the buyer (not the buyer's trust in it): this step's draw of the site
    ``shirk`` below that probability. The same draws on the buyer's trust would cut corners elsewhere."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=3, steps=40, integrity_mean=0.5)
    differs = cut = 0

    def check(x):  # as supplier conduct left the step, before inspection
        mk, ev = x.market, x.ev
        theta, u = mk.integrity[mk.sup], ev.uniform("shirk")
        assert np.array_equal(ev.shirked, u < rules.shirk_probability(theta, mk.trust_s, mk.inspection_seen))
        nonlocal differs, cut
        differs += int((ev.shirked != (u < rules.shirk_probability(theta, mk.trust_b, mk.inspection_seen))).sum())
        cut += int(ev.shirked.sum())

    hooks.add(phases.inspection, check)
    m.run()
    print(f"\n{cut} lots with corners cut; {differs} would differ on the buyer's trust")
    assert cut > 20 and differs > 0


def test_partners_audit_with_the_probability_they_inspect(monkeypatch):
    """Phase 4 (S14, S17, docs/ODD.md 7.4): a partner buyer audits its supplier's costs with the same probability
    as it inspects, clip(1 − t_b / no_inspection_trust, 0, 1), drawn independently: never above that trust."""
    hooks = Hooks(monkeypatch)
    state, audits, probs = {}, 0, []
    for seed in (1, 2):
        hooks.reset()
        m = TrustMarket(rng=seed, steps=60, partner_share=1.0)
        th = m.params.trust.no_inspection_trust
        hooks.add(phases.inspection, lambda x: state.update(trust=x.market.trust_b.copy()))
        while m.running:
            m.step()
            p = rules.inspection_probability(state["trust"], th)
            assert not (m.ev.audited & (p == 0)).any()
            audits += int(m.ev.audited.sum())
            probs.extend(p)
    z = binomial_z(audits, probs)
    print(f"\n{audits} audits (expected {np.sum(probs):.1f}, z = {z:+.2f})")
    assert audits > 50 and abs(z) < 4


def test_a_sharing_supplier_has_ideas_at_a_rate_of_idea_rate_times_its_trust(monkeypatch):
    """Phase 9 (S18, docs/ODD.md 7.9): where the supplier shares, its ideas for the buyer are Poisson(idea_rate·t_s),
    t_s its trust after this step's update, so a supplier at trust 0.5 has half the ideas of one at trust 1. The
    count over two runs against the sum of the means."""
    hooks = Hooks(monkeypatch)
    state, ideas, means = {}, 0, 0.0
    for seed in (1, 2):
        hooks.reset()
        m = TrustMarket(rng=seed, steps=60, share_threshold=0.3)
        rate, th = m.params.innovation.idea_rate, m.params.trust.share_threshold
        hooks.add(phases.innovation, lambda x: state.update(trust=x.market.trust_s.copy()))
        while m.running:
            m.step()
            t = state["trust"]
            ideas += int(m.ev.supplier_ideas.sum())
            means += float((rate * t)[t >= th].sum())
    z = (ideas - means) / math.sqrt(means)
    print(f"\n{ideas} supplier ideas (expected {means:.1f}, z = {z:+.2f})")
    assert means > 200 and abs(z) < 4


def test_a_buyers_profit_is_its_share_of_demand_times_its_margin_over_its_mean_slots_cost(monkeypatch):
    """Phase 11 (S1, S10, docs/ODD.md 7.11): a buyer's unit cost is its own cost plus the mean of its slots' costs of
    ownership; its profit share·D_t·(p − c), on the share it held before this step's shares move."""
    hooks = Hooks(monkeypatch)
    m = TrustMarket(rng=2, steps=20)
    state = {}
    hooks.add(phases.downstream, lambda x: state.update(share=x.market.share.copy()))
    while m.running:
        m.step()
        mk, ev = m.market, m.ev
        cost = mk.own_cost + mk.per_buyer(ev.tco) / mk.k
        demand = ev.demand[mk.member_of_buyer]
        np.testing.assert_allclose(mk.profit, state["share"] * demand * (mk.retail_price - cost), rtol=1e-12)
