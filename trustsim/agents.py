"""Buyers and suppliers as Mesa agents: identity, plus properties that read the market's arrays.

The state lives in ``model.market`` (arrays over all agents, so that each phase is one rule applied
to everyone at once); an agent is the view of its row. Users, DataCollector agent reporters and the
browser app see ordinary Mesa agents. Buyers and suppliers leave and enter by the model's rules only (a bankrupt
supplier's row goes to an entrant): Mesa's ``agent.remove()`` takes an agent out of ``model.agents``, not its row
out of the market, which the step goes on reading.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import mesa
import numpy as np

from .results import NETWORK_MAX_BUYERS


class Buyer(mesa.Agent):
    """A manufacturer buying components through ``k`` supplier slots."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def _slots(self) -> slice:
        k = self.model.market.k
        return slice(self.index * k, (self.index + 1) * k)

    @property
    def posture(self) -> str:
        """``"partner"`` or ``"aggressive"``."""
        return "partner" if self.model.market.is_partner[self.index] else "aggressive"

    @property
    def market_share(self) -> float:
        """Share of the final-product market."""
        return float(self.model.market.share[self.index])

    @property
    def own_cost(self) -> float:
        """Own cost per unit of final product, excluding components."""
        return float(self.model.market.own_cost[self.index])

    @property
    def cash(self) -> float:
        """Cumulative profit kept as cash."""
        return float(self.model.market.cash[self.index])

    @property
    def ideas_received(self) -> float:
        """Supplier ideas received since the start."""
        return float(self.model.market.ideas_received[self.index])

    @property
    def suppliers(self) -> np.ndarray:
        """Array indices of the suppliers holding this buyer's slots; a slot whose supplier went bankrupt this step
        is vacant until the next step's sourcing and left out (its row is already the entrant's, section 7.12)."""
        mk = self.model.market
        return mk.sup[self._slots][~mk.vacant[self._slots]]

    @property
    def trust_in_suppliers(self) -> np.ndarray:
        """This buyer's trust in each of its slots' suppliers (a view: it changes as the model runs); a vacant slot
        keeps its ended relationship's trust until re-sourced, as the measurements count it."""
        return self.model.market.trust_b[self._slots]

    @property
    def trust(self) -> float:
        """Mean trust in its suppliers."""
        return float(self.trust_in_suppliers.mean())


class Supplier(mesa.Agent):
    """A component maker; a bankrupt one is replaced by an entrant (a new agent) at the same index."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def unit_cost(self) -> float:
        """Current unit cost."""
        return float(self.model.market.unit_cost[self.index])

    @property
    def cost_floor(self) -> float:
        """Unit cost reachable by process improvement."""
        return float(self.model.market.cost_floor[self.index])

    @property
    def quality(self) -> float:
        """Probability that a lot is conforming at full effort."""
        return float(self.model.market.quality[self.index])

    @property
    def alignment(self) -> float:
        """Match of delivery and service to what sales promised (S5)."""
        return float(self.model.market.alignment[self.index])

    @property
    def integrity(self) -> float:
        """θ, hidden from the buyers: how far the supplier refrains from exploiting trust (S14)."""
        return float(self.model.market.integrity[self.index])

    @property
    def cash(self) -> float:
        """Cash: financial health (S12)."""
        return float(self.model.market.supplier_cash[self.index])

    @property
    def customers(self) -> np.ndarray:
        """Buyer indices of the relationships this supplier holds (an entrant holds none until it wins a slot:
        the bankrupt's slots are vacant, section 7.12)."""
        return self.model.market.buyer_of[self._held]

    @property
    def trust_in_buyers(self) -> np.ndarray:
        """This supplier's trust in each buyer it serves, in the order of ``customers``."""
        return self.model.market.trust_s[self._held]

    @property
    def _held(self) -> np.ndarray:
        """The relationships this supplier holds: its row's slots that are not vacant."""
        mk = self.model.market
        return (mk.sup == self.index) & ~mk.vacant


# a market of up to this many buyers has all its agents from the start: the size up to which its network is shown
EAGER_AGENTS = NETWORK_MAX_BUYERS


class AgentRows(Sequence):
    """``model.buyers`` or ``model.suppliers``: the agent of each array row, made on first use in a market too
    large to show (more than ``EAGER_AGENTS`` buyers), where an agent per row would cost more to create than
    the steps that follow, and a gigabyte at a million buyers; every one at once in a smaller market. An
    agent, once made, is an ordinary Mesa agent in ``model.agents``."""

    def __init__(self, model, kind: type[mesa.Agent], n: int, eager: bool):
        self._model, self._kind, self._n, self._eager = model, kind, n, eager
        self._made: dict[int, mesa.Agent] = {}
        if eager:
            for i in range(n):
                self._made[i] = kind(model, i)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = operator.index(i)
        if not -self._n <= i < self._n:
            raise IndexError(f"agent {i} of {self._n}")
        i %= self._n
        agent = self._made.get(i)
        if agent is None:
            agent = self._made[i] = self._kind(self._model, i)
        return agent

    def renew(self, indices) -> None:
        """S12: the agents at ``indices`` leave the model; new ones (entrants) take their rows (made now in a
        market that has every agent, on first use otherwise)."""
        for j in map(int, indices):
            gone = self._made.pop(j, None)
            if gone is not None:
                gone.remove()
            if self._eager:
                self._made[j] = self._kind(self._model, j)
