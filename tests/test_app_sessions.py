"""The browser app's server over many sessions: closed pages are freed, live ones bounded, Ctrl-C is 130."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("solara")

from trustsim.viz import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env_extra=None):
    port = free_port()
    env = {**os.environ, "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/", **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "trustsim", "viz", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"trustsim viz did not answer: {proc.communicate()[1][-500:]}")


def rss_mb(pid: int) -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024


def test_server_culls_closed_sessions_within_minutes_and_bounds_live_ones():
    env = app.server_env({"PATH": "/bin"})
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == app.CULL_TIMEOUT == "2m"
    assert int(env["SOLARA_KERNEL_MAX_COUNT"]) == app.MAX_SESSIONS
    mine = app.server_env({"SOLARA_KERNEL_CULL_TIMEOUT": "30s", "SOLARA_KERNEL_MAX_COUNT": "4"})
    assert mine["SOLARA_KERNEL_CULL_TIMEOUT"] == "30s" and mine["SOLARA_KERNEL_MAX_COUNT"] == "4"
    import solara.util

    assert solara.util.parse_timedelta(app.CULL_TIMEOUT) <= 600


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_the_server_with_130(sig):
    proc, _ = start()
    env = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0") if Path("/proc").is_dir() else []
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err
    if env:
        assert b"SOLARA_KERNEL_CULL_TIMEOUT=2m" in env


@pytest.mark.browser
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
@pytest.mark.xfail(strict=True, reason="about 3.5 MB stays per closed page even after its kernel is culled "
                                       "(30 loads: ~100 MB); what holds it is not found yet")
def test_thirty_page_loads_give_their_memory_back():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    from test_browser import CHROMIUM_ARGS, VIEWPORT, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found")
    proc, url = start({"SOLARA_KERNEL_CULL_TIMEOUT": "3s"})
    errors = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            start_mb = None
            for i in range(31):
                page = browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url)
                page.get_by_text(re.compile(r"Step 0 of \d+")).wait_for(timeout=60_000)
                page.wait_for_function("document.querySelectorAll('canvas').length >= 6", timeout=30_000)
                page.close()
                if i == 0:  # the first page loads the app's modules: memory from then on
                    time.sleep(5)
                    start_mb = rss_mb(proc.pid)
            browser.close()
        time.sleep(10)  # every closed session's kernel culled (3 s)
        end_mb = rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert end_mb - start_mb < 50, f"server memory {start_mb:.0f} MB → {end_mb:.0f} MB after 30 page loads"
    assert not [e for e in errors if "invalid dom" in e], "ECharts failed to initialise on a page"
