"""Bad input, and how an error line repeats it: the one exception every input fault raises (the command
line turns it into one line and exit status 2) and the safe text that line is made of: a value cut short, the
nearest name of a misspelt one, counts in words."""

from __future__ import annotations

import difflib
import reprlib
import unicodedata
from dataclasses import dataclass

MAX_SHOWN = 100  # characters of a user's value an error line repeats
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")  # control, format (bidi overrides), surrogates, line breaks


def safe_text(value, limit: int | None = MAX_SHOWN) -> str:
    """A user's value as an error line may repeat it: on one line, with no character that steers the
    terminal (newlines, ANSI escapes, bidirectional overrides and the like are written as ``\\n``,
    ``\\x1b``, ``\\u202e``), and, when longer than ``limit``, cut to its first 60 % of it with its length.
    Everything that repeats a user's value in an error line goes through here."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = f"{text[:limit * 6 // 10]}…({len(text)} characters)"
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) in _HIDDEN:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def suggest(word: str, choices) -> str:
    """' (did you mean "x"?)' for a near miss, else ''. Failing one, the only choice that has the word (or it
    without a plural's s) as one of its parts: `adaptation.suppliers`, MODEL.md's name, gives `supplier_imitation`."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close and isinstance(word, str) and word:
        close = [c for c in choices if {word, word.removesuffix("s")} & set(str(c).split("_"))]
        close = close if len(close) == 1 else []
    return f' (did you mean "{close[0]}"?)' if close else ""


_SHORT = reprlib.Repr(maxstring=60, maxother=60, maxlevel=2)


class Shown:
    """A value as an error message shows it: its repr, cut short (no 64 KB lines, no endless nesting)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return _SHORT.repr(self.value)


def counted(n: int, noun: str) -> str:
    """``n`` and its noun, plural unless one: "1 step", "12 steps"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class ParamError(Exception):
    """Bad input: names the file, the key and what is wrong. The CLI turns it into exit 2.

    The line it makes is safe to print: every part goes through :func:`safe_text` (the key cut at
    MAX_SHOWN characters, the file and the message at 400)."""

    def __init__(self, source: str | None, key: str | None, message: str):
        self.source, self.key, self.message = source, key, message
        shown = None if key is None else safe_text(key)
        where = ": ".join(part for part in (None if source is None else safe_text(source, 400), shown) if part)
        message = safe_text(message, 400)
        super().__init__(f"{where}: {message}" if where else message)

    def __reduce__(self):
        """Made again from its three parts (a worker's error reaches its parent whole: unpickled from its line
        alone, it failed, and ``mesa.batch_run`` on two processes waited for ever)."""
        return type(self), (self.source, self.key, self.message)


@dataclass(frozen=True)
class Words:
    """How a refusal names what to do: the command line's options (:data:`COMMAND_LINE`), or the arguments of the
    Python function called (:data:`PYTHON`: a result's ``save(out, force=…)``, ``calibrate(…, resume=…)``,
    ``load_scenario(…, sets=…, seed=…)``), which has no ``--out`` to choose or ``--force`` to pass."""

    out: str  # the target, when the refusal cannot name its path
    force: str  # what replaces the folder anyway
    another: str  # what to do instead
    resume: str  # what finishes an unfinished result in its folder
    options: bool = True  # an argument is named by its command-line option

    def name(self, argument: str) -> str:
        """How a refusal names the Python argument ``argument``: itself, or its option on the command line
        (``check_coverage`` is ``--check-coverage``; ``sets`` are ``--set``s)."""
        if not self.options:
            return argument
        return "--set" if argument == "sets" else "--" + argument.replace("_", "-")

    def given(self, argument: str, value) -> str:
        """``argument`` given ``value`` as the caller writes it: ``--screen 32``, or ``screen=32``."""
        return f"{self.name(argument)} {value}" if self.options else f"{argument}={value}"


COMMAND_LINE = Words("--out", "--force", "choose another --out", "--resume")
PYTHON = Words("out", "force=True", "save to another folder", "resume=True", options=False)
