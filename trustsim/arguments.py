"""The Python API's checks of its arguments (``trustsim/api.py``; the seed and overrides also for ``TrustMarket``):
whole numbers and worker counts, a seed, a flag, an override's key (and one given twice), a scenario file's own
keys in a mapping, NumPy and pandas values as the plain Python ones a TOML file gives, and the warning of failed
runs. Each fault is a ParamError naming the argument, as the command line names its option."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from .errors import ParamError, Shown, safe_text

OVERRIDE_FORMS = 'uncertainty=0.9, market__uncertainty=0.9 or **{"market.uncertainty": 0.9}'


def seed_argument(value: Any, name: str = "seed") -> int | None:
    """A seed as an argument gives it (``seed=``, ``TrustMarket``'s ``rng=``): a whole number from 0 to 2⁶³−1 (a
    Python or NumPy integer), or None; else one ParamError naming ``name``, in the words of a sweep's or a
    calibration's ``seed``, whatever the function. Not a NumPy Generator, SeedSequence or list, which Mesa takes:
    every random number of a run is drawn by counter from one whole-number seed (docs/ODD.md, decision 34), so
    such a seed would be set aside for the scenario's."""
    # on first use: the schema loads pydantic, which `import trustsim` does without
    from .params import MAX_SEED, MAX_SEED_TEXT, plain_number

    if value is None:
        return None
    value = plain_number(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED:
        return value
    fault = f"expected a whole number from 0 to {MAX_SEED_TEXT}, got {Shown(value)!r}"
    if not isinstance(value, (bool, int, float, str)):  # a Generator, a SeedSequence, a list of entropy …
        fault = (f"expected a whole number from 0 to {MAX_SEED_TEXT}, got {type(value).__name__}: every random "
                 f"number of a run is drawn from one whole-number seed (docs/ODD.md, decision 34)")
    raise ParamError(None, name, fault)


def true_or_false(name: str, value: Any) -> bool:
    """A flag (``force``, ``timeseries``, calibrate's ``resume`` …): True or False, NumPy's too; else a ParamError
    naming ``name``, since a truthy "no" would be taken for True."""
    # on first use: the schema loads pydantic, which `import trustsim` does without
    from .params import plain_number

    value = plain_number(value)
    if not isinstance(value, bool):
        raise ParamError(None, name, f"expected True or False, got {safe_text(repr(value))}")
    return value


def refuse_blank(value: Any, name: str, wanted: str) -> None:
    """A path given as an empty or blank name (``Path("")`` is the current folder, which a check further on would
    take for the one meant): one ParamError, ``{name}: is empty or blank; name {wanted}``, whichever argument."""
    if isinstance(value, (str, os.PathLike)) and not str(value).strip():
        raise ParamError(name, None, f"is empty or blank; name {wanted}")


def refuse_file_keys(mapping: dict, given_as: str = "scenario") -> None:
    """A scenario file's own key in a mapping (``extends``, ``description``, ``sweep``, ``calibrate``): a ParamError
    saying what to do instead. A mapping holds parameter tables only; ``params.validate`` called such a key an
    unknown table and suggested its own name (``unknown table "extends" (did you mean "extends"?)``)."""
    key = next((k for k in ("extends", "sweep", "calibrate", "description") if k in mapping), None)
    if key == "extends":
        parent = mapping["extends"]
        parent = repr(parent if isinstance(parent, str) and parent else "other.toml")
        example = next((f"**{{{f'{group}.{name}'!r}: {value!r}}}" for group, table in mapping.items()
                        if isinstance(table, dict) for name, value in table.items()), 'market__buyers=60')
        raise ParamError(given_as, key, f"works in scenario files only, not in a mapping; pass the file itself "
                                          f"with the mapping's parameters as overrides, e.g. "
                                          f"trustsim.simulate({parent}, {example})")
    if key is not None:
        raise ParamError(given_as, key, {
            "sweep": "a sweep file's table, not a mapping's; pass the sweep file to trustsim.sweep, or the design "
                     "as its arguments (factors=…, replications=…, design=…)",
            "calibrate": "a calibration file's table, not a mapping's; pass the file to trustsim calibrate",
            "description": "a scenario file's key; a mapping holds parameter tables only ({\"market\": {…}, …})",
        }[key])


def tables(mapping: Mapping) -> dict:
    """A mapping of parameter tables (``{"market": {"buyers": 60}}``, each level any Mapping) as the dicts a
    scenario file's TOML gives."""
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in mapping.items()}


def override_key(key: str) -> str:
    """An override's keyword as a parameter's key (``market__uncertainty`` as ``market.uncertainty``); an empty
    one, or one with an empty group or name (``**{"": 1}``, ``market__``), is a ParamError naming it as given."""
    dotted = key.replace("__", ".") if "__" in key else key
    if not all(part.strip() for part in dotted.split(".")):
        raise ParamError(None, repr(key), f"is not a parameter's name; name one as {OVERRIDE_FORMS}")
    return dotted


def resolved_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``name=value`` overrides (bare, ``group__name`` or ``**{"group.name": …}``) as ``{"group.name": value}``; one
    parameter given twice in two spellings is a ParamError naming both, where the last silently won, the first
    never checked."""
    # on first use: the schema loads pydantic, which `import trustsim` does without
    from .params import resolve_key

    out: dict[str, Any] = {}
    spelt: dict[str, str] = {}
    for key, value in overrides.items():
        group, name = resolve_key(override_key(key))
        full = f"{group}.{name}"
        if full in out:
            raise ParamError(None, key, f"gives {full} a second time (it is also given as {spelt[full]}); give it once")
        out[full], spelt[full] = value, key
    return out


def whole(name: str, value: Any, minimum: int, none: bool = False, maximum: int | None = None) -> int | None:
    """``value`` as a whole number from ``minimum`` (to ``maximum``; a Python or NumPy integer; None when ``none``),
    else a ParamError naming the argument, as the command line refuses ``--seeds 1`` or ``--workers 0``."""
    # on first use: the schema loads pydantic, which `import trustsim` does without
    from .params import plain_number

    if value is None and none:
        return None
    value = plain_number(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(None, name, f"expected a whole number, got {type(value).__name__} {value!r:.80}")
    if value < minimum:
        raise ParamError(None, name, f"{value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ParamError(None, name, f"{value} must be at most {maximum}")
    return value


def worker_count(value: Any) -> int | None:
    """``workers``: None (every core) or a whole number from 1 to ``capacity.MAX_WORKERS``, as ``--workers``."""
    # on first use: `import trustsim` loads nothing heavy
    from .capacity import workers_fault

    value = whole("workers", value, 1, none=True)
    if value is not None and (fault := workers_fault(value)):
        raise ParamError(None, "workers", fault)
    return value


def plain(value: Any) -> Any:
    """NumPy numbers and arrays (an ``np.int64`` seed, ``np.linspace`` factor values, a range's bounds), pandas
    columns, lists, tuples and ranges as the Python numbers and lists they hold, and a Decimal or Fraction as its float,
    as a sweep file's TOML gives them; anything else as it is."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range)):  # (0.1, 0.5) was refused as no list of values
        return [plain(v) for v in value]
    if type(value).__name__ in ("Decimal", "Fraction"):  # decimal's or fractions': as a float, which JSON writes
        return float(value)
    numbers = type(value).__module__.partition(".")[0] in ("numpy", "pandas")  # a column of a table, too
    return value.tolist() if numbers and hasattr(value, "tolist") else value


def warn_failed(runs, name: str) -> None:
    """A RuntimeWarning saying how many of ``runs`` failed and where their errors are (``.NAME["error"]``)."""
    failed = int((runs["status"] != "ok").sum())
    if failed:
        warnings.warn(f"{failed} of {len(runs)} runs failed; their errors are in .{name}['error']",
                      RuntimeWarning, stacklevel=3)
