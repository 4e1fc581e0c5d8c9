"""Scenario files: TOML read safely (names ending in .toml, regular files only, size-limited), ``extends`` chains,
``--set`` overrides.

A file has one table per parameter group (``params.GROUPS``) and may say ``extends = "other.toml"``;
the result is validated once by ``params.validate``. Every fault is a ``ParamError`` naming the file
and the key (exit status 2 at the command line).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .arguments import refuse_blank, seed_argument
from .errors import PYTHON, ParamError, Words, safe_text, suggest
from .params import GROUPS, NAME_TO_GROUP, RETIRED, Params, resolve_key, validate
from .reading import file_kind, read_regular

TOP_LEVEL = ("extends", "description", "sweep", "calibrate")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: its parameters and where they came from."""

    name: str
    params: Params
    path: str | None = None
    sha256: str | None = None
    description: str = ""
    sweep: dict | None = None
    chain: tuple[str, ...] = ()
    overrides: dict = field(default_factory=dict)
    calibrate: dict | None = None


MAX_FILE_BYTES = 1_000_000  # a scenario is a few kilobytes; this refuses a device or a runaway file


def resolve_path(path: str | os.PathLike, shown: str | None = None, verb: str = "read") -> Path:
    """``path`` made absolute with its symbolic links followed; ParamError for a NUL character in it (which
    ``os.stat`` and ``Path.is_dir`` raise as ValueError, not OSError), a loop of links (which Python reports as
    RuntimeError or OSError, or leaves unresolved, depending on its version), or a path that ``cannot be {verb}``
    (``"written"`` for an output: a name too long, say)."""
    shown = str(path) if shown is None else shown
    if "\0" in str(path):  # no file has such a name
        raise ParamError(shown, None, "a path cannot hold a NUL character (\\x00)")
    try:
        resolved = Path(path).resolve()
        if resolved.is_symlink():  # resolve() stops at a link it cannot follow: a loop
            os.stat(resolved)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
            raise ParamError(shown, None, "is a loop of symbolic links") from None
        if not isinstance(exc, FileNotFoundError):  # a dangling link: written where it leads
            raise ParamError(shown, None, f"cannot be {verb} ({exc.strerror})") from None
    return resolved


def read_small_file(path: Path, shown: str, limit: int = MAX_FILE_BYTES, expected: str = "a TOML file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ParamError for anything else, saying it is not
    ``expected``. A named pipe or a device is refused without reading from it (no hang, no endless read)."""
    why = "; a scenario file is a few kilobytes" if expected == "a TOML file" else ""
    return read_regular(path, shown, expected, limit, why)


_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)$")
_TWICE = ("Cannot overwrite a value", "Cannot declare")


def _syntax_error(message: str, text: str) -> str:
    """tomllib's message, with the line it points at quoted (which names the key), and a key or table given
    twice said so in words."""
    at = _AT_LINE.search(message)
    lines = text.splitlines()
    if not at or not 1 <= int(at[1]) <= len(lines):
        return f"TOML syntax error: {message}"
    quoted = safe_text(lines[int(at[1]) - 1].strip(), 80)
    if message.startswith(_TWICE):
        return f"a key or table given twice, {at[0][1:-1]}: {quoted}"
    return f"TOML syntax error: {message}: {quoted}"


def _read_toml(path: Path, shown: str) -> tuple[dict, bytes]:
    raw = read_small_file(path, shown)
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not part of the text
    except UnicodeDecodeError as exc:
        raise ParamError(shown, None, f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(shown, None, _syntax_error(str(exc), text)) from None
    except ValueError:  # Python refuses to read integers longer than sys.get_int_max_str_digits()
        raise ParamError(shown, None, f"an integer longer than {sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise ParamError(shown, None, f"arrays or tables nested more than {MAX_NESTING} deep") from None
    deep = _too_deep(data)
    if deep:
        raise ParamError(shown, deep, f"arrays or tables nested more than {MAX_NESTING} deep")
    return data, raw


MAX_NESTING = 8  # a scenario needs 4: [sweep.factors] name = { min, max }


def _too_deep(data: dict) -> str | None:
    """The key of the first value nested deeper than MAX_NESTING, or None (without recursion)."""
    stack = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_NESTING:
            return ".".join(path[:MAX_NESTING + 1]) + "…"
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((v, (*path, str(k))) for k, v in items if isinstance(v, (dict, list)))
    return None


def _merge(base: dict, top: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _is_text(name: str) -> bool:
    """Whether a path, as Python decoded it from the system's bytes, is text that can be written as UTF-8 (a byte
    that is not UTF-8 is decoded as a lone surrogate, which no text file can hold)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_a_scenario(written: str, resolved: Path) -> str | None:
    """What is wrong with a scenario file named ``written`` that is ``resolved``, a name not ending in .toml (a
    link's target counts); None if nothing. Such a file is not read: its first line would be quoted in a syntax
    error, and a file extending /proc/self/environ (a colleague's, checked in CI) showed the environment's secrets."""
    if resolved.suffix.lower() == ".toml":
        return None
    where = "" if resolved.name == Path(written).name else f", resolved to {safe_text(resolved, 200)}"
    return f"is not a scenario file (a name ending in .toml{where})"


def _refuse_lost(shown: str, parent: str, table: str, theirs, mine, keys: tuple[str, ...], advice: str) -> None:
    """A ParamError when this file's ``[table]`` lacks ``keys`` that its parent's has: the parent's table is not
    inherited, so they are gone. ``advice`` says what to write instead (``{}``: the keys lost)."""
    if not (isinstance(theirs, dict) and isinstance(mine, dict)):
        return
    if lost := [k for k in keys if theirs.get(k) and k not in mine]:
        what = {"sweep": "a sweep", "calibrate": "a calibration"}[table]
        raise ParamError(shown, f"{table}.{lost[0]}", f'none here, and the [{table}] of "{safe_text(parent)}" is not '
                                                      f"inherited ({what} belongs to the file that declares it): "
                                                      f"{advice.format(' and '.join(lost))}")


def _load_chain(path: Path, seen: tuple[Path, ...], depth: int = 0) -> tuple[dict, list[Path], bytes]:
    shown = str(path)
    resolved = resolve_path(path, shown)
    # (a device, a folder or no file at all: the reader says which)
    if depth == 0 and resolved.is_file() and (wrong := _not_a_scenario(shown, resolved)):
        raise ParamError(shown, None, wrong)
    if not _is_text(str(resolved)):
        raise ParamError(shown, None, "the file's path is not UTF-8 text (a byte such as \\xff in a name), and every "
                                      "result records it: rename the file or its folder")
    if resolved in seen:
        cycle = " -> ".join(p.name for p in (*seen, resolved))
        raise ParamError(shown, "extends", f"circular extends ({cycle})")
    if depth > 32:
        raise ParamError(shown, "extends", "extends chain deeper than 32 files")
    data, raw = _read_toml(path, shown)
    for key, value in data.items():
        if key in TOP_LEVEL:
            continue
        if key not in GROUPS and key in NAME_TO_GROUP and not isinstance(value, dict):
            group = NAME_TO_GROUP[key]
            raise ParamError(shown, key, f'a parameter outside its table (did you mean "{group}.{key}"? write it '
                                         f'under [{group}], or as {group}.{key} = …)')
        if key not in GROUPS:
            hint = suggest(key, list(GROUPS) + list(TOP_LEVEL))
            if not hint and not isinstance(value, dict):  # a misspelt parameter outside its table
                hint = suggest(key, NAME_TO_GROUP)
                name = hint.split('"')[1] if hint else None
                hint = f' (did you mean "{NAME_TO_GROUP[name]}.{name}"?)' if name else ""
            raise ParamError(shown, key, f"unknown table{hint}")
        if not isinstance(value, dict):  # buyers = 4: the table [buyers], or the parameter market.buyers
            hint = f' (did you mean "{NAME_TO_GROUP[key]}.{key}"?)' if key in NAME_TO_GROUP else ""
            raise ParamError(shown, key, f"expected a table [{key}], got {type(value).__name__}{hint}")
        for name in value:
            if name not in GROUPS[key].model_fields:
                raise ParamError(shown, f"{key}.{name}", RETIRED.get(f"{key}.{name}")
                                 or f"unknown parameter{suggest(name, GROUPS[key].model_fields)}")
    for key in ("description",):
        if key in data and not isinstance(data[key], str):
            raise ParamError(shown, key, "expected a string")
    for key in ("sweep", "calibrate"):
        if key in data and not isinstance(data[key], dict):
            raise ParamError(shown, key, f"expected a table [{key}]")
    parent = data.pop("extends", None)
    chain = [resolved]
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise ParamError(shown, "extends", "expected the path of another TOML file, as a string")
        if "\0" in parent:  # no file has such a name; os.stat raises ValueError, not OSError
            raise ParamError(shown, "extends", "a path cannot hold a NUL character (\\x00)")
        # from the folder of the file itself, also when it was reached through a symbolic link
        target = (path.parent if path.parent.resolve() == resolved.parent else resolved.parent) / parent
        try:
            mode = os.stat(target).st_mode
            what = None if stat.S_ISREG(mode) else "is a directory" if stat.S_ISDIR(mode) else f"is {file_kind(mode)}"
        except OSError as exc:
            what = {errno.ELOOP: "is a loop of symbolic links", errno.ENAMETOOLONG: "is a name too long for the system"
                    }.get(exc.errno, "does not exist")
        if what:
            try:
                where = resolve_path(target)
            except ParamError:
                where = target.absolute()
            # each path cut on its own, so that a long one leaves what is wrong in the line
            raise ParamError(shown, "extends", f'"{safe_text(parent)}" {what} (resolved to {safe_text(where, 200)})')
        if wrong := _not_a_scenario(parent, resolve_path(target)):
            raise ParamError(shown, "extends", f'"{safe_text(parent)}" {wrong}')
        base, base_chain, _ = _load_chain(target, (*seen, resolved), depth + 1)
        # a [sweep] or [calibrate] belongs to the file that declares it: one here that changes a key of its parent's
        # lost the parent's factors (or priors and targets), a run of the scenario alone or no calibration at all
        _refuse_lost(shown, parent, "sweep", base.pop("sweep", None), data.get("sweep"), ("factors",),
                     "repeat its factors, or write factors = {{}} for replications of the scenario alone")
        _refuse_lost(shown, parent, "calibrate", base.pop("calibrate", None), data.get("calibrate"),
                     ("parameters", "targets"), "write its {} out here")
        base.pop("description", None)
        data = _merge(base, data)
        chain += base_chain
    # every group is checked in the file that wrote it, so errors name the right file
    try:
        validate({k: v for k, v in data.items() if k in GROUPS}, shown)
    except ParamError as exc:
        raise ParamError(shown, exc.key, exc.message) from None
    return data, chain, raw


def parse_value(text: str):
    """A ``--set`` value as TOML would read it: 3, 0.5, true, "silence" (bare words become strings). Text that
    TOML reads as more than the one value (``0.2\nloss=5``) is the text itself, so the rest is not dropped."""
    try:
        data = tomllib.loads(f"v = {text}")
    except ValueError:  # not TOML (or an integer too long for Python to read): the text itself
        return text
    return data["v"] if list(data) == ["v"] else text


def parse_set(item: str, source: str = "--set") -> tuple[str, Any]:
    """``"trust.gain=0.1"`` → ``("trust.gain", 0.1)``; a ParamError names ``source`` (``sets`` from Python)."""
    key, eq, value = item.partition("=")
    if not eq or not key.strip():
        raise ParamError(source, item, "expected group.name=value")
    return key.strip(), parse_value(value.strip())


def _valid_alone(data: dict, shown: str | None) -> bool:
    """Whether a scenario's own parameters are valid without the command's overrides: then an error between
    parameters (``prices.min_markup`` above ``prices.fair_markup``) is the overrides' doing."""
    try:
        validate({k: v for k, v in data.items() if k in GROUPS}, shown)
    except ParamError:
        return False
    return True


def _check_alone(group: str, name: str, value: Any, source: str = "--set") -> None:
    """A ``--set`` value that a later one replaces, checked on its own (type and range): ParamError naming
    ``source`` and its key. A rule between parameters is left to the values that are used."""
    try:
        validate({group: {name: value}}, source)
    except ParamError as exc:
        if exc.key is not None:
            raise


def apply_arguments(overrides: dict, arguments: dict, source: str | None = None) -> dict:
    """Put into ``overrides`` (key → value) each value given by an argument or option of its own (``arguments``:
    key → (its name, value), None when not given). It wins over an override of the same key (``--set
    run.seed=…``, ``run__seed=…``), which is still checked alone, so that a mistake in it is reported, naming
    ``source``. Returns key → name of the arguments given, by which a fault in their values is named."""
    named = {}
    for key, (name, value) in arguments.items():
        if value is None:
            continue
        if key in overrides:
            _check_alone(*key.split("."), overrides[key], source)
        overrides[key], named[key] = value, name
    return named


def load_scenario(path: str | Path | None = None, sets: list[str] | tuple[str, ...] = (),
                  seed: int | None = None, steps: int | None = None, *, words: Words = PYTHON) -> Scenario:
    """Read a scenario file (following ``extends``), apply overrides, validate; ParamError on bad input.

    ``path=None`` gives the defaults (docs/ODD.md, Parameters). ``words``: how an error names ``sets``, ``seed`` and
    ``steps`` (the commands name their options, ``--set``, ``--seed`` and ``--steps``).
    """
    if not (path is None or isinstance(path, (str, os.PathLike))):  # from Python: not pathlib's TypeError
        raise ParamError(None, "path", f"expected a scenario file's path or None, got {type(path).__name__}")
    refuse_blank(path, "scenario", "a scenario TOML file")  # Path("") is ".", which was called a directory
    sets = (sets,) if isinstance(sets, str) else () if sets is None else sets  # one "group.name=value", not letters
    listed = isinstance(sets, (list, tuple))
    if not listed or not all(isinstance(item, str) for item in sets):  # from Python: not a TypeError from the loop
        wrong = next(item for item in sets if not isinstance(item, str)) if listed else sets
        raise ParamError(words.name("sets"), None, f'expected a list of "group.name=value" strings, got '
                                                   f"{type(wrong).__name__} {safe_text(repr(wrong), 60)}"
                                                   f"{' in it' if listed else ''}")
    if path is None:
        data, chain, raw, shown, name = {}, [], b"", None, "defaults"
    else:
        path = Path(path)
        shown, name = str(path), path.stem
        data, chain, raw = _load_chain(path, ())
    overrides: dict[str, Any] = {}
    given = words.name("sets")
    for item in sets:
        key, value = parse_set(item, given)
        group, pname = resolve_key(key, given)
        if f"{group}.{pname}" in overrides:  # the later --set wins, but a mistake in the earlier is still one
            _check_alone(group, pname, overrides[f"{group}.{pname}"], given)
        overrides[f"{group}.{pname}"] = value
    if not words.options:  # from Python, worded as every function words a seed (the option's check is argparse's)
        seed = seed_argument(seed)
    flags = apply_arguments(overrides, {"run.seed": (words.name("seed"), seed),  # an error names --seed, not --set
                                        "run.steps": (words.name("steps"), steps)}, given)
    nested = {k: dict(v) for k, v in data.items() if k in GROUPS}
    for key, value in overrides.items():
        group, pname = key.split(".")
        nested.setdefault(group, {})[pname] = value
    try:
        params = validate(nested, shown)
    except ParamError as exc:
        if exc.key in flags:
            raise ParamError(flags[exc.key], None, exc.message) from None
        src = given if exc.key in overrides or (overrides and _valid_alone(data, shown)) else shown
        raise ParamError(src, exc.key, exc.message) from None
    return Scenario(
        name=name, params=params, path=shown,
        sha256=hashlib.sha256(raw).hexdigest() if path is not None else None,
        description=data.get("description", ""), sweep=data.get("sweep"),
        chain=tuple(str(p) for p in chain), overrides=overrides, calibrate=data.get("calibrate"),
    )


def scenario_text(params: Params, description: str) -> str:
    """A scenario file of every parameter of ``params`` (its ``description`` first): ``trustsim run`` on it makes
    the run those parameters make, seed included (the app's download of the settings a market runs with)."""
    return tomli_w.dumps({"description": description, **params.nested()})


def quote_the_name(group: str, name: str) -> str:
    """What to say of a table entry ``group.name = …`` written without quotes, which TOML reads as a table ``group``
    holding ``name`` (a sweep's factor, a calibration's prior)."""
    return f'write the name in quotes, "{group}.{name}" = …: unquoted, TOML reads {group}.{name} as a table {group} ' \
           f"holding {name}"
