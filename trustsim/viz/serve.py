"""`trustsim viz` started in the background for a program that then uses the page (a browser test, the
README's screenshot), stopped again at the end as Ctrl-C would stop it.

    with app_server() as server:
        ...  # open server.url in a browser
    server.returncode  # 130: stopped by its SIGINT

The server's messages go to a file (``log``, else a temporary one) rather than a pipe that nobody reads
while the page is in use; :meth:`AppServer.log_text` gives them back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

ANSWER_TIMEOUT = 90.0  # seconds for the server to answer its first request (a loaded machine imports slowly)
STOP_TIMEOUT = 10.0  # seconds for the server to end after SIGINT, before it is killed


class ServerError(RuntimeError):
    """The server stopped before it answered, or did not answer in time; the message ends with its last words.
    ``returncode``: the server's exit status if it stopped by itself (2 for a scenario file it refused)."""

    def __init__(self, message: str, returncode: int | None = None):
        super().__init__(message)
        self.returncode = returncode


@dataclass
class AppServer:
    url: str
    proc: subprocess.Popen
    log: IO[str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def log_text(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` (Ctrl-C by default) and wait for the end; kill it if it does not end in ``timeout`` s."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_answering(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Until ``url`` answers 200; ServerError if the process ends first or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ServerError(f"trustsim viz stopped with exit status {proc.returncode}", proc.returncode)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"trustsim viz did not answer within {timeout:.0f} s")
        time.sleep(0.3)


@contextmanager
def app_server(scenario: str | os.PathLike | None = None, *, env: dict | None = None,
               log: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
               timeout: float = ANSWER_TIMEOUT) -> Iterator[AppServer]:
    """``python -m trustsim viz [SCENARIO] --port <free port>`` on the loopback address, until it answers.

    ``env`` adds to (or, with a value of None, removes from) this process's environment. The server is
    stopped with SIGINT when the block ends, also on an error; a server that is already stopped is left so.
    """
    environ = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    port = free_port()
    command = [sys.executable, "-m", "trustsim", "viz", "--port", str(port)]
    if scenario is not None:
        command.insert(4, str(Path(scenario).resolve()))
    logfile = open(log, "w+", encoding="utf-8") if log else tempfile.NamedTemporaryFile("w+", encoding="utf-8")
    try:
        proc = subprocess.Popen(command, cwd=cwd, env=environ, stdout=logfile, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        server = AppServer(f"http://127.0.0.1:{port}/", proc, logfile)
        try:
            try:
                wait_answering(server.url, proc, timeout)
            except ServerError as exc:
                server.stop()
                raise ServerError(f"{exc}: {server.log_text().strip()[-2000:]}", exc.returncode) from None
            yield server
        finally:
            server.stop()
    finally:
        logfile.close()
