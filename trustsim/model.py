"""TrustMarket: buyers and suppliers who trust each other more or less.

Buyers source components from suppliers, as partners (cost-plus, fair dealing) or aggressively
(rebids, playing suppliers off); trust lowers transaction costs, removes inspection and brings ideas.
Each step is one quarter; the phases of docs/ODD.md section 3 run in order over arrays (``phases.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import mesa
import numpy as np
from mesa.experimental.scenarios import Scenario as MesaScenario

from .agents import EAGER_AGENTS, AgentRows, Buyer, Supplier
from .arguments import resolved_overrides, seed_argument, tables
from .columns import KEY_FIGURES
from .ensemble import Markets
from .errors import ParamError, Shown, safe_text, suggest
from .metrics import COLUMN_NAMES, POSTURE_GROUPS
from .params import Params, validate


def as_seed(rng: Any) -> Any:
    """A seed as text (SolaraViz's seed box sends it) as the int it holds; an int as it is; else (a bool, a fraction,
    a NumPy Generator or SeedSequence, which Mesa would take but the run's draws would not use) a ParamError naming
    the seed, as :func:`trustsim.arguments.seed_argument` words it. The range is not checked here."""
    if isinstance(rng, str):
        try:
            return int(rng.strip())
        except ValueError:
            pass  # refused below, as what it is
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return rng
    return seed_argument(rng)


def as_params(params: Any, name: str = "params") -> Params:
    """A model's parameters: Params, None for the defaults, or a mapping of parameter tables as ``trustsim.simulate``
    takes one (``{"market": {"buyers": 60}}``), validated as a scenario file's tables; else a ParamError naming the
    argument ``name``."""
    if params is None or isinstance(params, Params):
        return params or Params()
    if isinstance(params, Mapping):
        return validate(tables(params), name)
    raise ParamError(None, name, f'expected Params or a mapping of parameter tables such as {{"market": '
                                 f'{{"buyers": 60}}}}, got {type(params).__name__} (a scenario file: '
                                 f'trustsim.load_scenario(path).params)')


def written_seed(params: Any) -> Any:
    """The seed a mapping of parameter tables writes (``{"run": {"seed": 9}}``), else None: a Params always holds
    one (0 by default), so only a mapping's says that the caller chose it."""
    run = params.get("run") if isinstance(params, Mapping) else None
    return run.get("seed") if isinstance(run, Mapping) else None


def _from_mesa_scenario(scenario: MesaScenario, rng: Any, overrides: dict) -> tuple[Any, dict]:
    """A Mesa Scenario as Mesa's models take one: its rng the run's seed (an rng given beside it must be the same,
    as Mesa asks) and its other values parameters, as overrides (one given beside it too is refused)."""
    values = dict(scenario)
    given = values.pop("rng", None)
    if given is not None and rng is not None and as_seed(given) != as_seed(rng):
        raise ParamError(None, "rng", f"{Shown(rng)!r} and the scenario's rng {Shown(given)!r} differ; give one")
    if twice := sorted(set(values) & set(overrides)):
        raise ParamError(None, twice[0], "given twice, as an argument and in the scenario; give it once")
    return (given if rng is None else rng), {**values, **overrides}


def _latest(model: TrustMarket, group: str, column: str) -> float:
    """A key figure's reporter: the figure of the recorder's last step."""
    return model.recorder.latest(group, column)


class KeyFigureCollector(mesa.DataCollector):
    """Mesa's DataCollector of the key figures by posture group (``columns.KEY_FIGURES``, named ``trust_buyer``,
    ``trust_buyer_partner``, ``trust_buyer_aggressive``, ...): each reporter reads one figure of the recorder's
    last step, and ``collect`` keeps them all as one gather of that row, which ``model_vars`` gives as Mesa's
    ``collect`` records them, one list per reporter — the reporters' numbers without calling, deep-copying and
    appending twenty-seven of them a step."""

    def __init__(self):
        figures = {f"{c}_{g}" if g != "all" else c: (g, c) for c in KEY_FIGURES for g in POSTURE_GROUPS}
        self._rows: list[list[float]] = []  # one per collect: every reporter's figure
        self._made: tuple[tuple[int, int], dict] | None = None  # model_vars as last made, for its rows and reporters
        super().__init__(model_reporters={name: partial(_latest, group=g, column=c)  # not a lambda: it pickles
                                          for name, (g, c) in figures.items()})
        self._groups = np.array([POSTURE_GROUPS.index(g) for g, _ in figures.values()])
        self._columns = np.array([COLUMN_NAMES.index(c) for _, c in figures.values()])

    @property
    def model_vars(self) -> dict[str, list]:
        """Each reporter's figures, one per ``collect``, in the reporters' order: made from the kept rows when first
        read after a collect, then the same lists until the next (``mesa.batch_run`` reads them once per step)."""
        made = (len(self._rows), len(self.model_reporters))
        if self._made is None or self._made[0] != made:
            rows = np.reshape(self._rows, made)
            self._made = made, dict(zip(self.model_reporters, rows.T.tolist(), strict=True))
        return self._made[1]

    @model_vars.setter
    def model_vars(self, _) -> None:
        """Mesa's ``__init__`` starts the lists here; they come from the rows ``collect`` keeps instead."""

    def collect(self, model: TrustMarket) -> None:
        """This step's key figures, as Mesa's ``collect`` would record them from the reporters."""
        if hasattr(self, "_collection_steps"):  # as Mesa's own collect keeps it
            self._collection_steps.append(model.time)
        self._rows.append(model.recorder.latest_of(self._groups, self._columns))


class TrustMarket(mesa.Model, Markets):
    """The market. ``TrustMarket(params, rng=seed, **overrides)``: ``params`` a Params, a mapping of parameter tables
    (``{"market": {"buyers": 60}}``) or None for the defaults; overrides are ``name=value`` with the
    bare parameter names of the schema (``buyers=100``, ``gain=0.1``), as SolaraViz and batch_run pass them; one
    given twice in two spellings is refused. ``rng`` (or ``seed``, or ``run__seed``) is a whole number, or its text,
    or None: then the seed a mapping of tables writes (``{"run": {"seed": 9}}``), else a fresh one, as Mesa's models
    draw (a Params always holds a seed, 0 by default, so its own is not taken for a choice); not a NumPy Generator,
    which Mesa takes but the run's draws, counter-based from one whole-number seed, would not use.
    ``scenario`` takes what ``params`` takes, in its place, or Mesa's own Scenario (SolaraViz's Reset sends one),
    whose values are parameters and whose rng is the seed. A model pickles; ``reset_rng`` keeps its seed.
    """

    def __init__(self, params: Params | Mapping | None = None, *, rng: Any = None, scenario: Any = None,
                 **overrides: Any):
        given_as = "params"
        if isinstance(scenario, MesaScenario):  # Mesa's (SolaraViz's Reset sends one): its values as overrides
            rng, overrides = _from_mesa_scenario(scenario, rng, overrides)
        elif scenario is not None:
            if params is not None:
                raise ParamError(None, "scenario", "the parameters are given twice: pass them as params or as "
                                                   "scenario, not both")
            params, given_as = scenario, "scenario"
        written = written_seed(params)
        params = as_params(params, given_as)
        changes = resolved_overrides(overrides)  # a parameter given twice, in two spellings, is refused
        seed = changes.pop("run.seed", None)  # seed=, run__seed=: Mesa's other name for rng
        if seed is not None and rng is not None and as_seed(seed) != as_seed(rng):
            raise ParamError(None, "seed", f"given twice, as {Shown(seed)!r} and as rng={Shown(rng)!r}; give it once")
        # the seed given, else the one a mapping of tables writes (which rng or seed= replaces, as an override does)
        rng = next((s for s in (rng, seed, written) if s is not None), None)
        if changes:
            params = params.replace(**changes)
        rng = seed_argument(as_seed(rng))  # named seed: not run.seed, a key never written
        if rng is None:  # as Mesa: a fresh seed, recorded in params.run.seed so that the run can be repeated
            rng = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
        params = params.replace(**{"run.seed": rng})
        super().__init__(rng=rng)
        self.params = params
        # a single run is an ensemble of one: its random numbers come from its seed by counter (draws.py)
        self.setup([params], [params.run.seed])
        eager = params.market.buyers <= EAGER_AGENTS  # larger markets make an agent when it is first asked for
        self.buyers = AgentRows(self, Buyer, params.market.buyers, eager)
        self.suppliers = AgentRows(self, Supplier, params.market.suppliers, eager)
        self.datacollector = KeyFigureCollector()

    def reset_rng(self, rng: Any = None) -> None:
        """Mesa's reset of the random numbers: the market's draws are counters of its seed, fixed when it was built
        (rng None or that seed: nothing to reset); another seed is refused, which a new market takes."""
        if rng is not None and as_seed(rng) != self.params.run.seed:
            raise ParamError(None, "rng", f"the market draws from its seed {self.params.run.seed} by counter, fixed "
                                          f"when it was built: build another, TrustMarket(…, rng={Shown(rng)!r})")

    def reset_randomizer(self, seed: Any = None) -> None:
        """Mesa's older name of :meth:`reset_rng`."""
        self.reset_rng(seed)

    def step(self) -> None:
        """One quarter: the phases of docs/ODD.md section 3, then the measurements."""
        self.advance()
        self.replace_suppliers(self.ev.entrants)
        self.observe()

    def observe(self) -> None:
        """Phase 14: record this step's figures (arrays only), then Mesa's DataCollector."""
        self.measure()
        self.datacollector.collect(self)
        if self.steps >= self.params.run.steps:
            self.running = False

    def replace_suppliers(self, indices: np.ndarray) -> None:
        """S12: bankrupt suppliers leave the model; entrants (new agents) take their array rows (phase 12)."""
        self.suppliers.renew(indices)

    def run(self, progress=None) -> TrustMarket:
        """Run to ``run.steps``; ``progress(n)`` is called after each step if given."""
        if progress is not None and not callable(progress):  # found before the first step, not after it
            raise ParamError(None, "progress", f"expected a function called with each step's count, got "
                                               f"{type(progress).__name__}")
        while self.running:
            self.step()
            if progress is not None:
                progress(1)
        return self

    # conveniences for users and the app
    def latest(self, column: str, group: str = "all") -> float:
        """The last recorded value of a contract column for a group (``POSTURE_GROUPS``); a ParamError naming the
        argument, with a suggestion, for a column or group that is none."""
        if not isinstance(column, str) or column not in COLUMN_NAMES:
            raise ParamError(None, "column", f"{safe_text(repr(column))} is no column"
                                             f"{suggest(str(column), COLUMN_NAMES)}; trustsim columns lists them")
        if not isinstance(group, str) or group not in POSTURE_GROUPS:
            raise ParamError(None, "group", f"{safe_text(repr(group))} is not one of {', '.join(POSTURE_GROUPS)}"
                                            f"{suggest(str(group), POSTURE_GROUPS)}")
        return self.recorder.latest(group, column)

    def network(self):
        """The relationship network now, as a networkx graph."""
        return self.market.to_networkx()


__all__ = ["TrustMarket", "COLUMN_NAMES", "POSTURE_GROUPS"]
