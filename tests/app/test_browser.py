"""End to end: `trustsim viz` serves the app and headless Chromium uses it as a person would.

The server runs offline as far as front-end files go: its asset proxy points at a closed local port,
so a file missing from the installed assets fails here instead of being fetched from the internet.
Screenshots are kept in ``test-artifacts/``. The README's screenshot comes from ``scripts/app_screenshot.py``,
whose Chromium settings these tests share and whose output one of them checks.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, no_browser

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
SCREENSHOT_SCRIPT = ROOT / "scripts" / "app_screenshot.py"
_spec = importlib.util.spec_from_file_location("app_screenshot", SCREENSHOT_SCRIPT)
shots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shots)
CHROMIUM_ARGS, VIEWPORT, find_chromium, CHARTS = shots.CHROMIUM_ARGS, shots.VIEWPORT, shots.find_chromium, shots.CHARTS


@pytest.fixture(scope="module")
def server():
    """`trustsim viz` on a free loopback port, its messages in test-artifacts/server.log; always stopped at the end."""
    from trustsim.viz.serve import ServerError, app_server

    ARTIFACTS.mkdir(exist_ok=True)
    env = {"SOLARA_ASSETS_CDN": "http://127.0.0.1:9/", "TRUSTSIM_VIZ_SCENARIO": None}  # port 9 (discard): no answer
    try:
        with app_server(env=env, log=ARTIFACTS / "server.log", cwd=ROOT) as running:
            yield running.url
    except ServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        no_browser("Playwright is not installed")
    chromium = find_chromium()
    if chromium is None:
        no_browser("no Chromium found: install Debian's chromium or set TRUSTSIM_CHROMIUM to a Chromium binary")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


DOWNLOAD = "Download the time series (CSV)"  # the key figures' download button, by its name
SETTINGS = "its settings (TOML)"  # and the button of the settings that made it
PANEL = "t.closest('.v-sheet')"  # in JavaScript: the key figures' panel, which scrolls, of an element ``t`` in it


class Watched:
    """A page, every request it made that failed or left this machine, and every error it logged."""

    def __init__(self, browser, url, viewport=VIEWPORT):
        self.page = browser.new_page(viewport=viewport)
        self.failed, self.remote, self.errors = [], [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None)
        self.page.on("request", lambda r: None if r.url.startswith(LOCAL) else self.remote.append(r.url))
        self.page.goto(url)
        shots.wait_rendered(self.page, 0)

    def wait_for_charts(self):
        self.page.wait_for_function(f"document.querySelectorAll('canvas').length >= {CHARTS}", timeout=30_000)
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
        for text in ("Traceback", "error in step", "Error:", "Exception", "This website runs on"):
            assert text not in body, f"the page shows {text!r}"
        assert self.page.locator(".v-alert.error").count() == 0
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.remote, f"requests that left this machine: {self.remote}"
        assert not self.errors, f"the page logged errors: {self.errors[:5]}"


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
    # at the README screenshot's size the key figures fit their cell whole: nothing to scroll, no button cut off
    scroll, height = app.page.locator(".trustsim-figures").evaluate(f"t => {{ const p = {PANEL}; "
                                                                    "return [p.scrollHeight, p.clientHeight]; }")
    assert scroll <= height, f"the key figures need {scroll} px in a cell of {height}"
    canvases = app.page.locator("canvas")
    assert canvases.count() >= CHARTS
    for i in range(canvases.count()):
        assert variance(canvases.nth(i).screenshot()) > 5, f"chart {i} is blank"


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


def test_reset_touching_nothing_builds_the_market_the_page_opened_on(app):
    """The browser's sliders snap a value to their grid and send it back: the baseline's trust gain 0.131 came
    back as 0.13, so Reset with the same seed gave another trajectory than the first market's."""
    app.step(3)
    table, settings = app.page.locator(".trustsim-figures").inner_text(), app.settings()
    assert "gain 0.131" in settings
    app.press("Reset")
    app.page.locator(".trustsim-step", has_text="Step 0 of").wait_for(timeout=20_000)
    app.step(3)
    assert app.settings() == settings
    assert app.page.locator(".trustsim-figures").inner_text() == table
    gain = app.page.locator(".v-input", has_text="Trust gain").locator(".v-slider__thumb-label").first
    assert gain.inner_text().strip() == "0.131"
    app.assert_clean()


def test_reset_keeps_a_scenarios_value_finer_than_its_slider(browser, server, tmp_path):
    """A scenario's value finer than 6 decimals (a sweep's design point) lies on no slider's grid: the browser sent
    back 0.123457 for a trust gain of 0.1234567, and Reset with only a new seed built another market than the
    scenario's. The slider at its nearest to the scenario's value now stands for that value. (Beside it, a file
    that does not load is named in the sidebar: its long path, unbroken, widened the sidebar by 35 px.)"""
    from trustsim.viz.serve import ServerError, app_server

    fine = tmp_path / "fine.toml"
    fine.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
                    "[trust]\ngain = 0.1234567\n[market]\nuncertainty = 0.33333333\n")
    (tmp_path / f"{'a_long_name_' * 6}broken.toml").write_text('[market]\nbuyers = "lots"\n')
    env = {"SOLARA_ASSETS_CDN": "http://127.0.0.1:9/", "TRUSTSIM_VIZ_SCENARIO": str(fine)}
    plain = Watched(browser, server)
    width = plain.page.locator(".v-navigation-drawer").bounding_box()["width"]
    plain.page.close()
    try:
        with app_server(env=env, log=ARTIFACTS / "server-fine.log", cwd=ROOT) as running:
            app = Watched(browser, running.url)
            try:
                app.page.get_by_text("left out:").wait_for(timeout=10_000)
                assert app.page.locator(".v-navigation-drawer").bounding_box()["width"] == width
                seed = app.page.get_by_label("Seed")
                seed.fill("7")
                seed.press("Enter")
                app.press("Reset")
                app.page.get_by_text(re.compile(r"seed 7")).wait_for(timeout=20_000)
                with app.page.expect_download(timeout=10_000) as download:  # the settings that made the market
                    app.page.get_by_role("button", name=SETTINGS).click(timeout=10_000)
                made = tomllib.loads(Path(download.value.path()).read_text())
                print(made["trust"], made["market"])
                assert (made["trust"]["gain"], made["market"]["uncertainty"], made["run"]["seed"]) == \
                    (0.1234567, 0.33333333, 7)
                assert app.page.locator(".trustsim-pending").count() == 0, "the snapped sliders taken as changes"
                app.assert_clean()
            finally:
                app.page.close()
    except ServerError as exc:
        pytest.fail(str(exc))


def table_rows(app) -> dict[str, list[str]]:
    """The key figures table as {label: [partner, aggressive, all]}, as the page shows it."""
    rows = app.page.locator(".trustsim-figures tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    return {c[0]: c[1:4] for c in cells}


def test_first_view_shows_the_market_at_step_0_slider_values_and_no_stray_tab(app):
    from trustsim.model import TrustMarket
    from trustsim.scenario import load_scenario

    params = load_scenario(ROOT / "scenarios" / "baseline.toml").params
    market = TrustMarket(params).market
    partners = int(market.is_partner.sum())
    assert app.step_shown() == 0
    rows = table_rows(app)
    assert rows["buyers"] == [str(partners), str(market.n_buyers - partners), str(market.n_buyers)]
    assert rows["market share"][2] == "1.000"
    # every slider shows its value on its thumb, without being touched
    buyers = app.page.locator(".v-input", has_text="Buyers").locator(".v-slider__thumb-label").first
    assert buyers.is_visible() and buyers.inner_text().strip() == str(params.market.buyers)
    share = app.page.locator(".v-input", has_text="Partner share").locator(".v-slider__thumb-label").first
    assert share.is_visible() and float(share.inner_text()) == params.buyers.partner_share
    labels = app.page.locator(".v-slider__thumb-label")
    assert labels.count() >= 8 and all(labels.nth(i).is_visible() for i in range(labels.count()))
    # one page of views: no tab bar saying "Page 0"
    assert not re.search(r"page 0", app.page.locator("body").inner_text(), re.I)
    assert not any(t.is_visible() for t in app.page.get_by_role("tab").all())
    app.screenshot("step-0.png")
    app.assert_clean()


def test_scenario_picker_lists_scenarios_not_sweep_files(app):
    from trustsim.scenario import load_scenario

    files = sorted((ROOT / "scenarios").glob("*.toml"))
    sweeps = {p.name for p in files if load_scenario(p).sweep is not None}
    assert sweeps, "the repository's scenarios include sweep files"
    app.page.locator(".v-select", has_text="Scenario file").click()
    items = app.page.locator(".v-menu__content .v-list-item")
    items.first.wait_for(timeout=10_000)
    shown = set(items.all_inner_texts())
    assert shown == {p.name for p in files} - sweeps
    app.page.keyboard.press("Escape")
    app.assert_clean()


def test_the_readme_screenshot_command_photographs_the_rendered_app(tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert "python scripts/app_screenshot.py" in readme
    if find_chromium() is None:
        no_browser("no Chromium found")
    out = tmp_path / "app.png"
    done = subprocess.run([sys.executable, str(SCREENSHOT_SCRIPT), "--steps", "3", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from PIL import Image

    png = out.read_bytes()
    assert Image.open(io.BytesIO(png)).size == (VIEWPORT["width"], VIEWPORT["height"])
    assert variance(png) > 10
    red, green, blue = Image.open(io.BytesIO(png)).convert("RGB").getpixel((VIEWPORT["width"] // 2, 20))
    assert blue > 150 and red < 100, "no app bar: the page was photographed before the app arrived"
    assert not list(tmp_path.glob(".*partial*"))


def turn_dark(app):
    """Press the app bar's theme button until the page is dark (it goes through auto, dark and light)."""
    for _ in range(3):
        if app.page.locator(".v-application.theme--dark").count():
            break
        app.page.locator("header button").last.click()
        app.page.wait_for_timeout(300)
    assert app.page.locator(".v-application.theme--dark").count(), "the theme button did not turn the page dark"
    app.page.wait_for_timeout(500)


def contrast(app, selector, prop="color") -> float:
    """The contrast ratio (WCAG 2) of the first ``selector``'s text (or its style's ``prop``, a colour) against the
    ground it is drawn on."""
    colours = app.page.locator(selector).first.evaluate("""(t, prop) => { let e = t, ground;
        for (; e; e = e.parentElement) { ground = getComputedStyle(e).backgroundColor;
            if (!/^rgba\\(.*, 0\\)$|transparent/.test(ground)) break; }
        return [getComputedStyle(t)[prop], ground]; }""", prop)

    text, ground = ([float(x) for x in re.findall(r"[\d.]+", css)] for css in colours)
    alpha = text[3] if len(text) > 3 else 1.0  # a translucent text over its ground
    shown = [alpha * t + (1 - alpha) * g for t, g in zip(text[:3], ground[:3], strict=True)]

    def luminance(rgb):
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (x / 255 for x in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    text, ground = luminance(shown), luminance(ground[:3])
    return (max(text, ground) + 0.05) / (min(text, ground) + 0.05)


def test_charts_stay_readable_in_the_dark_theme(app):
    """The app bar's theme button turns the page dark; the charts drew their titles, axes and legends in dark
    grey on it (the network picture keeps its white ground): a chart's title strip must show dark on light."""
    from PIL import Image

    app.step(3)
    app.wait_for_charts()
    turn_dark(app)
    app.screenshot("dark.png")
    canvases = app.page.locator("canvas")
    for i in range(canvases.count()):
        grey = np.asarray(Image.open(io.BytesIO(canvases.nth(i).screenshot())).convert("L"), dtype=float)
        title = grey[:30]
        assert np.median(title) > 200 and title.min() < 120, f"chart {i}'s title does not stand out from its ground"
    app.assert_clean()


def test_the_key_figures_notice_and_settings_read_in_either_theme(app):
    """The notice (a seed refused, a step that failed) was dark red and the market's settings dark grey, in both
    themes: on the dark theme's panel they read at 2.3 and 2.9 to 1, under the 4.5 small text needs; the units
    beside the figures, light grey, at 3.5 to 1 on the light theme's white."""
    seed = app.page.get_by_label("Seed")
    seed.fill("abc")
    seed.press("Enter")
    app.press("Reset")
    app.page.locator(".trustsim-notice").wait_for(timeout=20_000)
    app.step()
    texts = (".trustsim-notice", ".trustsim-settings", ".trustsim-figures .unit", ".trustsim-step")
    light = {t: contrast(app, t) for t in texts}
    turn_dark(app)
    dark = {t: contrast(app, t) for t in texts}
    app.screenshot("dark-key-figures.png")
    assert min(light.values()) >= 4.5 and min(dark.values()) >= 4.5, f"light {light}, dark {dark}"
    app.assert_clean()


def test_the_key_figures_rules_are_as_faint_in_the_dark_theme_as_in_the_light(app):
    """The key figures table's rules were light grey (#ddd) in both themes: faint on the light theme's white (1.4 to
    1), on the dark theme's ground they were bright lines at 11 to 1, louder than the figures between them."""
    app.step()
    rules = (".trustsim-figures tbody td", ".trustsim-figures thead tr:last-child th")
    light = {r: contrast(app, r, "borderBottomColor") for r in rules}
    turn_dark(app)
    dark = {r: contrast(app, r, "borderBottomColor") for r in rules}
    app.screenshot("dark-rules.png")
    assert max(light.values()) < 2 and max(dark.values()) < 2, f"light {light}, dark {dark}"
    assert min(dark.values()) > 1.1, f"the rules vanish in the dark theme: {dark}"
    app.assert_clean()


@pytest.mark.parametrize("size", [(375, 800), (1024, 768), (1280, 720), (1366, 768), (1920, 1080)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_panel_fits_its_cell_on_common_screens(browser, server, size):
    """SolaraViz's grid gives every panel a cell of one height (390 px). On a laptop's screen the key figures
    ran on below theirs, under the chart beneath, which took the clicks meant for their download button; on a
    wide one the network picture, as wide as its cell and so higher, had its lower half and legend under it; at
    1 024 px the cost chart's title ran off both sides of its chart (ECharts does not wrap a title). On a phone
    the grid's two columns gave each panel 161 px, the titles cut: there the panels stand in one column."""
    from PIL import Image

    app = Watched(browser, server, viewport={"width": size[0], "height": size[1]})
    try:
        if size[0] < 600:
            cells = app.page.locator(".vue-grid-item:visible").evaluate_all(
                "cs => cs.map(c => { const r = c.getBoundingClientRect(); return [r.x, r.y, r.width]; })")
            assert len(cells) == len(views_of_the_app()), cells
            assert {x for x, _, _ in cells} == {cells[0][0]} and min(w for _, _, w in cells) > size[0] - 60, cells
            assert [y for _, y, _ in cells] == sorted(y for _, y, _ in cells), f"not one column in order: {cells}"
            app.page.locator("header .v-app-bar__nav-icon").click()  # Step is in the sidebar, closed on a phone
            app.page.get_by_role("button", name="Step", exact=True).wait_for(state="visible", timeout=10_000)
        app.step(3)
        if size[0] < 960:
            app.page.wait_for_timeout(500)  # the drawer's slide
            app.page.mouse.click(size[0] - 20, size[1] // 2)  # on the veil beside it: closed again
            app.page.wait_for_timeout(500)
        app.wait_for_charts()
        canvases = app.page.locator("canvas")
        for i in range(canvases.count()):
            title = np.asarray(Image.open(io.BytesIO(canvases.nth(i).screenshot())).convert("L"), dtype=float)[:24]
            inked = np.flatnonzero((title < 120).any(axis=0))
            assert inked.size and inked[0] > 2 and inked[-1] < title.shape[1] - 3, \
                f"chart {i}'s title reaches the edge of its {title.shape[1]}-px chart"
        network = app.page.locator("img.widget-image").first
        picture = network.bounding_box()
        cell = app.page.locator(".vue-grid-item", has=network).bounding_box()
        assert picture["y"] + picture["height"] <= cell["y"] + cell["height"] + 4, (picture, cell)  # it sits 2 px in
        for name, ending in ((DOWNLOAD, "-step3.csv"), (SETTINGS, "-seed0.toml")):  # the series, what made it
            button = app.page.get_by_role("button", name=name)
            fits = button.evaluate(f"""t => {{ const p = {PANEL}, b = t.getBoundingClientRect(),
                r = p.getBoundingClientRect();
                return b.right <= r.left + p.clientWidth && p.scrollWidth <= p.clientWidth; }}""")
            assert fits, f"{name} runs past its panel's right edge at {size[0]} px, its label cut off"
            with app.page.expect_download(timeout=10_000) as download:
                button.click(timeout=10_000)
            assert download.value.suggested_filename.endswith(ending), download.value.suggested_filename
        app.screenshot(f"fit-{size[0]}x{size[1]}.png")
        app.assert_clean()
    finally:
        app.page.close()


def test_the_page_is_named_and_the_keyboard_focus_is_outlined(app):
    """The page was titled "App" (the browser's tab, a screen reader), and the keyboard's focus showed only as Vuetify's
    faint tint (1.3 to 1 against the unfocused look): every control reached by Tab shows an outline."""
    assert app.page.title() == "baseline.toml · trustsim"
    outlined = []
    for _ in range(12):
        app.page.keyboard.press("Tab")
        outlined.append(app.page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return [e.tagName + (e.getAttribute('role') ? '/' + e.getAttribute('role') : ''), s.outlineStyle,
                    parseFloat(s.outlineWidth)]; }"""))
    print(outlined)
    assert len({tag for tag, _, _ in outlined}) >= 3, outlined  # buttons, inputs and sliders among them
    bare = [tag for tag, style, width in outlined if style == "none" or width < 2]
    assert not bare, f"focused without an outline: {bare}"
    app.assert_clean()


def views_of_the_app() -> list:
    """The app's panels, in the order of its grid."""
    from trustsim.viz.app import views

    return views("baseline")


@pytest.mark.parametrize("size", [(1440, 900), (1024, 768)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_slider_in_the_sidebar_has_a_track_as_wide_as_the_sidebar(browser, server, size):
    """Beside their labels, two sliders whose labels ran to two lines had no width at all ("Suppliers' mean
    integrity (hidden)", "Trust erosion when unattended"), their thumbs at the right end whatever the value, and
    "Trust gain per good step" had 40 px for a thousand positions: each label now stands above its track."""
    app = Watched(browser, server, viewport={"width": size[0], "height": size[1]})
    try:
        rows = app.page.locator(".v-navigation-drawer .v-input__slider").evaluate_all(
            """xs => xs.map(x => { const l = x.querySelector('.v-label').getBoundingClientRect(),
                 t = x.querySelector('.v-slider').getBoundingClientRect(), r = x.getBoundingClientRect();
                 return [x.querySelector('.v-label').textContent, t.width / r.width, l.bottom <= t.top]; })""")
        assert len(rows) >= 10, rows
        narrow = [(label, round(share, 2)) for label, share, _ in rows if share < 0.9]
        assert not narrow, f"sliders narrower than their row: {narrow}"
        assert all(above for _, _, above in rows), f"labels beside or over their track: {rows}"
        app.page.locator(".v-navigation-drawer").screenshot(path=str(ARTIFACTS / f"sliders-{size[0]}.png"))
        app.assert_clean()
    finally:
        app.page.close()


def test_the_status_line_stays_in_view_while_the_key_figures_scroll(browser, server):
    """At 1 024 × 768 the key figures scroll in their cell, and their status line scrolled away with them: who
    had scrolled down to this step's events no longer saw whether the model was running or had finished; then
    the columns' names did, and the figures under them no longer said which group they were."""
    app = Watched(browser, server, viewport={"width": 1024, "height": 768})
    try:
        app.step(3)
        status = app.page.locator(".trustsim-step").locator("..")  # the line: step, scenario, seed, running
        assert "running" in status.inner_text()
        panel = status.evaluate(f"""t => {{ const p = {PANEL}, r = p.getBoundingClientRect();
            p.scrollTop = p.scrollHeight;
            return {{scrolled: p.scrollTop, end: p.scrollHeight - p.clientHeight, top: r.top,
                     bottom: r.top + p.clientHeight, left: r.left}}; }}""")
        assert panel["scrolled"] > 100 and panel["scrolled"] >= panel["end"] - 1, \
            f"the key figures do not scroll to their end at 1024 x 768, so this tests nothing: {panel}"
        app.page.wait_for_timeout(300)
        line = status.bounding_box()
        assert line["y"] >= 0 and line["y"] + line["height"] <= 768, f"the status line is off the screen: {line}"
        assert panel["top"] <= line["y"] and line["y"] + line["height"] <= panel["bottom"], \
            f"the status line {line} is outside its panel's visible part: {panel}"
        # on top, not under the figures that scroll past: the point at its start shows the status line
        shown = status.evaluate("(s, [x, y]) => s.contains(document.elementFromPoint(x, y))",
                                [panel["left"] + 16, line["y"] + line["height"] / 2])
        assert shown, "the figures scrolling past cover the status line"
        # nor do the figures show through beside it: a table wider than the panel ran on to the panel's edge
        through = status.evaluate(f"""(t, y) => {{ const p = {PANEL}, r = p.getBoundingClientRect(), hits = [];
            for (let x = r.left; x < r.left + p.clientWidth; x += 4)
                if (document.elementFromPoint(x, y)?.closest('.trustsim-figures tbody')) hits.push(Math.round(x));
            return hits; }}""", line["y"] + line["height"] / 2)
        assert not through, f"the table shows through the status line's row at x = {through}"
        # and the columns' names stay with it: scrolled down, which column was partner, aggressive, all was lost
        for name in ("partner", "aggressive", "all"):
            head = app.page.locator(".trustsim-figures thead th", has_text=re.compile(f"^{name}$"))
            box = head.bounding_box()
            assert panel["top"] <= box["y"] and box["y"] + box["height"] <= panel["bottom"], \
                f"the column name {name!r} at {box} is outside its panel's visible part: {panel}"
            centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
            assert head.evaluate("(h, [x, y]) => h.contains(document.elementFromPoint(x, y))", centre), \
                f"the figures scrolling past cover the column name {name!r}"
        app.screenshot("status-1024x768.png")
        app.assert_clean()
    finally:
        app.page.close()



def test_a_charts_tooltip_names_the_step_and_writes_numbers_as_the_key_figures_table_does(app):
    """Hovering a time series shows "step 15" over its figures to the table's decimals (cost per unit four, shares
    three), not "15.00" over six decimals; the cost bars' tooltip likewise."""
    app.step(15)
    app.wait_for_charts()
    tooltips = {}
    for i in range(2):  # the cost of ownership per unit over time, then by part
        canvas = app.page.locator("canvas").nth(i)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        app.page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
        app.page.wait_for_timeout(400)
        shown = app.page.evaluate("() => [...document.querySelectorAll('div')].filter(d => d.innerText.trim() && "
                                  "d.style.zIndex === '9999999' && d.style.display !== 'none').map(d => d.innerText)")
        assert len(shown) == 1, f"chart {i}: tooltips {shown}"
        tooltips[i] = shown[0].split("\n")
    print(tooltips)
    line, bars = tooltips[0], tooltips[1]
    assert re.fullmatch(r"step \d+", line[0]) and line[1::2] == ["partner", "aggressive", "all"]
    assert all(re.fullmatch(r"\d+\.\d{4}", v) for v in line[2::2]), line
    assert bars[0] in ("partner", "aggressive") and len(bars) == 17
    assert all(re.fullmatch(r"\d+\.\d{4}", v) for v in bars[2::2]), bars
    app.assert_clean()


def test_the_cost_charts_legend_shows_every_part_under_the_axis_name_in_a_narrow_chart(app):
    """The cost chart names eight parts. Under 440 px wide (its width on 1 024- and 1 280-px screens) its legend was
    one row that paged, showing three names of eight behind arrows; wrapped into rows without room, it lay over the
    axis's name. At every width its names are all in the chart, below the axis's name."""
    from trustsim import columns
    from trustsim.metrics import COST_PARTS

    parts = [columns.BY_NAME[f"cost_{part}"].title for part in COST_PARTS]
    axis_name = columns.BY_NAME["tco_per_unit"].unit_text
    app.step(3)
    app.wait_for_charts()
    for width in (600, 480, 440, 413, 360, 320, 300, 260, 240, 220, 200, 180, 160, 285):  # 285: at 1 024 px
        texts = app.page.evaluate("""width => {
            const echarts = Object.entries(requirejs.s.contexts._.defined).find(([k]) => /echarts/.test(k))[1];
            const div = [...document.querySelectorAll('[_echarts_instance_]')].find(d =>
                echarts.getInstanceByDom(d).getOption().title[0].text === 'Cost of ownership by part');
            div.style.width = width + 'px';
            const chart = echarts.getInstanceByDom(div);
            chart.resize();
            const texts = chart.getZr().storage.getDisplayList(true).filter(e => e.style && e.style.text).map(e => {
                const r = e.getBoundingRect().clone(); r.applyTransform(e.getComputedTransform());
                return [e.style.text, r.x, r.y, r.x + r.width, r.y + r.height]; });
            return {type: chart.getOption().legend[0].type, texts, width: chart.getWidth(), height: chart.getHeight()};
        }""", width)
        assert texts["width"] == width and texts["type"] != "scroll", (width, texts["type"])
        boxes = {t[0]: t[1:] for t in texts["texts"]}
        name_bottom = boxes[axis_name][3]
        for part in parts:
            left, top, right, bottom = boxes[part]
            assert left >= 0 and right <= width and bottom <= texts["height"], f"{part!r} outside a {width}-px chart"
            assert top >= name_bottom, f"{part!r} over the axis's name in a {width}-px chart: {top} < {name_bottom}"
    app.page.locator("canvas").nth(1).screenshot(path=str(ARTIFACTS / "cost-legend-285.png"))
    app.assert_clean()


@pytest.mark.parametrize("size", [(800, 1000), (1024, 768), (420, 900), (375, 800), (1280, 800)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_sidebar_leaves_the_market_in_view_on_a_tablet(browser, server, size):
    """Under 960 px (a tablet upright, a phone) the sidebar opened over the page at load, behind a grey veil: the
    charts could not be read until it was closed. It now opens there only from its button in the app bar; from
    960 px it is open beside the panels, as on a desktop. Either way nothing lies over the first panel and chart.
    Opened on a phone, the 400-px sidebar covered a 375-px window whole, veil and ☰ included, so a click could not
    close it: it leaves a strip of the veil, and a click there closes it."""
    app = Watched(browser, server, viewport={"width": size[0], "height": size[1]})
    try:
        drawer, toggle = app.page.locator(".v-navigation-drawer"), app.page.locator("header .v-app-bar__nav-icon")
        panel = app.page.locator(".vue-grid-item").first
        covered = """(t, steps) => { const r = t.getBoundingClientRect(), out = [];
            for (const [fx, fy] of steps) { const x = r.left + fx * r.width, y = r.top + fy * r.height;
                if (y < innerHeight && !t.contains(document.elementFromPoint(x, y)))
                    out.push([Math.round(x), Math.round(y)]); }
            return out; }"""
        points = [[fx, fy] for fx in (0.05, 0.5, 0.95) for fy in (0.05, 0.5, 0.95)]
        for target in (panel, app.page.locator("canvas").first):
            assert target.evaluate(covered, points) == [], f"something lies over the market at {size[0]} px"
        box, cell = drawer.bounding_box(), panel.bounding_box()
        shown = box["x"] + box["width"] > 0
        assert shown == (size[0] >= 960), f"the sidebar at {size[0]} px: {box}"
        if shown:  # beside the panels, not over them
            assert box["x"] + box["width"] <= cell["x"], (box, cell)
        else:  # its button in the app bar opens it, with the controls
            assert toggle.is_visible()
            toggle.click()
            app.page.get_by_role("button", name="Reset", exact=True).wait_for(state="visible", timeout=10_000)
            app.page.wait_for_timeout(500)  # the drawer's slide
            box = drawer.bounding_box()
            assert box["x"] == 0 and box["width"] <= size[0] - 56, box
            app.page.mouse.click(size[0] - 20, size[1] // 2)  # on the veil beside it
            app.page.wait_for_timeout(500)
            box = drawer.bounding_box()
            assert box["x"] + box["width"] <= 0, f"the sidebar stays open after a click beside it: {box}"
        app.screenshot(f"sidebar-{size[0]}x{size[1]}.png")
        app.assert_clean()
    finally:
        app.page.close()


def move_sigma(app, presses=6):
    """Move the σ slider up by ``presses`` of its steps of 0.05 (from the baseline's 0.3: to 0.6 by default)."""
    sigma = app.page.locator(".v-input", has_text="Uncertainty σ").locator("[role=slider]").first
    sigma.focus()
    for _ in range(presses):
        sigma.press("ArrowRight")


def test_a_control_changed_but_not_applied_is_named_until_reset(app):
    """A control takes effect at Reset only: a slider moved left the old market on the page, and nothing said so.
    The sidebar names each control changed since the market shown was built, with both values, until Reset."""
    notice = app.page.locator(".trustsim-pending")
    assert notice.count() == 0
    move_sigma(app)
    # every press has reached the page before the seed is typed: a press's value arriving later draws the controls
    # again, and the seed box, whose text is sent only at Enter, then shows its value again and loses what was typed
    notice.filter(has_text="Uncertainty σ 0.3 → 0.6").wait_for(timeout=10_000)
    assert notice.locator("xpath=ancestor::nav").count() == 1 and notice.is_visible(), "not in the sidebar"
    seed = app.page.get_by_label("Seed")
    seed.fill("5")
    seed.press("Enter")
    app.page.locator(".trustsim-pending", has_text="Seed 0 → 5").wait_for(timeout=10_000)
    text = notice.inner_text()
    assert "Changed, not yet applied:" in text and "Uncertainty σ 0.3 → 0.6" in text, text
    assert "Reset builds a market with them" in text, text
    assert "uncertainty 0.3" in app.settings()  # the market shown is still the old one
    assert contrast(app, ".trustsim-pending") >= 4.5
    # a polite status: as an alert (Vuetify's role) a screen reader read it again at every key on a slider
    assert notice.get_attribute("role") == "status"
    app.screenshot("pending.png")
    app.press("Reset")
    app.page.get_by_text(re.compile(r"seed 5")).wait_for(timeout=20_000)
    assert "uncertainty 0.6" in app.settings()
    notice.wait_for(state="detached", timeout=10_000)
    app.step()  # and a step does not bring it back
    assert notice.count() == 0
    app.assert_clean()


@pytest.mark.parametrize("size", [(800, 1000), (1280, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_change_not_yet_applied_is_named_on_the_page_while_the_sidebar_is_closed(browser, server, size):
    """The sidebar, with its notice of changes not yet applied, is closed to see the market: under 960 px it opens
    over the page from the app bar's ☰ button and is closed again, and wider a person may close it with ☰ to give
    the charts the room. A slider moved there left the old market on the page with nothing saying a change waited.
    The notice is now also above the panels while the sidebar is closed, in view and not covered, until Reset; while
    the sidebar is open, only the sidebar's shows."""
    app = Watched(browser, server, viewport={"width": size[0], "height": size[1]})
    try:
        narrow, drawer = size[0] < 960, app.page.locator(".v-navigation-drawer")
        toggle = app.page.locator("header .v-app-bar__nav-icon")
        side, page = app.page.locator(".trustsim-pending"), app.page.locator(".trustsim-pending-page")

        def drawer_open(want):
            if (drawer.bounding_box()["x"] == 0) != want:
                if want or not narrow:
                    toggle.click()
                else:  # a click on the veil beside the drawer, as a person closes it
                    app.page.mouse.click(size[0] - 20, size[1] // 2)
                app.page.wait_for_function(f"""() => {{ const r = document.querySelector('.v-navigation-drawer')
                    .getBoundingClientRect(); return {'r.left === 0' if want else 'r.right <= 0'}; }}""",
                                           timeout=10_000)
                app.page.wait_for_timeout(300)

        drawer_open(True)
        move_sigma(app)
        side.wait_for(timeout=10_000)
        if not narrow:  # the sidebar's, beside the panels, and not a second one
            assert side.is_visible(), "the sidebar's notice is not in view"
            assert not page.is_visible(), f"a second notice beside the open sidebar: {page.inner_text()}"
        drawer_open(False)
        page.wait_for(state="visible", timeout=10_000)
        assert page.locator("xpath=ancestor::nav").count() == 0, "the page's notice is in the sidebar"
        page.scroll_into_view_if_needed()
        uncovered = page.evaluate("""t => { const r = t.getBoundingClientRect();
            return [[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]].every(([fx, fy]) =>
                t.contains(document.elementFromPoint(r.left + fx * r.width, r.top + fy * r.height))); }""")
        assert uncovered, "something lies over the page's notice"
        text = page.inner_text()
        assert "Changed, not yet applied: Uncertainty σ 0.3 → 0.6" in text and "☰" in text, text
        assert contrast(app, ".trustsim-pending-page") >= 4.5
        app.screenshot(f"pending-{size[0]}x{size[1]}.png")
        drawer_open(True)
        if not narrow:
            page.wait_for(state="hidden", timeout=10_000)
        app.press("Reset")
        app.page.get_by_text(re.compile(r"uncertainty 0\.6")).wait_for(timeout=20_000)
        drawer_open(False)
        side.wait_for(state="detached", timeout=10_000)
        page.wait_for(state="detached", timeout=10_000)
        app.assert_clean()
    finally:
        app.page.close()


@pytest.mark.parametrize("size", [(800, 1000), (1280, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_sidebar_stays_open_across_a_scenario_picked_in_it(browser, server, size):
    """The page's layout is made anew for each scenario picked; under 960 px its sidebar, where the picker is, then
    started closed: a person who picked a scenario there to set its controls had to open it again with ☰. It now
    stays open across a pick, beside the panels from 960 px and over them below, where it closes as before; and the
    new layout's Reset still builds the scenario picked with its seed (what a layout made anew per pick is for)."""
    app = Watched(browser, server, viewport={"width": size[0], "height": size[1]})
    try:
        drawer, toggle = app.page.locator(".v-navigation-drawer"), app.page.locator("header .v-app-bar__nav-icon")
        narrow = size[0] < 960
        if narrow:
            toggle.click()
        app.page.get_by_role("button", name="Reset", exact=True).wait_for(state="visible", timeout=10_000)
        app.page.wait_for_timeout(500)  # the drawer's slide
        app.page.locator(".v-select", has_text="Scenario file").click()
        app.page.locator(".v-menu__content .v-list-item", has_text="high_uncertainty.toml").click()
        app.page.get_by_text("trustsim · high_uncertainty").wait_for(timeout=20_000)
        app.page.wait_for_timeout(1000)  # the new layout's drawer, had it been going to close
        box = drawer.bounding_box()
        assert box["x"] == 0 and box["width"] > 0, f"the sidebar after a pick at {size[0]} px: {box}"
        app.step()  # and the new layout's Reset builds the scenario picked, with its seed (what it is made for)
        app.press("Reset")
        app.page.locator(".trustsim-step", has_text="Step 0 of").wait_for(timeout=20_000)
        app.page.get_by_text("high_uncertainty · seed 0 ·").wait_for(timeout=10_000)
        assert "uncertainty 0.9" in app.settings(), app.settings()
        if narrow:  # and it closes as before, leaving the panels in view
            app.page.mouse.click(size[0] - 20, size[1] // 2)
            app.page.wait_for_function("() => document.querySelector('.v-navigation-drawer')"
                                       ".getBoundingClientRect().right <= 0", timeout=10_000)
        else:
            assert box["x"] + box["width"] <= app.page.locator(".vue-grid-item").first.bounding_box()["x"]
        app.screenshot(f"picked-{size[0]}x{size[1]}.png")
        app.assert_clean()
    finally:
        app.page.close()
