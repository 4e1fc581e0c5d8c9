"""One writer at a time: the lock on a results folder (``.NAME.lock`` beside it, holding the writer's PID).

The operating system drops the lock (``flock``) when its process ends, so a lock left by a killed process
is taken over; where ``flock`` is missing, the PID written in the file decides. ``target_lock`` holds it
for a block, ``claim_target`` from a command's check until ``release_claim`` or the process's end. Whoever
takes it first puts back a result that a writer killed between its two renames left moved aside
(:func:`put_back`), before anything else looks at the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ParamError, safe_text
from .scenario import resolve_path

try:
    import fcntl
except ImportError:  # not POSIX: the lock relies on the PID written in it
    fcntl = None

WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                errno.ENAMETOOLONG, errno.EBUSY, errno.EXDEV)
_MOUNT = " (a mount point, which a result replaces by renaming, cannot be one: name a folder inside it)"
_HINTS = {errno.EFBIG: " (the file-size limit, ulimit -f)", errno.ENOSPC: "; free some space and run it again",
          errno.EDQUOT: "; free some space and run it again", errno.EBUSY: _MOUNT, errno.EXDEV: _MOUNT}


def write_failure(exc: BaseException | None) -> str | None:
    """What an OS error while writing results says, in a line (its file, the reason, what to do), or None for
    any other failure: a full disk, a quota, a file-size limit, a read-only disk, no permission, a name too
    long, a mount point as the folder to replace. Libraries that wrap the OS error (pyarrow, Matplotlib) are seen
    through, by its cause or its text."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError):
            text = str(exc)
            code = exc.errno if exc.errno in WRITE_ERRNOS else next(
                (n for n in WRITE_ERRNOS if f"[Errno {n}]" in text or os.strerror(n) in text), None)
            if code is not None:
                what = safe_text(os.fsdecode(exc.filename), 400) if exc.filename else "results"
                if code in (errno.EACCES, errno.EPERM, errno.ENAMETOOLONG):  # may be met reading, too
                    return f"{what}: {os.strerror(code)}"
                return f"cannot write {what}: {os.strerror(code)}{_HINTS.get(code, '')}"
        exc = exc.__cause__ or exc.__context__
    return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (when unsure, it does: nothing of it is removed)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@dataclass
class _Lock:
    fd: int
    file: Path
    depth: int = 0
    claimed: bool = False
    made: list[Path] = field(default_factory=list)  # folders created to hold the lock file


_HELD: dict[Path, _Lock] = {}


def lock_file(target: Path) -> Path:
    """The lock file of ``target``: a hidden ``.<name>.lock`` beside it."""
    return target.parent / f".{target.name}.lock"


def _holder(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _busy(shown: str, pid: int | None, file: Path) -> ParamError:
    who = f"process {pid}" if pid else "another process"
    return ParamError(shown, None, f"is being written by {who} (lock {safe_text(str(file))}); "
                                   f"wait for it to finish, or stop it")


def _take(target: Path, shown: str) -> _Lock:
    file = lock_file(target)
    made = []
    for folder in (target.parent, *target.parent.parents):
        if folder.exists():
            break
        made.append(folder)
    while True:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0),
                         0o644)
        except OSError as exc:
            _remove_empty(made)
            if file.is_symlink():  # not followed: the file it leads to would be emptied for the PID
                raise ParamError(shown, None, f"its lock {safe_text(str(file))} is a symbolic link, which trustsim "
                                              f"does not follow; move it away") from None
            raise ParamError(shown, None, f"cannot write in {safe_text(str(target.parent))} "
                                          f"({exc.strerror or exc})") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                raise OSError(errno.ENOLCK, "no flock")
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            _remove_empty(made)
            raise _busy(shown, pid, file) from None
        except OSError:  # no advisory locks here (some network file systems): the PID in the file decides
            pid = _holder(fd)
            if pid and pid != os.getpid() and pid_alive(pid):
                os.close(fd)
                _remove_empty(made)
                raise _busy(shown, pid, file) from None
        try:  # the previous holder may have removed the file between our open and our lock
            same = os.stat(file).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)  # reading the previous holder's PID moved the offset past it
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # a full disk, a file-size limit: no empty lock file is left behind
            with contextlib.suppress(OSError):
                os.unlink(file)
            os.close(fd)
            _remove_empty(made)
            raise ParamError(shown, None, f"cannot write its lock {safe_text(str(file))} "
                                          f"({exc.strerror or exc})") from None
        return _Lock(fd, file, made=made)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def _let_go(target: Path) -> None:
    lock = _HELD.get(target)
    if lock is None or lock.depth > 0 or lock.claimed:
        return
    del _HELD[target]
    with contextlib.suppress(OSError):
        if os.stat(lock.file).st_ino == os.fstat(lock.fd).st_ino:
            os.unlink(lock.file)
    with contextlib.suppress(OSError):
        os.close(lock.fd)
    if not target.exists():
        _remove_empty(lock.made)


def moved_aside(target: Path) -> list[Path]:
    """The folders ``.NAME.old-PID`` beside ``target`` that a writer moved it to (not links), the last moved aside
    last (renaming sets a folder's ctime)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.old-\d+(?:-\d+)?")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = [p for n in names if pattern.fullmatch(n) and (p := target.parent / n).is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: (p.lstat().st_ctime_ns, p.name))


def put_back(target: Path, shown: str) -> Path | None:
    """Put back the result a writer killed between its two renames left (call with the lock held): it had moved
    ``target`` to ``.NAME.old-PID`` and not yet renamed the new result in, so ``target`` is absent. Returns the
    folder put back, saying so in a line on stderr, or None. Whatever that PID: no writer but the lock's holder
    is between its renames. If a failed clean-up left more than one, the last moved aside (renaming sets a
    folder's ctime) is put back; the others are leftovers of an older result, removed as such."""
    found = [] if os.path.lexists(target) else moved_aside(target)
    if not found:
        return None
    moved = found[-1]
    try:
        os.rename(moved, target)
    except OSError as exc:
        raise ParamError(shown, None, f"is missing: a writer killed while replacing it left it as "
                                      f"{safe_text(moved.name)}, which cannot be put back ({exc.strerror or exc}); "
                                      f"rename it to {safe_text(target.name)}") from None
    print(f"trustsim: note: {shown} put back from {safe_text(moved.name)}, where a writer killed while replacing "
          f"it had moved it", file=sys.stderr)
    return moved


def put_back_to_read(path: str | Path) -> None:
    """For a command that only reads ``path`` (a result folder, or a file in one): when the folder is absent and
    a writer killed between its two renames left it moved aside, take its lock a moment, which puts it back
    (:func:`put_back`, saying so). No lock is taken while the folder exists or nothing was moved aside. A live
    writer between its renames holds the lock: the command is told to wait, as a writer would be. Where this
    process may not write the lock, a line says where the result is."""
    path = Path(path)
    for target in (path, path.parent):  # the parent: when path is the manifest.json of a folder moved aside
        if os.path.lexists(target):
            return
        moved = moved_aside(target)
        if not moved:
            continue
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise ParamError(str(target), None, f"does not exist; a writer killed while replacing it left it as "
                                                f"{safe_text(moved[-1].name)}: run any trustsim command that writes "
                                                f"{safe_text(target.name)}, or rename it back")
        with target_lock(target):
            return


def _hold(target: Path, shown: str) -> _Lock:
    lock = _HELD.get(target)
    if lock is None:
        lock = _HELD[target] = _take(target, shown)
        try:
            put_back(target, shown)
        except BaseException:
            _let_go(target)
            raise
    return lock


@contextlib.contextmanager
def target_lock(out: str | Path, shown: str | None = None) -> Iterator[Path]:
    """Hold the lock of the results folder ``out`` for the ``with`` block; yields ``out`` resolved.

    A second process asking for it gets ParamError naming the PID that holds it; a lock whose process
    has ended is taken over (the operating system released it). Re-entrant within a process."""
    shown = shown or safe_text(str(out))
    target = resolve_path(out, shown, verb="written")
    lock = _hold(target, shown)
    lock.depth += 1
    try:
        yield target
    finally:
        lock.depth -= 1
        _let_go(target)


def claim_target(out: str | Path, shown: str | None = None) -> Path:
    """Take the lock of ``out`` until :func:`write_atomically` has written it (or failed to), or this
    process ends: for a command that checks its target, computes, then writes."""
    shown = shown or safe_text(str(out))
    target = resolve_path(out, shown, verb="written")
    _hold(target, shown).claimed = True
    return target


def release_claim(out: str | Path) -> None:
    """Let go a claim ``claim_target`` took, when the command fails before writing; a no-op if none is held."""
    with contextlib.suppress(ParamError):
        target = resolve_path(out)
        lock = _HELD.get(target)
        if lock is not None:
            lock.claimed = False
            _let_go(target)


@atexit.register
def _release_all() -> None:
    for target, lock in list(_HELD.items()):
        lock.depth, lock.claimed = 0, False
        _let_go(target)


