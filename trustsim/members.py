"""The members of an ensemble: markets that share their array shapes and may differ in any real-valued parameter.

An ensemble (``ensemble.py``) steps many markets in one set of arrays; a single run is an ensemble of one.
Members of one batch agree on every parameter that is not a real number (sizes, steps, counts, switches,
settings): ``batch_key`` says which runs can be batched. A real-valued parameter that differs between
members is held as an array with one value per member, and each phase sees it through a ``View`` for the
kind of element it acts on: per relationship, per buyer, per supplier, per market, or per element of a
subset. A parameter all members share stays a plain number, so a single run computes with numbers, as
the equations read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .params import (
    GROUPS,
    Adaptation,
    Buyers,
    Downstream,
    Group,
    Innovation,
    Linkage,
    Market,
    Params,
    Prices,
    Quality,
    Run,
    Service,
    Suppliers,
    Time,
    Trust,
    VaryingParameter,
)

__all__ = ["REAL_KEYS", "ParamSpace", "Shared", "VaryingParameter", "View", "batch_key"]

REAL_KEYS = tuple(f"{g}.{n}" for g, cls in GROUPS.items() for n, f in cls.model_fields.items()
                  if f.annotation is float)


def batch_key(params: Params) -> tuple:
    """What members of one batch must share: every parameter that is not a real number, but the seed."""
    flat = params.flat()
    return tuple((k, v) for k, v in flat.items() if k not in REAL_KEYS and k != "run.seed")


def _group_with(group: Group, values: dict[str, Any], held_back: Sequence[str] = ()) -> Group:
    """A copy of one parameter group with some values replaced (arrays, one per element) and some held back."""
    g = type(group).model_construct(**{**group.__dict__, **values})
    for name in held_back:
        del g.__dict__[name]
    return g


class _Groups:
    """The parameter groups by name, each an instance of its class in ``params.py`` (so ``view.trust.gain`` leads
    a reader and an editor to ``Trust.gain``); subclasses say how a group is built."""

    __slots__ = ()

    def _group(self, name: str) -> Group:
        raise NotImplementedError

    @property
    def run(self) -> Run:
        return self._group("run")

    @property
    def market(self) -> Market:
        return self._group("market")

    @property
    def buyers(self) -> Buyers:
        return self._group("buyers")

    @property
    def prices(self) -> Prices:
        return self._group("prices")

    @property
    def suppliers(self) -> Suppliers:
        return self._group("suppliers")

    @property
    def trust(self) -> Trust:
        return self._group("trust")

    @property
    def quality(self) -> Quality:
        return self._group("quality")

    @property
    def service(self) -> Service:
        return self._group("service")

    @property
    def time(self) -> Time:
        return self._group("time")

    @property
    def innovation(self) -> Innovation:
        return self._group("innovation")

    @property
    def linkage(self) -> Linkage:
        return self._group("linkage")

    @property
    def downstream(self) -> Downstream:
        return self._group("downstream")

    @property
    def adaptation(self) -> Adaptation:
        return self._group("adaptation")


class Shared(_Groups):
    """What every member shares, read as ``shared.market.buyers``: the first member's value of any parameter
    the members agree on; a real-valued parameter that differs between members is held back, and reading it
    raises ``VaryingParameter`` (the first member's value would be silently wrong for the others)."""

    __slots__ = ("_params", "_groups")

    def __init__(self, params: Params, varying: dict[str, dict[str, np.ndarray]]):
        self._params = params
        self._groups = {g: _group_with(getattr(params, g), {}, held_back=list(names)) for g, names in varying.items()}

    def _group(self, name: str) -> Group:
        g = self._groups.get(name)
        return getattr(self._params, name) if g is None else g


class View(_Groups):
    """The parameters as seen by elements whose members are ``index``: ``view.trust.gain`` is a number when
    all members share it, else an array of each element's member's value (a group is built once per view,
    when a phase first reads it)."""

    __slots__ = ("_space", "_index", "_groups")

    def __init__(self, space: ParamSpace, index: np.ndarray):
        self._space, self._index, self._groups = space, index, {}

    def _group(self, name: str) -> Group:
        g = self._groups.get(name)
        if g is None:
            first, varying = getattr(self._space.first, name), self._space.varying_by_group.get(name)
            g = self._groups[name] = first if varying is None else _group_with(
                first, {n: values[self._index] for n, values in varying.items()})
        return g


class ParamSpace:
    """The members' parameters: ``shared`` (everything they share; a real-valued parameter that differs
    between members raises there) and ``varying`` (``{"group.name": array of one value per member}``), with
    views per kind of element."""

    def __init__(self, members: Sequence[Params]):
        self.first = members[0]
        self.n = len(members)
        key = batch_key(self.first)
        for p in members[1:]:
            if batch_key(p) != key:
                differ = [k for (k, v), (_, w) in zip(key, batch_key(p), strict=True) if v != w]
                raise ValueError(f"members of one batch must share {', '.join(differ)}")
        self.varying: dict[str, np.ndarray] = {}
        if self.n > 1:
            flats = [p.flat() for p in members]
            for k in REAL_KEYS:
                values = np.array([f[k] for f in flats], dtype=float)
                if (values != values[0]).any():
                    self.varying[k] = values
        self.varying_by_group: dict[str, dict[str, np.ndarray]] = {}
        for k, values in self.varying.items():
            group, name = k.split(".")
            self.varying_by_group.setdefault(group, {})[name] = values
        self.shared = Shared(self.first, self.varying_by_group) if self.varying else self.first
        m = self.first.market
        self.member_of = {
            "relationship": np.repeat(np.arange(self.n), m.buyers * m.slots_per_buyer),
            "buyer": np.repeat(np.arange(self.n), m.buyers),
            "supplier": np.repeat(np.arange(self.n), m.suppliers),
            "market": np.arange(self.n),
        }
        if self.varying:
            self.rel, self.buyer, self.supplier, self.market = (
                View(self, self.member_of[kind]) for kind in ("relationship", "buyer", "supplier", "market"))
        else:  # one member, or members alike but for their seeds: the parameters are numbers
            self.rel = self.buyer = self.supplier = self.market = self.first

    def at(self, kind: str, rows: np.ndarray, grid: bool = False):
        """The parameters as seen by the elements ``rows`` of a kind (``grid``: as a column, for a table of
        draws per row); numbers when the members share them."""
        if not self.varying:
            return self.first
        index = self.member_of[kind][rows]
        return View(self, index[:, None] if grid else index)
