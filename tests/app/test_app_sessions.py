"""The browser app's server over many sessions: closed pages are freed, live ones bounded, Ctrl-C is 130."""

from __future__ import annotations

import gc
import os
import re
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("solara")

from conftest import ROOT, no_browser

from trustsim.viz import app, serve  # noqa: E402
from trustsim.viz.serve import ServerError, app_server  # noqa: E402

OFFLINE = {"SOLARA_ASSETS_CDN": "http://127.0.0.1:9/"}  # front-end files only from the installed assets


@contextmanager
def served(**env):
    """`trustsim viz` on the baseline, offline, with ``env`` added; a failure to start fails the test."""
    try:
        with app_server(env={**OFFLINE, app.SCENARIO_ENV: None, **env}, cwd=ROOT) as server:
            yield server
    except ServerError as exc:
        pytest.fail(str(exc))


def rss_mb(pid: int) -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024


def test_server_culls_closed_sessions_within_minutes_and_bounds_live_ones():
    env = serve.server_env({"PATH": "/bin"})
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == serve.CULL_TIMEOUT == "2m"
    assert int(env["SOLARA_KERNEL_MAX_COUNT"]) == serve.MAX_SESSIONS
    mine = serve.server_env({"SOLARA_KERNEL_CULL_TIMEOUT": "30s", "SOLARA_KERNEL_MAX_COUNT": "4"})
    assert mine["SOLARA_KERNEL_CULL_TIMEOUT"] == "30s" and mine["SOLARA_KERNEL_MAX_COUNT"] == "4"
    import solara.util

    assert solara.util.parse_timedelta(serve.CULL_TIMEOUT) <= 600


def test_server_shows_no_solara_banner_over_the_charts_unless_asked():
    """Solara's "This website runs on Solara" sits fixed at the window's bottom right, over whichever chart's axis,
    legend or lines scroll under it. Solara reads its setting from the server's environment."""
    from solara.server.settings import ThemeSettings

    env = serve.server_env({"PATH": "/bin"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOLARA_THEME_SHOW_BANNER", env["SOLARA_THEME_SHOW_BANNER"])
        assert ThemeSettings().show_banner is False
    assert serve.server_env({"SOLARA_THEME_SHOW_BANNER": "true"})["SOLARA_THEME_SHOW_BANNER"] == "true"


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_the_server_with_130(sig):
    with served() as server:
        env = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0") if Path("/proc").is_dir() else []
        assert server.stop(sig, timeout=30) == 130, server.log_text()
        said = server.log_text()
    assert "Traceback" not in said and "Aborted" not in said and "trustsim viz: stopped" in said
    if env:
        assert b"SOLARA_KERNEL_CULL_TIMEOUT=2m" in env


def test_a_closed_page_leaves_no_task_registration_behind(monkeypatch):
    """Each page's SolaraViz makes a task whose Solara registration outlives the page and holds its market;
    the app takes those back (as each page's kernel closes) and leaves every module's own registration."""
    import solara
    from solara import lifecycle

    monkeypatch.delenv(app.SCENARIO_ENV, raising=False)
    monkeypatch.chdir(ROOT)
    app.forget_page_tasks()  # pages other tests rendered in this process and never closed leave theirs
    before = list(lifecycle._on_kernel_start_callbacks)
    assert any(entry.callback is app.on_page_kernel for entry in before)
    assert not any(app.is_page_task_registration(entry) for entry in before)
    earlier = [o for o in gc.get_objects() if isinstance(o, app.AppMarket)]  # other tests' pages, not yet freed
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    try:
        added = [e for e in lifecycle._on_kernel_start_callbacks if not any(e is b for b in before)]
        page_tasks = [entry for entry in added if app.is_page_task_registration(entry)]
        market = next(o for o in gc.get_objects()
                      if isinstance(o, app.AppMarket) and not any(o is e for e in earlier))
        holds_market = [entry for entry in page_tasks if reaches(entry, market)]
        if solara.__version__ < "1.59.2":  # later versions take them back themselves
            assert holds_market, "the page's task registration was expected to hold its market"
    finally:
        rc.close()
    assert app.forget_page_tasks() >= len(page_tasks)
    after = lifecycle._on_kernel_start_callbacks
    assert not any(app.is_page_task_registration(entry) for entry in after)
    assert [id(e) for e in after] == [id(e) for e in before], "a module's own registration was taken"


def reaches(start, target, limit: int = 2_000_000) -> bool:
    """Whether ``target`` can be reached from ``start`` by following references (up to ``limit`` objects: after
    other tests in the process, such as test_viz.py's pages, the graph from a registration holds hundreds of
    thousands)."""
    seen, todo = {id(start)}, [start]
    while todo and len(seen) < limit:
        for ref in gc.get_referents(todo.pop()):
            if ref is target:
                return True
            if id(ref) not in seen and not isinstance(ref, type) and type(ref).__name__ != "module":
                seen.add(id(ref))
                todo.append(ref)
    return False


@pytest.mark.browser
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_thirty_page_loads_give_their_memory_back():
    try:
        from playwright import sync_api
    except ImportError:
        no_browser("Playwright is not installed")
    from test_browser import CHARTS, CHROMIUM_ARGS, VIEWPORT, find_chromium

    chromium = find_chromium()
    if chromium is None:
        no_browser("no Chromium found")
    errors = []
    with served(SOLARA_KERNEL_CULL_TIMEOUT="3s") as server:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            start_mb = None
            for i in range(31):
                page = browser.new_page(viewport=VIEWPORT)
                page.on("pageerror", lambda e, i=i: errors.append(f"page {i}: {e}"))
                page.on("console", lambda m, i=i: errors.append(f"page {i}: {m.text}") if m.type == "error" else None)
                page.goto(server.url)
                page.get_by_text(re.compile(r"Step 0 of \d+")).wait_for(timeout=60_000)
                page.wait_for_function(f"document.querySelectorAll('canvas').length >= {CHARTS}", timeout=30_000)
                page.close()
                if i == 0:  # the first page loads the app's modules: memory from then on
                    time.sleep(5)
                    start_mb = rss_mb(server.pid)
            browser.close()
        time.sleep(10)  # every closed session's kernel culled (3 s)
        end_mb = rss_mb(server.pid)
    print(f"\nserver memory after the first page {start_mb:.0f} MB, after 30 more page loads {end_mb:.0f} MB")
    assert not errors, f"the pages logged errors: {errors[:5]}"
    assert end_mb - start_mb < 50, f"server memory {start_mb:.0f} MB → {end_mb:.0f} MB after 30 page loads"
