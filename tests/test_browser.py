"""End to end: `trustsim viz` serves the app and headless Chromium uses it as a person would.

The server runs offline as far as front-end files go: its asset proxy points at a closed local port,
so a file missing from the installed assets fails here instead of being fetched from the internet.
Screenshots are kept in ``test-artifacts/``. With ``TRUSTSIM_UPDATE_SCREENSHOT=1`` the load test also
writes the README's ``docs/images/app.png``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 1000}
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


def find_chromium() -> str | None:
    candidates = [os.environ.get("TRUSTSIM_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`trustsim viz` on a free loopback port; always stopped at the end."""
    port = free_port()
    env = {**os.environ, "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/"}  # port 9 (discard): nothing answers
    env.pop("TRUSTSIM_VIZ_SCENARIO", None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "trustsim", "viz", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"trustsim viz exited with {proc.returncode}; see test-artifacts/server.log")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("trustsim viz did not answer within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found: install Debian's chromium or set TRUSTSIM_CHROMIUM to a Chromium binary")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Watched:
    """A page and every request it made that failed or left this machine."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport=VIEWPORT)
        self.failed, self.remote = [], []
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None)
        self.page.on("request", lambda r: None if r.url.startswith(LOCAL) else self.remote.append(r.url))
        self.page.goto(url)
        self.page.get_by_text(re.compile(r"Step 0 of \d+")).wait_for(timeout=60_000)
        self.wait_for_charts()

    def wait_for_charts(self):
        self.page.wait_for_function("document.querySelectorAll('canvas').length >= 6", timeout=30_000)
        self.page.wait_for_timeout(500)

    def step_shown(self) -> int:
        return int(re.search(r"Step (\d+) of", self.page.locator(".trustsim-step").inner_text()).group(1))

    def press(self, label):
        self.page.get_by_role("button", name=label, exact=True).click()

    def step(self, n=1):
        for _ in range(n):
            before = self.step_shown()
            self.press("Step")
            self.page.locator(".trustsim-step", has_text=f"Step {before + 1} of").wait_for(timeout=20_000)

    def settings(self) -> str:
        return self.page.locator(".trustsim-settings").inner_text()

    def screenshot(self, name) -> bytes:
        ARTIFACTS.mkdir(exist_ok=True)
        return self.page.screenshot(path=str(ARTIFACTS / name))

    def assert_clean(self):
        body = self.page.locator("body").inner_text()
        for text in ("Traceback", "error in step", "Error:", "Exception"):
            assert text not in body, f"the page shows {text!r}"
        assert self.page.locator(".v-alert.error").count() == 0
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.remote, f"requests that left this machine: {self.remote}"


def variance(png: bytes) -> float:
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())


@pytest.fixture
def app(browser, server):
    watched = Watched(browser, server)
    yield watched
    watched.page.close()


def test_page_loads_offline_and_draws_the_network_and_charts(app):
    app.step(30)
    app.wait_for_charts()
    png = app.screenshot("app.png")
    app.assert_clean()
    assert variance(png) > 10
    network = app.page.locator("img.widget-image").first
    assert variance(network.screenshot()) > 20, "the network image is blank"
    canvases = app.page.locator("canvas")
    assert canvases.count() >= 6
    for i in range(canvases.count()):
        assert variance(canvases.nth(i).screenshot()) > 5, f"chart {i} is blank"
    if os.environ.get("TRUSTSIM_UPDATE_SCREENSHOT"):
        (ROOT / "docs" / "images").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs" / "images" / "app.png").write_bytes(png)


def test_step_advances_the_step_counter(app):
    assert app.step_shown() == 0
    app.step()
    assert app.step_shown() == 1
    app.step(2)
    assert app.step_shown() == 3
    app.screenshot("after-steps.png")
    app.assert_clean()


def test_changing_controls_and_reset_changes_the_market(app):
    assert "buyers 40" in app.settings() and "seed 0" in app.page.locator(".trustsim-step").locator("..").inner_text()
    before = app.page.locator("img.widget-image").first.screenshot()
    seed = app.page.get_by_label("Seed")
    seed.fill("5")
    seed.press("Enter")
    slider = app.page.locator(".v-input", has_text="Buyers").locator("[role=slider]").first
    slider.focus()
    slider.press("End")  # the slider's maximum
    app.press("Reset")
    app.page.get_by_text(re.compile(r"seed 5")).wait_for(timeout=20_000)
    app.page.wait_for_function("document.querySelector('.trustsim-settings').innerText.includes('buyers 400')",
                               timeout=20_000)
    assert app.step_shown() == 0
    app.step()
    table = app.page.locator(".trustsim-figures").inner_text()
    assert re.search(r"buyers\s+200\s+200\s+400", table), table
    app.wait_for_charts()
    after = app.page.locator("img.widget-image").first.screenshot()
    app.screenshot("after-reset.png")
    assert variance(after) > 20 and after != before
    app.assert_clean()
