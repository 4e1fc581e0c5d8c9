"""The app's server: ``trustsim viz`` (:func:`serve`: the address, its checks, Solara's server in production
mode), what that server does for each page (memory given back), and the app started in the background for a
program that then uses the page (a browser test, the README's screenshot), stopped again at the end as Ctrl-C
would stop it:

    with app_server() as server:
        ...  # open server.url in a browser
    server.returncode  # 130: stopped by its SIGINT

The server's messages go to a file (``log``, else a temporary one) rather than a pipe that nobody reads
while the page is in use; :meth:`AppServer.log_text` gives them back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import ParamError, safe_text
from ..scenario import load_scenario

SCENARIO_ENV = "TRUSTSIM_VIZ_SCENARIO"  # the scenario `trustsim viz` was given, for the server process

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
    """A running app server: its URL, its process and the log file of its output."""
    url: str
    proc: subprocess.Popen
    log: IO[str] = field(repr=False)

    @property
    def pid(self) -> int:
        """The server process's id."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """The server's exit status; None while it runs."""
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
    logfile = open(log, "w+", encoding="utf-8") if log else tempfile.NamedTemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 — closed in the finally below
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


def release_freed_memory() -> None:
    """Hand memory Python has freed back to the system (glibc's ``malloc_trim``): the allocator otherwise
    keeps the arenas a closed page's objects lived in, about 1–2 MB a page, and the server only grows.
    Elsewhere than glibc, nothing."""
    # not on every platform

    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


# --- `trustsim viz` ---------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """True for ``localhost`` or a loopback address, where the app is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """ParamError unless ``host:port`` can be listened on."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise ParamError(f"--host {safe_text(host)} --port {port}", None,
                         f"cannot listen there ({exc.strerror})") from None


# A closed page's session (its kernel: a market, its controls, its charts) is kept this long for the page
# to reconnect, then freed; Solara's default is 24 hours. At most MAX_SESSIONS pages are served at once,
# a further page waits for one to close. Set SOLARA_KERNEL_CULL_TIMEOUT or SOLARA_KERNEL_MAX_COUNT to change.
CULL_TIMEOUT = "2m"
MAX_SESSIONS = 24


def server_env(environ=None) -> dict:
    """The server's environment: no usage reports, closed sessions culled within minutes, a bound on live
    sessions, no Solara banner over the page (what the user's environment sets for Solara wins)."""
    env = dict(os.environ if environ is None else environ)
    env.update({
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",  # no usage reports leave the machine
        # Solara warns on every page load that plain http cannot carry samesite=none cookies; on a
        # loopback address that is expected
        "PYTHONWARNINGS": "ignore::UserWarning:solara.server.starlette",
    })
    env.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT)
    env.setdefault("SOLARA_KERNEL_MAX_COUNT", str(MAX_SESSIONS))
    # Solara's "This website runs on Solara", fixed at the window's bottom right, lay over the charts' axes,
    # legends and lines as the page scrolled under it, and links to a site an offline machine cannot reach
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    return env


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the page: Solara's server in production mode, opening no browser and
    asking no package index for a newer Solara, run by :func:`run_server`."""
    return [sys.executable, "-c", "from trustsim.viz.serve import run_server; run_server()",
            "run", "trustsim.viz.app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version", "--log-level", "warning"]


def refuse_nul_paths() -> None:
    """A static file whose path holds a NUL character (``GET /static/public/%00``) is answered 400:
    Starlette's static files (which Solara serves its own with) pass such a path to the file system, which
    raises, so the server logged a traceback and answered 500."""
    # only the app's server process needs it
    from starlette.responses import PlainTextResponse
    from starlette.staticfiles import StaticFiles

    serve = StaticFiles.get_response
    if getattr(serve, "refuses_nul", False):
        return

    async def get_response(self, path: str, scope):
        if "\x00" in path:
            return PlainTextResponse("bad request: a NUL character in the path\n", status_code=400)
        return await serve(self, path, scope)

    get_response.refuses_nul = True
    StaticFiles.get_response = get_response


def run_server(argv: list[str] | None = None) -> None:
    """Solara's command line, ending with exit status 130 on Ctrl-C (SIGINT) or SIGTERM as every
    trustsim command does, instead of the status 1 its command-line library gives an interruption;
    requests with a NUL character in their path are refused (:func:`refuse_nul_paths`)."""
    import click  # here: only the server process needs Solara's command line
    from solara.__main__ import cli

    refuse_nul_paths()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with Ctrl-C ignored (a background job)
    try:
        cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="solara", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("trustsim viz: stopped", file=sys.stderr)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(0)


def serve(args) -> int:
    """``trustsim viz``: check the scenario, pick the address, run Solara's server until interrupted."""
    env = server_env()
    name = "baseline"
    if args.scenario is not None:  # an empty path is refused by load_scenario, not read as "none given"
        scenario = load_scenario(args.scenario)  # bad input: ParamError, exit 2, nothing started
        if scenario.sweep is not None:
            raise ParamError(args.scenario, "sweep", "a sweep file describes many markets and the app shows one: "
                             "run it with trustsim sweep, or give the app a scenario without [sweep]")
        name = scenario.name
        env[SCENARIO_ENV] = str(Path(args.scenario).resolve())
    host = args.host or "127.0.0.1"
    if args.port:
        check_port(host, args.port)
        port = args.port
    else:
        try:
            port = free_port(host)
        except OSError as exc:
            raise ParamError("--host", host, f"cannot listen there ({exc.strerror})") from None
    if not is_loopback(host):
        print(f"trustsim viz: warning: listening on {safe_text(host)}, not only this machine: anyone who can reach "
              f"it on port {port} can use the app and its CPU (--host 127.0.0.1 keeps it local)", file=sys.stderr)
    every = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host)  # every address: this machine opens it on its own
    shown = safe_text(f"[{every or host}]" if ":" in (every or host) else every or host)
    where = " (listening on every address of this machine)" if every else ""
    print(f"trustsim viz: {safe_text(name)} at http://{shown}:{port}/{where}  (Ctrl-C stops it)", flush=True)
    sys.stdout.flush()
    command = server_command(host, port)
    if os.name == "posix":  # become the server: Ctrl-C and kill reach it directly, no process is left behind
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env)
