"""The parameter schema of trustsim, defined once.

Every parameter of the model (docs/ODD.md, Parameters) lives here with its default, allowed range, unit and a
one-line meaning. Scenario files (``scenario.py`` reads them) are TOML with one table per group; ``--set
group.name=value`` overrides one value. Validation happens once, here, at the boundary: everything past this
module trusts its parameters.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ParamError, Shown, suggest

ATTENTION_POLICIES = ("passive", "periodic", "silence")
# the largest seed, of a run and of a sweep or calibration: every seed fits a signed 64-bit integer (NumPy, tables)
MAX_SEED, MAX_SEED_TEXT = 2**63 - 1, "2⁶³−1"


def P(default, lo=None, hi=None, unit="", doc="", *, gt=None):
    """One parameter: default, inclusive range [lo, hi] (or > gt), unit and meaning."""
    return Field(default, ge=lo, le=hi, gt=gt, description=doc, json_schema_extra={"unit": unit})


class VaryingParameter(LookupError):
    """A parameter read through an ensemble's shared ones while its members differ in it (``members.Shared``)."""


class Group(BaseModel):
    """The base of the parameter groups: strict, closed to unknown keys, frozen, finite."""
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)

    def __init__(self, *tables: Any, **data: Any):
        if tables:  # Params({"market": …}): pydantic's TypeError ("takes 1 positional argument")
            raise ParamError(None, type(self).__name__, 'takes its values as keywords, e.g. Params(market={"buyers": 60})')
        try:
            super().__init__(**data)
        except ValidationError as exc:  # Params(market={"buyer": 6}): the one line replace() and files give
            err = exc.errors()[0]
            group = () if type(self) is Params else (type(self).__name__.lower(),)  # Market(…): market.…
            key, message = _describe_error({**err, "loc": (*group, *err["loc"])})
            raise ParamError(None, key or None, message) from None

    # pydantic checks nested tables and model_validate's input without it, so validate() names their file
    __init__.__pydantic_base_init__ = True

    def __setattr__(self, name: str, value: Any) -> None:  # frozen: pydantic's refusal took four lines and a link
        raise ParamError(None, name, f"parameters are fixed once validated: params.replace({name}=…) gives a copy")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:  # NumPy numbers, however a group is given: Params(market={...}), replace, files
        return {k: plain_number(v) for k, v in data.items()} if isinstance(data, dict) else data

    def __getattr__(self, name: str) -> Any:
        # reached only for a declared field an ensemble's shared parameters hold back: its members differ in it
        if name in type(self).model_fields:
            raise VaryingParameter(f"{type(self).__name__.lower()}.{name} differs between the members of this "
                                   f"ensemble; read it through a view (pp.rel, pp.buyer, pp.supplier, pp.market or pp.at)")
        return super().__getattr__(name)


class Run(Group):
    """The run's length and seed (docs/ODD.md, 2. Entities, state variables and scales)."""
    steps: int = P(1200, 1, 1_000_000, "quarters", "steps in a run (one step is one quarter); the default ends near, not in, steady state (docs/ODD.md, decision 40)")
    seed: int = P(0, 0, MAX_SEED, "", "seed from which every random number of the run is derived (counter-based draws: docs/ODD.md, decision 34)")


class Market(Group):
    """The market's size, its uncertainty and suppliers' fit (docs/ODD.md, 7.1 Environment)."""
    buyers: int = P(40, 1, 10_000_000, "firms", "number of buyers (manufacturers)")
    suppliers: int = P(20, 1, 1_000_000, "firms", "number of suppliers")
    slots_per_buyer: int = P(2, 1, 50, "slots", "supplier slots per buyer, k (dual sourcing by default)")
    uncertainty: float = P(0.3, 0.0, 1.0, "probability", "σ: chance of a specification change per relationship and step; scale of demand shocks")
    fit_spread: float = P(0.1, 0.0, 2.0, "log cost", "spread of a supplier's cost factor for a buyer's specification, exp(fit_spread · ε), re-drawn at each specification change (S14, S19)")
    demand: float = P(10_000.0, 0.0, 1e12, "units/step", "total final demand D, all buyers together")
    refit: Literal["current_spec", "incumbent_keeps"] = Field(
        "current_spec", description="current_spec: every supplier's fit is to the buyer's current specification (the same bidder quotes the same fit until the next change; a change makes every fit new); incumbent_keeps: rivals draw a fresh fit at every rebid while the incumbent keeps its own, so repeated rebids keep the best of all draws (docs/ODD.md, decision 36)",
        json_schema_extra={"unit": "setting"})


class Buyers(Group):
    """Buyers' postures, sourcing, exit and learned terms (docs/ODD.md, 7.2 and 7.2a)."""
    partner_share: float = P(0.5, 0.0, 1.0, "share", "share of buyers whose posture is partner")
    n_bids: int = P(5, 1, 1000, "quotes", "suppliers asked for a quote when a slot is (re)sourced")
    rebid_interval: int = P(4, 1, 10_000, "steps", "an aggressive buyer rebids each slot every this many steps (under learning conduct, a buyer reviews its terms)")
    exit_threshold: float = P(0.2, 0.0, 1.0, "trust", "a buyer leaves a supplier whose trust falls below this")
    exit_dissatisfaction: float = P(1.0, 0.0, 1e6, "gap units", "a buyer leaves silently when unvoiced dissatisfaction exceeds this (S7)")
    tco_weight: float = P(0.3, 0.0, 10.0, "", "quotes are ranked by quote · (1 + tco_weight · (1 − reputation)): the expected cost of ownership (S10)")
    word_of_mouth: float = P(0.5, 0.0, 1.0, "share", "weight of a supplier's reputation in a new relationship's starting trust")
    conduct: Literal["fixed", "learning"] = Field(
        "fixed", description="fixed: each buyer keeps its posture's terms; learning: at each review a buyer puts each relationship on partner or market terms by a logit on its learned attractions and its trust (S18)",
        json_schema_extra={"unit": "setting"})
    memory: float = P(0.3, 0.0, 1.0, "share", "learning: share of the way an attraction moves to the value realised in a review period")
    horizon: float = P(12.0, 0.0, 1000.0, "steps", "learning: how many steps ahead a buyer values a lasting cut in its own cost from a supplier's ideas")
    choice_sensitivity: float = P(50.0, 0.0, 10_000.0, "1/(money/unit)", "learning: weight of the difference in attractions in the logit choice of terms")
    trust_weight: float = P(0.0, 0.0, 100.0, "", "learning: weight of trust in the supplier (minus 0.5) in the logit choice of partner terms")
    initial_attraction: float = P(0.02, 0.0, 10.0, "money/unit", "learning: a partner starts with partner terms this much more attractive, others the reverse")
    peer_learning: float = P(0.5, 0.0, 1.0, "share", "learning: weight of the values other buyers realised on each set of terms (0: own experience only)")
    plan_sharing: Literal["partner_terms", "trust"] = Field(
        "partner_terms", description="partner_terms: a buyer shares its plans with a supplier it trusts enough only on partner terms (MODEL 9.3); trust: on any terms, whenever it trusts enough (docs/ODD.md, decision 37)",
        json_schema_extra={"unit": "setting"})


class Prices(Group):
    """The range of markups suppliers quote (docs/ODD.md, 7.2 Sourcing and pricing)."""
    fair_markup: float = P(0.08, 0.0, 10.0, "share of cost", "cost-plus markup of partner contracts; top of the quote range")
    min_markup: float = P(0.02, 0.0, 10.0, "share of cost", "lowest markup a supplier accepts; bottom of the quote range")


class Suppliers(Group):
    """Suppliers' cost, quality, integrity, cash and attention (docs/ODD.md, 7.3, 7.7 and 7.12)."""
    cost_mean: float = P(1.0, 0.5, 100.0, "money/unit", "mean initial unit cost of suppliers")
    cost_sd: float = P(0.08, 0.0, 10.0, "money/unit", "spread of initial unit costs")
    improvable: float = P(0.3, 0.0, 0.95, "share", "share of unit cost that process improvement can remove")
    quality: float = P(0.97, 0.8, 1.0, "probability", "mean probability that a lot is conforming at full effort")
    alignment_mean: float = P(0.85, 0.3, 1.0, "share", "mean match between what sales promise and what delivery and service do (S5)")
    integrity_mean: float = P(0.8, 0.0, 1.0, "share", "mean of suppliers' hidden integrity θ, drawn at entry from a Beta distribution (S14)")
    integrity_sd: float = P(0.15, 0.0, 0.5, "share", "spread of integrity (0: every supplier has the mean); below 1e-6 counts as 0; capped below the largest a Beta allows")
    padding_max: float = P(0.15, 0.0, 1.0, "share of cost", "cost padding in cost-plus prices of a supplier with no integrity that is never audited")
    shirk_saving: float = P(0.04, 0.0, 1.0, "share of cost", "cost saved on a lot where corners are cut")
    shirk_defect: float = P(0.25, 0.0, 1.0, "probability", "defect probability added by cutting corners")
    supplier_cash: float = P(2000.0, 0.0, 1e12, "money", "starting cash of a supplier (and of an entrant)")
    attention_policy: Literal["passive", "periodic", "silence"] = Field(
        "silence", description="passive: answers complaints only; periodic: contacts on a fixed calendar; silence: contacts a buyer not heard from for contact_interval steps (S6, S7)",
        json_schema_extra={"unit": "policy"})
    contact_interval: int = P(4, 1, 10_000, "steps", "steps between contacts; silence longer than this erodes trust")
    contact_cost: float = P(20.0, 0.0, 1e9, "money", "supplier's cost of one contact")


class Trust(Group):
    """How trust is gained, lost and eroded, and what it opens (docs/ODD.md, 7.8 Trust update)."""
    initial: float = P(0.5, 0.0, 1.0, "trust", "trust both ways at the start of a relationship")
    baseline: float = P(0.3, 0.0, 1.0, "trust", "level that trust erodes toward when nobody looks after the relationship")
    gain: float = P(0.131, 0.0, 1.0, "share", "trust gained per good step, as a share of the distance to 1")
    loss: float = P(0.35, 0.0, 1.0, "share", "trust lost per betrayal (a defect, or padding found), as a share of current trust; half for an unfixed gap")
    erosion: float = P(0.03, 0.0, 1.0, "share/step", "per step, share of the distance to baseline that an unattended relationship erodes")
    playoff_penalty: float = P(0.35, 0.0, 1.0, "share", "share of its trust a supplier loses when played off against a rival quote")
    share_threshold: float = P(0.584, 0.0, 1.0, "trust", "trust needed to share plans (buyer) or ideas (supplier)")
    no_inspection_trust: float = P(0.8, 0.0, 1.0, "trust", "at or above this trust a buyer never inspects")
    padding_loss: Literal["proportional", "betrayal"] = Field(
        "proportional", description="proportional: padding found by an audit costs the buyer's trust in proportion to its size, loss · (padding / padding_max); betrayal: any padding found costs as much as a defect (docs/ODD.md, decision 38)",
        json_schema_extra={"unit": "setting"})


class Quality(Group):
    """Inspection and the cost of defects (docs/ODD.md, 7.4 Inspection)."""
    inspection_cost: float = P(0.004, 0.0, 100.0, "money/unit", "cost of inspecting a lot, per unit")
    detection: float = P(0.9, 0.0, 1.0, "probability", "chance that inspection finds a defective lot")
    failure_cost: float = P(0.06, 0.0, 100.0, "money/unit", "buyer's cost of a defect that fails in the field, per unit of the lot")
    rework_cost: float = P(0.03, 0.0, 100.0, "money/unit", "supplier's cost of a lot sent back, per unit")
    inspection_memory: float = P(0.25, 0.0, 1.0, "share", "weight of the latest lot in a supplier's estimate of how often a buyer inspects (and audits)")


class Service(Group):
    """After-sales service: its need, cost, promises and complaints (docs/ODD.md, 7.5 and 7.6)."""
    service_need: float = P(0.3, 0.0, 1.0, "probability", "chance per step that a relationship needs after-sales service")
    service_cost: float = P(0.03, 0.0, 100.0, "money/unit", "supplier's cost of a service event, per unit")
    service_fee: float = P(0.05, 0.0, 100.0, "money/unit", "fee per unit billed for a service event when service is not in the price")
    promise_partner: float = P(0.8, 0.0, 1.0, "service level", "service level promised in partner contracts")
    promise_aggressive: float = P(1.0, 0.0, 1.0, "service level", "service level promised to win an aggressive bid (S4)")
    downtime_cost: float = P(0.08, 0.0, 100.0, "money/unit", "buyer's downtime cost per unit of service shortfall, per unit")
    complaint_gap: float = P(0.05, 0.0, 1.0, "service level", "shortfall above which a buyer is dissatisfied")
    partner_in_price: bool = Field(True, description="partners pay service in the price (false: billed on top, as aggressive buyers are)", json_schema_extra={"unit": "flag"})
    unbundled_priority: float = P(0.8, 0.0, 1.0, "share", "service level kept by a supplier paid per call rather than committed")


class Time(Group):
    """Face-to-face hours and their cost (docs/ODD.md, 7.10 Face-to-face time and transaction cost)."""
    h_admin: float = P(22.9, 0.0, 1e4, "hours", "ordering and administration per relationship and step (halved by a link)")
    h_monitor: float = P(7.0, 0.0, 1e4, "hours", "monitoring and haggling at zero trust, scaled by 1 − trust")
    h_collab: float = P(45.8, 0.0, 1e4, "hours", "joint engineering work, 60% of it alone, all of it where trust is mutual (both trusts at share_threshold or above, on any terms)")
    h_bid: float = P(20.0, 0.0, 1e4, "hours", "running a bid or negotiating a new contract")
    h_dispute: float = P(15.0, 0.0, 1e4, "hours", "assigning blame for a defective lot")
    h_renegotiate: float = P(25.0, 0.0, 1e4, "hours", "renegotiating an unanticipated specification change, at zero trust")
    h_idea: float = P(4.0, 0.0, 1e4, "hours", "joint work per idea exchanged")
    h_inspect: float = P(10.0, 0.0, 1e4, "hours", "purchasing hours per inspected lot")
    audit_hours: float = P(6.0, 0.0, 1e4, "hours", "face-to-face hours of an audit of a cost-plus supplier's costs")
    hour_cost: float = P(0.5, 0.0, 1e6, "money/hour", "cost of one face-to-face hour")
    reference_volume: float = P(125.0, 1e-9, 1e12, "units", "volume at which the hours above are spent; transaction cost scales with volume over it")
    trust_scaled_hours: bool = Field(True, description="monitoring and renegotiation hours shrink with trust (false: fixed at their zero-trust level, the null model)", json_schema_extra={"unit": "flag"})


class Innovation(Group):
    """Ideas, process improvement and specification changes (docs/ODD.md, 7.9 Information sharing, innovation)."""
    idea_rate: float = P(0.4, 0.0, 100.0, "ideas/step", "supplier ideas per step at full trust")
    idea_value: float = P(0.01, 0.0, 1.0, "share", "share of the distance to its floor that one idea takes off the buyer's own cost")
    process_idea_rate: float = P(0.3, 0.0, 100.0, "ideas/step", "buyer process ideas per step at full trust, where trust is mutual")
    process_idea_value: float = P(0.005, 0.0, 1.0, "share", "share of the distance to its floor that one process idea takes off the supplier's unit cost")
    mismatch_cost: float = P(0.08, 0.0, 100.0, "money/unit", "cost of an unanticipated specification change, per unit")
    quality_idea_value: float = P(0.128, 0.0, 1.0, "share", "share of the distance to its floor that one process idea takes off this relationship's defect multiplier")
    quality_improvable: float = P(0.7, 0.0, 1.0, "share", "share of the defect rate that process ideas can remove")
    quality_spillover: float = P(0.1, 0.0, 1.0, "share", "share of a process idea's quality effect that reaches all the supplier's customers")


class Linkage(Group):
    """Links a trusting supplier invests in (docs/ODD.md, 7.9 Information sharing, innovation and linkage)."""
    linkage_age: int = P(8, 0, 1_000_000, "steps", "age a relationship needs before a trusting supplier invests in a link")
    linkage_cost: float = P(200.0, 0.0, 1e12, "money", "supplier's one-off cost of a link (e.g. an ordering terminal)")
    linkage_switching_cost: float = P(0.2, 0.0, 100.0, "money/unit", "what leaving a linked relationship costs the buyer, per unit of the slot's volume")


class Downstream(Group):
    """Buyers' own costs and final customers' choice (docs/ODD.md, 7.11 Downstream competition)."""
    own_cost: float = P(1.0, 0.0, 1e6, "money/unit", "buyer's initial own cost per unit of final product, excluding components")
    max_markup: float = P(1.0, 0.0, 100.0, "share of cost", "highest markup over unit cost final customers accept (caps the logit-Nash price)")
    price_sensitivity: float = P(8.0, 0.0, 1000.0, "", "β of the logit over relative retail prices")
    share_inertia: float = P(0.2, 0.0, 1.0, "share", "λ: share of the way to the logit share covered per step")


class Adaptation(Group):
    """Imitation of postures and integrity, off by default (docs/ODD.md, 7.13 Adaptation)."""
    enabled: bool = Field(False, description="buyers imitate the posture of more profitable buyers (replicator dynamics)", json_schema_extra={"unit": "flag"})
    imitation_interval: int = P(8, 1, 1_000_000, "steps", "steps between imitation rounds")
    supplier_imitation: bool = Field(False, description="suppliers imitate the integrity of more profitable suppliers, with mutation (replicator dynamics)", json_schema_extra={"unit": "flag"})
    integrity_mutation: float = P(0.02, 0.0, 1.0, "share", "standard deviation of the mutation added to an imitated integrity")


GROUPS: dict[str, type[Group]] = {
    "run": Run, "market": Market, "buyers": Buyers, "prices": Prices, "suppliers": Suppliers,
    "trust": Trust, "quality": Quality, "service": Service, "time": Time,
    "innovation": Innovation, "linkage": Linkage, "downstream": Downstream, "adaptation": Adaptation,
}


class Params(Group):
    """All parameters of a run, grouped as in docs/ODD.md's parameter table. Immutable once validated."""

    run: Run = Run()
    market: Market = Market()
    buyers: Buyers = Buyers()
    prices: Prices = Prices()
    suppliers: Suppliers = Suppliers()
    trust: Trust = Trust()
    quality: Quality = Quality()
    service: Service = Service()
    time: Time = Time()
    innovation: Innovation = Innovation()
    linkage: Linkage = Linkage()
    downstream: Downstream = Downstream()
    adaptation: Adaptation = Adaptation()

    @model_validator(mode="after")
    def _consistent(self):
        for low_key, high_key in ORDERED:
            low, high = (getattr(getattr(self, g), n) for g, n in (k.split(".") for k in (low_key, high_key)))
            if low > high:
                raise ValueError(f"{low_key} ({low!r}) must not exceed {high_key} ({high!r})")
        return self

    # --- conveniences -------------------------------------------------------------------------
    def flat(self) -> dict[str, Any]:
        """``{"group.name": value}`` for every parameter."""
        return {f"{g}.{k}": v for g in GROUPS for k, v in getattr(self, g).model_dump().items()}

    def nested(self) -> dict[str, dict[str, Any]]:
        """``{"group": {"name": value}}``: every parameter, nested as in a scenario file."""
        return self.model_dump()

    def replace(self, **changes: Any) -> Params:
        """A validated copy with changes given as ``group.name`` or a unique bare ``name``."""
        data = self.nested()
        for key, value in changes.items():
            group, name = resolve_key(key)
            data[group][name] = value
        return validate(data)


# every limit between parameters, as (low, high): low ≤ high; so a prior box is checked at its extremes (calibration)
ORDERED: tuple[tuple[str, str], ...] = (("prices.min_markup", "prices.fair_markup"),)

# parameters of earlier versions, and what replaced them (a file that names one gets this message)
RETIRED: dict[str, str] = {
    "suppliers.opportunism": "no longer exists: corners are cut by suppliers of low hidden integrity; "
                             "set suppliers.integrity_mean and suppliers.integrity_sd instead",
    "downstream.retail_markup": "no longer exists: buyers set logit-Nash prices (capped by downstream.max_markup); "
                                "remove it",
}

# name -> group, for the bare names (every parameter name is unique across groups)
NAME_TO_GROUP: dict[str, str] = {n: g for g, cls in GROUPS.items() for n in cls.model_fields}
assert len(NAME_TO_GROUP) == sum(len(c.model_fields) for c in GROUPS.values()), "names must be unique"
ALL_KEYS = [f"{g}.{n}" for g, cls in GROUPS.items() for n in cls.model_fields]


def resolve_key(key: str, source: str | None = None) -> tuple[str, str]:
    """``"trust.gain"`` or ``"gain"`` → ``("trust", "gain")``; ParamError for anything else."""
    retired = RETIRED.get(key) or RETIRED.get(next((k for k in RETIRED if k.endswith("." + key)), ""))
    if retired:
        raise ParamError(source, key, retired)
    if "." in key:
        group, _, name = key.partition(".")
        if group not in GROUPS:
            raise ParamError(source, key, f'unknown group "{group}"{suggest(group, GROUPS)}')
        if name not in GROUPS[group].model_fields:
            raise ParamError(source, key, f'unknown parameter{suggest(name, GROUPS[group].model_fields)}')
        return group, name
    if key in NAME_TO_GROUP:
        return NAME_TO_GROUP[key], key
    if key in GROUPS:  # market=1: a whole table
        raise ParamError(source, key, f"a table of parameters, not one: name one of them, as {key}.NAME (see trustsim params)")
    raise ParamError(source, key, f"unknown parameter{suggest(key, list(NAME_TO_GROUP) + ALL_KEYS)}")


def _describe_error(err: dict) -> tuple[str, str]:
    key = ".".join(str(p) for p in err["loc"])
    kind, ctx, given = err["type"], err.get("ctx", {}), Shown(err.get("input"))
    if kind == "extra_forbidden":
        *parent, name = [str(p) for p in err["loc"]]
        if not parent and name in NAME_TO_GROUP:  # Params(uncertainty=0.9)
            return key, f'a parameter outside its table (did you mean "{NAME_TO_GROUP[name]}.{name}"?)'
        if not parent:  # a file's own key (extends) is not suggested as itself
            others = [k for k in (*GROUPS, "extends", "sweep", "calibrate", "description") if k != name]
            return key, f'unknown table "{name}"{suggest(name, others)}'
        if key in RETIRED:
            return key, RETIRED[key]
        return key, f"unknown parameter{suggest(name, GROUPS[parent[0]].model_fields)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return key, f"{given!r} is out of range ({_range_text(key)})"
    if kind == "finite_number":
        return key, f"{given!r} is not a finite number"
    if kind == "literal_error":
        hint = suggest(given.value, choices(key)) if isinstance(given.value, str) else ""
        return key, f"{given!r} is not one of {ctx.get('expected')}{hint}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return key, f"expected {_type_text(key)}, got {type(given.value).__name__} {given!r}"
    if kind == "value_error" and "error" in ctx:  # a validator's own message, without pydantic's "Value error, "
        return key, str(ctx["error"])
    return key, err["msg"][0].lower() + err["msg"][1:]


def _field(key: str):
    group, _, name = key.partition(".")
    return GROUPS[group].model_fields.get(name) if group in GROUPS else None


def _range_text(key: str) -> str:
    return "allowed {} to {}".format(*bounds(key))


def _type_text(key: str) -> str:
    f = _field(key)
    if f is None:
        return "a table"
    return {int: "an integer", float: "a number", bool: "true or false"}.get(f.annotation, f"one of {choices(key)}")


def choices(key: str) -> tuple[str, ...]:
    """The allowed values of a parameter ``group.name`` that is one of a few words."""
    return typing.get_args(_field(key).annotation)


def bounds(key: str) -> tuple[Any, Any]:
    """The declared (low, high) of a numeric parameter ``group.name``."""
    f = _field(key)
    lo = hi = None
    for m in f.metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    return lo, hi


def parameter_key(given: str, source: str | None, where: str) -> str:
    """A table entry's parameter name (``"trust.gain"`` or ``"gain"``) as its full key ``"trust.gain"``; when no
    parameter has that name, a ParamError naming the entry ``where``, with the nearest name suggested."""
    try:
        return ".".join(resolve_key(given))
    except ParamError as exc:
        raise ParamError(source, where, exc.message) from None


def range_fault(key: str, lo: Any, hi: Any) -> str | None:
    """Why the range ``lo … hi`` (a prior's, a sampled factor's) leaves ``key``'s declared range, else None."""
    dlo, dhi = bounds(key)
    if (dlo is not None and lo < dlo) or (dhi is not None and hi > dhi):
        return f"range {lo} … {hi} leaves the allowed range {dlo} to {dhi}"
    return None


def plain_number(value: Any) -> Any:
    """A NumPy scalar (``np.int64`` from a DataFrame or ``np.arange``) as the Python number it holds, else as it is."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def validate(data: dict, source: str | None = None) -> Params:
    """Validate a nested ``{group: {name: value}}`` mapping into Params, or raise ParamError."""
    for group, table in data.items():
        if group in GROUPS and not isinstance(table, dict):
            raise ParamError(source, group, f"expected a table [{group}], got {type(table).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        key, message = _describe_error(exc.errors()[0])
        raise ParamError(source, key or None, message) from None
