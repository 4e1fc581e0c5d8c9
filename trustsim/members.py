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

from .params import GROUPS, Params

REAL_KEYS = tuple(f"{g}.{n}" for g, cls in GROUPS.items() for n, f in cls.model_fields.items()
                  if f.annotation is float)


def batch_key(params: Params) -> tuple:
    """What members of one batch must share: every parameter that is not a real number, but the seed."""
    flat = params.flat()
    return tuple((k, v) for k, v in flat.items() if k not in REAL_KEYS and k != "run.seed")


class _Group:
    __slots__ = ("_view", "_group")

    def __init__(self, view: View, group: str):
        self._view, self._group = view, group

    def __getattr__(self, name: str) -> Any:
        return self._view.value(self._group, name)


class VaryingParameter(LookupError):
    """A real-valued parameter read through ``ParamSpace.shared`` while the members hold different values."""


class _SharedGroup:
    __slots__ = ("_values", "_group", "_varying")

    def __init__(self, values, group: str, varying: dict):
        self._values, self._group, self._varying = values, group, varying

    def __getattr__(self, name: str) -> Any:
        key = f"{self._group}.{name}"
        if key in self._varying:
            raise VaryingParameter(f"{key} differs between the members of this ensemble; read it through a view "
                                   f"(pp.rel, pp.buyer, pp.supplier, pp.market or pp.at)")
        return getattr(self._values, name)


class Shared:
    """What every member shares, read as ``shared.market.buyers``: the first member's value of any parameter
    the members agree on; a real-valued parameter that differs between members raises ``VaryingParameter``
    (the first member's value would be silently wrong for the others)."""

    __slots__ = ("_params", "_varying")

    def __init__(self, params: Params, varying: dict):
        self._params, self._varying = params, varying

    def __getattr__(self, group: str) -> _SharedGroup:
        return _SharedGroup(getattr(self._params, group), group, self._varying)


class View:
    """The parameters as seen by elements whose members are ``index``: ``view.trust.gain`` is a number when
    all members share it, else an array of each element's member's value (computed once per view)."""

    __slots__ = ("_space", "_index", "_cache", "_groups")

    def __init__(self, space: ParamSpace, index: np.ndarray):
        self._space, self._index, self._cache, self._groups = space, index, {}, {}

    def value(self, group: str, name: str) -> Any:
        key = f"{group}.{name}"
        values = self._space.varying.get(key)
        if values is None:
            return getattr(getattr(self._space.first, group), name)
        out = self._cache.get(key)
        if out is None:
            out = self._cache[key] = values[self._index]
        return out

    def __getattr__(self, group: str) -> _Group:
        g = self._groups.get(group)
        if g is None:
            g = self._groups[group] = _Group(self, group)
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
        self.shared = Shared(self.first, self.varying) if self.varying else self.first
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
