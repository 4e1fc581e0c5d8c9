"""Argument types shared by the commands: integers read strictly, ports, folders, paths, with argparse's one-line
errors. A value a user typed is repeated only through ``errors.safe_text`` (escaped, long ones cut)."""

from __future__ import annotations

import argparse

from ..arguments import refuse_blank, seed_argument
from ..errors import ParamError, safe_text


def shown(value) -> str:
    """A user's value as an error line may repeat it (:func:`trustsim.errors.safe_text`)."""
    return safe_text(value)


def integer(text: str) -> int:
    """An integer argument, with a message for one too long for Python to convert."""
    try:
        return int(text)
    except ValueError:
        digits = text.strip().lstrip("+-").replace("_", "")
        if digits.isdigit():  # more digits than Python converts (4300)
            raise argparse.ArgumentTypeError(f"{shown(text)} is too large ({len(digits)} digits)") from None
        raise argparse.ArgumentTypeError(f"'{shown(text)}' is not an integer") from None


def seed(text: str) -> int:
    """A seed (``--seed``): a whole number from 0 to 2⁶³−1, refused in the words of the Python API's ``seed=``
    (:func:`trustsim.arguments.seed_argument`), whichever command takes it and whatever was typed."""
    try:
        value = int(text)
    except ValueError:  # no integer, or more digits than Python converts: refused as the text typed
        value = text
    try:
        return seed_argument(value)
    except ParamError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def pos_int(text: str) -> int:
    """An integer argument of 1 or more."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{shown(value)} must be at least 1")
    return value


def run_steps(text: str) -> int:
    """A run's steps (``--steps``): an integer within ``run.steps``'s declared range."""
    value = pos_int(text)
    # on use: the schema loads pydantic, which `trustsim --help` does without
    from ..params import bounds

    lo, hi = bounds("run.steps")
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{shown(value)} is out of range (allowed {lo} to {hi})")
    return value


def seed_count(text: str) -> int:
    """How many seeds (runs of each scenario or point): from the two the intervals need (``stats.MIN_SEEDS``) to a
    sweep's most replications, whose runs are laid out in memory (``capacity.MAX_REPLICATIONS``)."""
    # on use: `trustsim --help` imports this module, and only a command given --seeds needs the sweeps' limits
    from ..capacity import MAX_REPLICATIONS
    from ..stats import MIN_SEEDS

    value = integer(text)
    if value < MIN_SEEDS:  # 0 and 1 alike, not "at least 1" for 0 and "at least 2" for 1
        raise argparse.ArgumentTypeError(f"{shown(value)} is too few: the intervals need at least {MIN_SEEDS} seeds")
    if value > MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"{shown(value)} is more than the {MAX_REPLICATIONS} seeds a command runs")
    return value


def workers(text: str) -> int:
    """How many worker processes: 1 to ``capacity.MAX_WORKERS`` (a pool sizes its queues by it, in C ints)."""
    # on use: `trustsim --help` imports this module
    from ..capacity import workers_fault

    value = pos_int(text)
    if fault := workers_fault(value, shown(value)):
        raise argparse.ArgumentTypeError(fault)
    return value


def port(text: str) -> int:
    """A TCP port: 1 to 65535."""
    value = integer(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{shown(value)} is not a port (1 to 65535)")
    return value


def folder(text: str) -> str:
    """A folder to write (``--out``): not empty (an empty one would fall back to the default folder unnoticed) or
    blank (a folder named by spaces), refused in the words of :func:`trustsim.arguments.refuse_blank`, as the
    Python API's ``out=`` is, on argparse's line, which names the option."""
    try:
        refuse_blank(text, "--out", "a folder for the results")
    except ParamError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    return text


def pathname(name: str, wanted: str):
    """The type of a command's file or folder argument ``name`` (as its usage shows it): the text as given, unless
    it is empty or blank, which a command would read as the current folder (``Path("")`` is ``.``) or look for as a
    file named by spaces. That is refused as the Python API refuses it (:func:`trustsim.arguments.refuse_blank`):
    ``NAME: is empty or blank; name WANTED``, a ParamError, which argparse lets through, so the line has the form of
    the command's other refusals of a path (``FILE: no such file``), before anything is read or written."""
    def given(text: str) -> str:
        refuse_blank(text, name, wanted)
        return text

    given.__name__ = name  # argparse's own messages name a type by it
    return given
