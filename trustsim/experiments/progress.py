"""What a command that runs many markets tells its user as they finish: progress (a bar on a terminal, lines
elsewhere) and the one line that says which runs failed."""

from __future__ import annotations

import math
import sys
import time

IDLE_SECONDS = 30.0  # a wait for runs with none finishing is told after this long, and again as often


class Progress:
    """A tqdm bar (runs done, failures, time left) on a terminal; plain lines every 10% or 30 s otherwise."""

    def __init__(self, name: str, total: int, done: int, failed: int, quiet: bool):
        self.name, self.total, self.done, self.failed, self.quiet = name, total, done, failed, quiet
        self.start, self.start_done, self.last = time.monotonic(), done, time.monotonic()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            # on use: only this path needs tqdm
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=name, unit="run", file=sys.stderr, dynamic_ncols=True)
            self.bar.set_postfix(failed=failed)
        self.next_pct = (done * 10 // max(total, 1) + 1) * 10
        self.noted = None  # why runs are not finishing, once told (``idle``)
        self.finished_at = time.monotonic()  # when a run last finished, or the start

    def update(self, ok: bool) -> None:
        """One more run finished (``ok``: without failing): the bar moves, or a line when one is due."""
        self.noted = None
        self.finished_at = time.monotonic()
        self.done += 1
        self.failed += not ok
        if self.bar is not None:
            self.bar.update(1)
            if not ok:
                self.bar.set_postfix(failed=self.failed)
            return
        if self.quiet:
            return
        now = time.monotonic()
        pct = self.done * 100 // max(self.total, 1)
        if (pct >= self.next_pct and now - self.last >= 5) or now - self.last >= 30 or self.done == self.total:
            self.next_pct = (pct // 10 + 1) * 10
            self.last = now
            rate = (self.done - self.start_done) / max(now - self.start, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else math.nan
            print(f"{self.name}: {self.done}/{self.total} runs, {self.failed} failed, {now - self.start:.0f} s, "
                  f"about {left:.0f} s left", file=sys.stderr, flush=True)

    def idle(self, note: str | None = None) -> None:
        """No run has finished for ``IDLE_SECONDS`` (or since the last call): the bar's clock moves, or a line says
        so. ``note`` says why, where it is known (a Dask cluster without workers): told once while it holds, even
        when ``quiet``, with what Ctrl-C keeps — a sweep that waits forever must not wait in silence."""
        now = time.monotonic()
        told = note is not None and note != self.noted
        self.noted = note
        line = f"{self.name}: {self.done}/{self.total} runs, none finished in the last {now - self.finished_at:.0f} s"
        if told:
            line += f"; {note} (Ctrl-C keeps the finished runs; finish with --resume)"
        if self.bar is not None:
            self.bar.refresh()
            if told:
                self.bar.write(line, file=sys.stderr)
        elif told or not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the bar, if there is one."""
        if self.bar is not None:
            self.bar.close()


def tell_failures(failed: list, total: int, where: str, again: str) -> int:
    """How a sweep's runs ended, as ``sweep`` and ``merge`` end: ``0 of N runs failed`` and exit status 0, or the
    failure line (``again``: what runs the failed ones again) and 1; when every run failed, an error on standard
    error (nothing to summarise)."""
    if not failed:
        print(f"0 of {total} runs failed")
        return 0
    line = failure_line(failed, total, f"{where}runs.csv") + f"; {again}"
    if len(failed) == total:
        print(f"trustsim: error: every run failed: {line}", file=sys.stderr)
    else:
        print(line)
    return 1


def failure_line(failed: list, total: int, table: str, ids: str = "run ids") -> str:
    """How many of a command's runs failed, which, and where their errors are: the line every command that
    runs many prints (``sweep``, ``run --seeds``, ``compare``)."""
    shown = ", ".join(map(str, failed[:10])) + (" …" if len(failed) > 10 else "")
    return f"{len(failed)} of {total} runs failed ({ids} {shown}); see the error column of {table}"
