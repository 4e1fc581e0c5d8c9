"""A screenshot of the app as a visitor sees it: `trustsim viz` in headless Chromium, after some steps.

    python scripts/app_screenshot.py                              # the baseline after 30 steps: docs/images/app.png
    python scripts/app_screenshot.py scenarios/high_uncertainty.toml --steps 0 --out app.png

A plain ``chromium --headless --screenshot URL`` photographs the page before the server has sent the app
over its websocket, so it shows "Loading app". This waits until the key figures show the step asked for
and every chart is drawn. It needs Playwright (in the test extras) and Chromium: Debian's ``chromium``,
or ``TRUSTSIM_CHROMIUM`` pointing at a Chromium binary.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

from trustsim.viz.components import SERIES
from trustsim.viz.serve import ServerError, app_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 1000}
CHARTS = len(SERIES) + 1  # the time series and the cost breakdown, each an ECharts canvas


def find_chromium() -> str | None:
    """``TRUSTSIM_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the path."""
    candidates = [os.environ.get("TRUSTSIM_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def wait_rendered(page, step: int, timeout_ms: int = 60_000) -> None:
    """Until the key figures say ``Step <step> of`` and every chart has its canvas (the app, not "Loading app")."""
    page.locator(".trustsim-step", has_text=re.compile(rf"^Step {step} of \d+")).wait_for(timeout=timeout_ms)
    page.wait_for_function(f"document.querySelectorAll('canvas').length >= {CHARTS}", timeout=timeout_ms)
    page.wait_for_timeout(500)  # the charts' last frame


def shoot(url: str, out: Path, steps: int, chromium: str) -> None:
    """Open the app at ``url``, press Step ``steps`` times and save the page as PNG (written whole, then renamed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            wait_rendered(page, 0)
            for n in range(1, steps + 1):
                page.get_by_role("button", name="Step", exact=True).click()
                page.locator(".trustsim-step", has_text=f"Step {n} of").wait_for(timeout=20_000)
            wait_rendered(page, steps)
            partial = out.with_name(f".{out.name}.partial")
            page.screenshot(path=str(partial), type="png")
            os.replace(partial, out)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", help="scenario TOML file (default: the baseline)")
    ap.add_argument("--steps", type=int, default=30, help="steps to run before the screenshot (default 30)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "app.png", help="PNG file to write")
    args = ap.parse_args(argv)
    if args.steps < 0:
        ap.error("--steps must be 0 or more")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print("app_screenshot: Playwright is not installed (pip install playwright; it is in the test extras)",
              file=sys.stderr)
        return 2
    chromium = find_chromium()
    if chromium is None:
        print("app_screenshot: no Chromium found: install Debian's chromium or set TRUSTSIM_CHROMIUM", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with app_server(args.scenario, cwd=ROOT) as server:
            shoot(server.url, args.out, args.steps, chromium)
    except ServerError as exc:
        print(f"app_screenshot: {exc}", file=sys.stderr)
        return exc.returncode or 1
    print(f"{args.out}: the app after {args.steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
