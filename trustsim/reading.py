"""Reading a file a user may have edited or replaced: a scenario, a manifest, a results table, a journal.

Every such file is opened through :func:`open_regular`, which refuses anything but a regular file without
reading from it (a named pipe would block forever, a device read without end), and every JSON text is
parsed through :func:`parse_json`, which turns what the parser cannot take (nesting deep enough to exhaust
the stack, say) into a ParamError. Each fault is one line naming the file and what the caller expected."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat

from .errors import ParamError

JSON_LIMIT = 50_000_000  # bytes: a manifest or state file is kilobytes; this refuses a runaway file


def file_kind(mode: int) -> str:
    """What a file of mode ``mode`` is, in words: "a directory", "a named pipe", "a device", …"""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, shown: str | None = None, expected: str = "a file") -> io.BufferedReader:
    """``path`` opened for reading (binary) when it is a regular file; ParamError naming ``shown`` (default the
    path) otherwise: missing, a folder, a named pipe or a device (``is a named pipe, not {expected}``), refused
    without reading from it: the file is opened without blocking and looked at before anything is read."""
    shown = str(path) if shown is None else shown
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ParamError(shown, None, "no such file") from None
    except IsADirectoryError:
        raise ParamError(shown, None, f"is a directory, not {expected}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ParamError(shown, None, "is a loop of symbolic links") from None
        raise ParamError(shown, None, f"cannot read ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ParamError(shown, None, f"is {file_kind(mode)}, not {expected}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file never blocks; readers then see an ordinary file
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, shown: str | None = None, expected: str = "a file",
                 limit: int | None = None, why: str = "") -> bytes:
    """The bytes of the regular file ``path`` (:func:`open_regular`), at most ``limit`` of them: a longer file is
    a ParamError ("is larger than N MB", then ``why``), found without reading more than ``limit + 1`` bytes."""
    shown = str(path) if shown is None else shown
    with open_regular(path, shown, expected) as fh:
        try:
            data = fh.read() if limit is None else fh.read(limit + 1)
        except OSError as exc:
            raise ParamError(shown, None, f"cannot read ({exc.strerror})") from None
    if limit is not None and len(data) > limit:
        size = f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit} bytes"
        raise ParamError(shown, None, f"is larger than {size}{why}")
    return data


def parse_json(text: str | bytes, shown: str, expected: str = "a JSON file", key: str | None = None, **kwargs):
    """``json.loads(text, **kwargs)``; ParamError naming ``shown`` (and ``key``, a journal's line, say) when it is
    not JSON: bytes that are not UTF-8, a syntax error, or nesting deeper than the parser can follow (which
    Python raises as RecursionError)."""
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise ParamError(shown, key, f"is nested too deeply to read; not {expected}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        why = (str(exc).splitlines() or [""])[0][:80]
        raise ParamError(shown, key, f"is not {expected} ({why})") from None


def read_json(path: str | os.PathLike, shown: str | None = None, expected: str = "a JSON file",
              limit: int = JSON_LIMIT, **kwargs):
    """The JSON in the regular file ``path`` (:func:`read_regular`, :func:`parse_json`); ParamError otherwise."""
    shown = str(path) if shown is None else shown
    return parse_json(read_regular(path, shown, expected, limit), shown, expected, **kwargs)


def json_or_none(path: str | os.PathLike, **kwargs):
    """The JSON in ``path``, or None where there is none to read (missing, not a regular file, not JSON): for
    callers to whom such a file only means "not ours"."""
    with contextlib.suppress(ParamError):
        return read_json(path, **kwargs)
    return None


def read_csv(path: str | os.PathLike, shown: str | None = None, expected: str = "a CSV table", **kwargs):
    """``pandas.read_csv`` of the regular file ``path`` (:func:`open_regular`): ParamError for anything else;
    what pandas raises is left to the caller, which knows what the table should hold."""
    # on use: pandas is heavy, and a command that reads no table does not load it
    import pandas as pd

    with open_regular(path, shown, expected) as fh:
        return pd.read_csv(fh, **kwargs)


def refuse_words(table, path: str | os.PathLike, columns) -> None:
    """ParamError naming the table ``path`` and the first of ``columns`` of ``table`` (a DataFrame read from it) that
    holds anything but numbers: a word or a list typed into a cell (a blank is a missing number, NaN, and passes)."""
    # on use: pandas is heavy, and a command that reads no table does not load it
    import pandas as pd

    wrong = next((c for c in columns if not pd.api.types.is_numeric_dtype(table[c])), None)
    if wrong is not None:
        raise ParamError(str(path), wrong, "holds values that are not numbers; not as trustsim wrote it")


def read_parquet(path: str | os.PathLike, shown: str | None = None, expected: str = "a Parquet table", **kwargs):
    """``pandas.read_parquet`` of the regular file ``path`` (:func:`open_regular`): ParamError for anything else."""
    # on use: pandas is heavy, and a command that reads no table does not load it
    import pandas as pd

    with open_regular(path, shown, expected) as fh:
        return pd.read_parquet(fh, **kwargs)


def refuse_irregular(path: str | os.PathLike, shown: str | None = None, expected: str = "a file") -> None:
    """ParamError when ``path`` exists but is not a regular file (a named pipe, a device, a folder), looked at
    without opening it; nothing when it is a regular file or absent."""
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ParamError(str(path) if shown is None else shown, None, f"is {file_kind(mode)}, not {expected}")

