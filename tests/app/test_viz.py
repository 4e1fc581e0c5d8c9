"""The browser app in-process: the page renders, Step advances the model, Reset builds the changed model.

Solara renders the page into widgets in this process (no server, no browser); the tests press the
page's own buttons and set its controls as a user would, and read what the page shows.
"""

from __future__ import annotations

import html
import io
import re
import socket
from pathlib import Path
from types import SimpleNamespace

import ipyvuetify as v
import ipywidgets
import numpy as np
import pandas as pd
import pytest
import solara
from conftest import BASELINE, ROOT, SCENARIOS
from solara.components.echarts import EchartsWidget
from solara.widgets import HTML

from trustsim import columns
from trustsim.cli import main
from trustsim.errors import ParamError
from trustsim.metrics import COST_PARTS, TIMESERIES_HEADER
from trustsim.model import TrustMarket
from trustsim.params import Params
from trustsim.scenario import load_scenario
from trustsim.viz import app, components, downloads, echarts, serve


@pytest.fixture
def page(monkeypatch):
    """The rendered page on the baseline scenario, inside an app layout (which hosts the sidebar)."""
    monkeypatch.delenv(app.SCENARIO_ENV, raising=False)
    monkeypatch.chdir(ROOT)
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    yield rc
    rc.close()


def button(rc, label):
    return rc.find(v.Btn, children=[label]).widget


def figures_html(rc) -> str:
    found = [w.unsafe_innerHTML for w in rc.find(HTML).widgets if "trustsim-step" in (w.unsafe_innerHTML or "")]
    assert len(found) == 1
    return found[0]


def shown_step(rc) -> int:
    return int(re.search(r"Step (\d+) of \d+", figures_html(rc)).group(1))


UNIT = re.compile(r' <span class="unit">(.*?)</span>')  # a figure's unit, after its name


def shown_rows(rc) -> list[list[str]]:
    """The key figures table's rows, each a list of its cells' HTML."""
    body = figures_html(rc).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def shown_table(rc) -> dict[str, list[str]]:
    """The key figures table as {label: [partner, aggressive, all]}."""
    return {html.unescape(UNIT.sub("", cells[0])): cells[1:4] for cells in shown_rows(rc)}


def shown_units(rc) -> dict[str, str]:
    """Each key figure's unit as the table shows it beside the figure's name ("" where it shows none)."""
    return {html.unescape(UNIT.sub("", cells[0])): html.unescape("".join(UNIT.findall(cells[0])))
            for cells in shown_rows(rc)}


def charts(rc) -> list[dict]:
    return [w.option for w in rc.find(EchartsWidget).widgets]


def set_control(rc, label, value):
    """Move a slider or pick from a select, as a user would."""
    for cls in (v.Slider, v.Select):
        found = rc.find(cls, label=label).widgets
        if found:
            found[0].v_model = value
            return
    raise AssertionError(f"no control labelled {label!r}")


def type_seed(rc, text):
    field = rc.find(v.TextField, label="Seed").widget
    field.v_model = text
    field.fire_event("focusout", None)  # the seed box takes its value when it loses focus


def test_page_renders_every_view(page):
    for label in ("Reset", "Step", "▶"):
        button(page, label)
    assert shown_step(page) == 0
    assert len(charts(page)) == 1 + len(components.SERIES)  # the time series and the cost breakdown
    titles = {c["title"]["text"] for c in charts(page)}
    assert {"Trust both ways", "Cost of ownership per unit", "Cost of ownership by part"} <= titles
    assert len(titles) == len(charts(page)), "two charts of one title"
    images = page.find(ipywidgets.Image).widgets
    assert images and images[0].value[:8] == b"\x89PNG\r\n\x1a\n"  # the network, drawn
    assert page.find(v.Select, label="Scenario file").widget.v_model == "baseline.toml"


def test_before_the_first_step_the_table_shows_the_market_as_it_starts(page):
    assert shown_step(page) == 0
    table = shown_table(page)
    twin = TrustMarket(load_scenario(BASELINE).params)
    partners = int(twin.market.is_partner.sum())
    assert table["buyers"] == [str(partners), str(twin.market.n_buyers - partners), str(twin.market.n_buyers)]
    assert partners > 0 and twin.market.n_buyers > partners  # the baseline has both postures
    start = twin.market.trust_b[~twin.market.vacant].mean()
    assert table[columns.BY_NAME["trust_buyer"].title][2] == f"{start:.3f}"
    assert table[columns.BY_NAME["market_share"].title][2] == "1.000"
    assert table[columns.BY_NAME["tco_per_unit"].title] == ["–"] * 3  # nothing bought yet
    assert "at the start" in figures_html(page) and "This step:" not in figures_html(page)
    button(page, "Step").click()
    assert "this step" in figures_html(page) and "This step:" in figures_html(page)
    assert "–" not in "".join(sum(shown_table(page).values(), []))
    # each event's count after its name, so that one reads right ("complaints 1", not "1 complaints")
    events = re.search(r"This step: (.*?)\.</p>", figures_html(page)).group(1).split(", ")
    print(events)
    assert len(events) >= 5 and all(re.fullmatch(r"[a-z][a-z ]+ \d+", e) for e in events), events


def test_table_and_charts_take_their_rows_labels_and_units_from_the_column_registry(page):
    table = shown_table(page)
    assert list(table) == ["buyers", *(columns.BY_NAME[n].title for n in columns.KEY_FIGURES)]
    for name in columns.KEY_FIGURES:
        assert f"<td title=\"{html.escape(columns.BY_NAME[name].meaning)}\">" in figures_html(page)
    # each unit beside its name, where the name does not already say it (a fifth column of units made the table
    # wider than its panel at 1 024 pixels)
    units = shown_units(page)
    assert units["component price"] == units["cost of ownership per unit"] == "money/unit"
    assert units["profit to date"] == "money per buyer" and units["ideas received to date"] == "ideas per buyer"
    assert units["market share"] == units["share of lots inspected"] == units["buyers' trust in their suppliers"] == ""
    shown = {c["title"]["text"]: c for c in charts(page)}
    for chart in components.SERIES.values():
        first = columns.BY_NAME[chart.columns[0]]
        option = shown[chart.title or first.title[:1].upper() + first.title[1:]]
        assert first.unit_text in option["yAxis"]["name"]
    costs = next(c for c in charts(page) if c["yAxis"]["type"] == "category")  # the stacked bars
    assert [s["name"] for s in costs["series"]] == [columns.BY_NAME[f"cost_{p}"].title for p in COST_PARTS]


def test_step_advances_the_model_and_every_view(page):
    button(page, "Step").click()
    # after the first step each line is one point, drawn only as a symbol: without, every chart looked empty
    assert all(s["showSymbol"] for c in charts(page) if c["yAxis"]["type"] == "value" for s in c["series"])
    button(page, "Step").click()
    assert not any(s["showSymbol"] for c in charts(page) if c["yAxis"]["type"] == "value" for s in c["series"])
    assert shown_step(page) == 2
    trust = next(c for c in charts(page) if c["title"]["text"] == "Trust both ways")
    assert all(len(s["data"]) == 2 for s in trust["series"])
    assert [p[0] for p in trust["series"][0]["data"]] == [1, 2]
    # what the page shows is what the model computed: a market built alike gives the same figures
    params = load_scenario(BASELINE).params
    twin = TrustMarket(params, rng=params.run.seed)
    twin.step()
    twin.step()
    trust = columns.BY_NAME["trust_buyer"].title
    assert shown_table(page)[trust][0] == f"{twin.latest('trust_buyer', 'partner'):.3f}"


def test_reset_builds_the_market_the_controls_describe_with_a_text_seed(page):
    button(page, "Step").click()
    set_control(page, "Buyers", 60)
    set_control(page, "Partner share", 0.25)
    set_control(page, "Attention policy", "passive")
    set_control(page, "Trust gain per good step", 0.2)
    type_seed(page, "7")
    button(page, "Reset").click()
    assert shown_step(page) == 0
    html = figures_html(page)
    assert "seed 7" in html and "buyers 60" in html and "partner share 0.25" in html and "attention passive" in html
    button(page, "Step").click()
    table = shown_table(page)
    assert table["buyers"] == ["15", "45", "60"]
    expected = TrustMarket(load_scenario(BASELINE).params, rng=7, buyers=60, partner_share=0.25,
                           attention_policy="passive", gain=0.2)
    expected.step()
    assert table["cost of ownership per unit"][1] == f"{expected.latest('tco_per_unit', 'aggressive'):.4f}"
    # another seed is another market: the seed really reached the model
    other = TrustMarket(load_scenario(BASELINE).params, rng=8, buyers=60, partner_share=0.25,
                        attention_policy="passive", gain=0.2)
    other.step()
    assert other.recorder.rows.tolist() != expected.recorder.rows.tolist()


def test_render_interval_does_not_step_past_the_runs_end(monkeypatch, tmp_path):
    """SolaraViz's Step runs "Render Interval" steps at a press and looks at ``running`` only after them: a run of
    4 steps went on to "Step 9 of 4", its charts cut at step 4 and its CSV nine steps long."""
    short = tmp_path / "short.toml"
    short.write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 4\n[market]\nbuyers = 8\nsuppliers = 4\n')
    monkeypatch.setenv(app.SCENARIO_ENV, str(short))
    monkeypatch.chdir(ROOT)
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    try:
        set_control(rc, "Render Interval (steps)", 9)
        button(rc, "Step").click()
        assert shown_step(rc) == 4 and "finished · Reset builds a new market" in figures_html(rc)
        assert button(rc, "Step").disabled and button(rc, "▶").disabled
    finally:
        rc.close()
    market = app.AppMarket(load_scenario(short).params)
    for _ in range(6):
        market.step()
    assert market.steps == market.recorder.n == 4 and len(market.datacollector.get_model_vars_dataframe()) == 4


def test_a_step_that_fails_is_told_on_the_page_which_stays_usable(page, monkeypatch, capsys):
    """An error inside a step pressed with Step replaced the whole page by a traceback (Solara's handler of the
    click), scenario picker and Reset gone, and the server's terminal said nothing. The page says which step failed
    and why, the run ends there, Reset builds a new market; the terminal has the traceback."""
    observe = TrustMarket.observe

    def failing(model):
        if model.steps == 2:
            raise ValueError("a failure inside the step")
        observe(model)

    monkeypatch.setattr(TrustMarket, "observe", failing)
    button(page, "Step").click()
    button(page, "Step").click()
    shown = html.unescape(figures_html(page))
    assert "Step 2 failed: ValueError: a failure inside the step" in shown and "finished" in shown
    assert button(page, "Step").disabled
    assert "ValueError: a failure inside the step" in capsys.readouterr().err
    monkeypatch.setattr(TrustMarket, "observe", observe)
    button(page, "Reset").click()
    button(page, "Step").click()
    button(page, "Step").click()
    assert shown_step(page) == 2 and "failed" not in figures_html(page)


def test_the_model_takes_what_solaraviz_sends_on_reset():
    """Reset calls ``TrustMarket(**model_params)``: the seed as text and Mesa's own scenario object included."""
    from mesa.experimental.scenarios import Scenario as MesaScenario

    params = load_scenario(BASELINE).params
    sent = {k: (spec["value"] if isinstance(spec, dict) else spec.value if hasattr(spec, "value") else spec)
            for k, spec in app.model_params(params).items()}
    sent["rng"] = " 11 "
    model = TrustMarket(**sent, scenario=MesaScenario())
    assert model.params.run.seed == 11
    assert model.params == params.replace(**{"run.seed": 11})


def test_controls_take_their_ranges_from_the_schema():
    params = load_scenario(BASELINE).params
    controls = app.model_params(params)
    assert (controls["partner_share"].min, controls["partner_share"].max) == (0.0, 1.0)
    assert controls["buyers"].min == 1 and controls["buyers"].value == params.market.buyers
    assert controls["attention_policy"]["values"] == ["passive", "periodic", "silence"]
    big = app.model_params(params.replace(buyers=100_000))
    assert big["buyers"].max == 100_000  # a scenario beyond the slider's usual range stays reachable


def test_a_large_markets_sliders_move_in_round_steps_that_hold_the_scenarios_value(monkeypatch):
    """The large market's buyers slider ran 1 … 100 000 in steps of 1 on a slider about 250 px wide: 400 buyers a
    pixel, so a click gave 19 718 buyers and an arrow key moved by one; no round market such as 20 000 was in
    reach. Every whole-number slider now has at most SLIDER_POSITIONS positions, its scenario's value on its grid."""
    monkeypatch.chdir(ROOT)
    large = app.model_params(load_scenario(SCENARIOS / "large_market.toml").params)
    assert (large["buyers"].min, large["buyers"].max, large["buyers"].step) == (500, 100_000, 500)
    assert (large["suppliers"].min, large["suppliers"].max, large["suppliers"].step) == (20, 5_000, 20)
    assert 20_000 % large["buyers"].step == 0 and 1_000 % large["suppliers"].step == 0  # round markets in reach
    for label, scenario in app.load_choices()[0].items():
        for name, control in app.model_params(scenario.params).items():
            if hasattr(control, "is_float_slider") and not control.is_float_slider:
                assert (control.max - control.min) / control.step <= app.SLIDER_POSITIONS, (label, name)
                assert browser_slider_value(control.value, control) == control.value, (label, name, control.step)
    baseline = app.model_params(load_scenario(BASELINE).params)["buyers"]  # a small market's slider keeps steps of 1
    assert (baseline.min, baseline.max, baseline.step) == (1, 400, 1)


def browser_slider_value(value: float, slider) -> float:
    """What the browser's slider makes of a value it is given (Vuetify 2's ``VSlider.roundValue``): the nearest
    point of its grid from ``min`` in steps of ``step``, to the step's decimals; it sends that back to the server."""
    import math

    decimals = len(repr(float(slider.step)).split(".")[1]) if "e" not in repr(float(slider.step)) else 0
    offset = slider.min % slider.step
    snapped = math.floor((value - offset) / slider.step + 0.5) * slider.step + offset
    return float(f"{min(snapped, slider.max):.{decimals}f}")


def test_every_slider_holds_its_scenarios_value_as_the_browser_rounds_it(monkeypatch):
    """The browser's slider moves a value off its grid to the nearest step and sends that back: the baseline's
    trust gain 0.131 on a slider of steps of 0.01 came back as 0.13, and Reset, touching nothing, built another
    market than the page had opened on (and than ``trustsim run`` of the same scenario and seed)."""
    monkeypatch.chdir(ROOT)
    for label, scenario in app.load_choices()[0].items():
        for name, control in app.model_params(scenario.params).items():
            if hasattr(control, "is_float_slider") and control.is_float_slider:
                assert browser_slider_value(control.value, control) == control.value, (label, name, control.step)
    assert app.slider_step(0.35, 0.0, 0.05) == 0.05 and app.slider_step(0.131, 0.0, 0.01) == 0.001


def test_scenario_picker_switches_the_base_parameters(page):
    choices = page.find(v.Select, label="Scenario file").widget
    assert {"baseline.toml", "partners_only.toml"} <= set(choices.items)
    choices.v_model = "partners_only.toml"
    html = figures_html(page)
    assert "partners_only" in html and "partner share 1" in html
    button(page, "Step").click()
    assert shown_table(page)["buyers"][1] == "0"  # no aggressive buyers


def test_picker_leaves_out_a_broken_file_and_says_why(tmp_path):
    (tmp_path / "good.toml").write_text('extends = "missing.toml"\n')
    (tmp_path / "mine.toml").write_text("[trust]\ngian = 0.1\n")
    choices, problems = app.load_choices(tmp_path / "mine.toml")
    assert "mine.toml" not in choices and "good.toml" not in choices
    assert any("gian" in p and "did you mean" in p for p in problems)


def test_picker_lists_a_copy_of_a_scenario_once_and_an_edited_one_by_its_path(tmp_path):
    """`trustsim viz` on a scenario in a folder of copies of the repository's scenarios listed each twice, the
    second time by its full path (42 entries): a copy that builds the same market is listed once, the one given."""
    import shutil

    for name in ("baseline.toml", "high_uncertainty.toml", "learning.toml"):
        shutil.copy(SCENARIOS / name, tmp_path / name)
    edited = tmp_path / "learning.toml"
    edited.write_text(edited.read_text() + "\n[trust]\ngain = 0.2\n")
    choices, problems = app.load_choices(tmp_path / "high_uncertainty.toml")
    labels = list(choices)
    print(labels)
    assert problems == [] and labels[0] == "high_uncertainty.toml"
    assert sorted(label for label in labels if label.endswith(("baseline.toml", "high_uncertainty.toml"))) == [
        "baseline.toml", "high_uncertainty.toml"]  # not again by the repository's paths
    assert Path(choices["baseline.toml"].path).parent == tmp_path  # yours, found first
    assert labels.count("learning.toml") == 1 and str(SCENARIOS.resolve() / "learning.toml") in labels
    assert choices["learning.toml"].params.trust.gain == 0.2


def test_picker_leaves_out_sweep_files_and_viz_refuses_one(tmp_path, capsys, monkeypatch):
    (tmp_path / "one.toml").write_text("[market]\nbuyers = 12\n")
    (tmp_path / "many.toml").write_text('[sweep]\nfactors = { "market.uncertainty" = [0.1, 0.5] }\n')
    choices, problems = app.load_choices(tmp_path / "one.toml")
    assert "one.toml" in choices and "many.toml" not in choices and problems == []
    assert all(s.sweep is None for s in choices.values())  # the repository's sweep files are left out too
    assert "sweep_uncertainty.toml" not in choices
    monkeypatch.setattr(serve, "server_command", lambda host, port: pytest.fail("the server was started"))
    assert main(["viz", str(tmp_path / "many.toml")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "many.toml" in err and "trustsim sweep" in err


def test_viz_refuses_an_empty_scenario_path_as_run_does(capsys, monkeypatch):
    """An empty path is a path that names no file, not "no scenario given" (which would start the baseline)."""
    monkeypatch.setattr(serve, "server_command", lambda host, port: pytest.fail("the server was started"))
    assert main(["viz", ""]) == 2
    err = capsys.readouterr().err
    assert err == "trustsim: error: scenario: is empty or blank; name a scenario TOML file\n", err
    assert main(["run", ""]) == 2 and capsys.readouterr().err == err  # as run does


def test_csv_download_is_the_results_contract_time_series():
    model = TrustMarket(steps=5)
    model.run()
    frame = pd.read_csv(io.BytesIO(components.timeseries_csv(model)))
    assert tuple(frame.columns) == TIMESERIES_HEADER
    assert len(frame) == 5 * 3 and frame["step"].max() == 5


def test_the_settings_download_is_a_scenario_that_makes_the_downloaded_series(tmp_path, capsys):
    """The app's time series came with no record of the sliders and seed that made it (its name said "baseline" of
    a market set otherwise). The settings download is a scenario file of every parameter as the market runs:
    `trustsim run` on it makes the same series, step for step."""
    params = Params().replace(**{"market.buyers": 14, "market.suppliers": 7, "market.uncertainty": 0.9,
                                 "buyers.partner_share": 1.0, "run.seed": 42, "run.steps": 6})
    model = TrustMarket(params, rng=params.run.seed)
    model.run()
    settings = tmp_path / "baseline-seed42.toml"
    settings.write_bytes(downloads.settings_toml(model, "baseline"))
    assert load_scenario(settings).params == model.params
    assert main(["run", str(settings), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert (tmp_path / "again" / "timeseries.csv").read_bytes() == downloads.timeseries_csv(model)
    assert settings.read_text().startswith('description = "baseline as set in trustsim\'s app"')


def test_network_layout_stays_put_and_draws_no_random_numbers():
    drawn, plain = TrustMarket(rng=3), TrustMarket(rng=3)
    before = [xy.copy() for xy in components.network_layout(drawn)]
    for _ in range(6):
        drawn.step()
        plain.step()
        components.network_png(drawn)
    after = components.network_layout(drawn)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert drawn.recorder.rows.tolist() == plain.recorder.rows.tolist()
    figure = components.network_view(drawn)
    edges = next(c for c in figure.axes[0].collections if c.get_array() is not None and len(c.get_segments()))
    assert len(edges.get_segments()) == int((~drawn.market.vacant).sum())
    assert np.allclose(edges.get_array(), drawn.market.trust_b[~drawn.market.vacant])


@pytest.mark.parametrize("size", [(40, 20), (400, 200), (150, 90)])
def test_network_markers_keep_their_distance_on_a_full_ring(size):
    """At the app's largest market (400 buyers, 200 suppliers) the markers ran together into solid rings, the
    suppliers' health unreadable: each marker is at most as wide as its ring's spacing; the default market's are as
    they were (buyers 28 pt², suppliers 15 + 110 · health)."""
    model = TrustMarket(rng=1, buyers=size[0], suppliers=size[1])
    model.step()
    figure = components.network_view(model)
    figure.canvas.draw()
    ax = figure.axes[0]
    buyers, suppliers = (c for c in ax.collections if c.get_offsets().shape[0] in size and c.get_array() is None)
    for dots, n in ((buyers, size[0]), (suppliers, size[1])):
        offsets = dots.get_offsets()
        xy = ax.transData.transform(offsets[np.argsort(np.arctan2(offsets[:, 1], offsets[:, 0]))])
        spacing = np.linalg.norm(np.diff(xy, axis=0), axis=1).min()  # neighbours on the ring, in pixels
        width = np.sqrt(dots.get_sizes().max()) * figure.dpi / 72  # the widest marker, in pixels
        print(f"{n} markers: {width:.1f} px wide, {spacing:.1f} px apart")
        assert width <= spacing * 1.02, (n, width, spacing)
    if size == (40, 20):
        health = model.market.supplier_health()
        assert np.allclose(buyers.get_sizes(), 28) and np.allclose(suppliers.get_sizes(), 15 + 110 * health)


def test_network_view_declines_a_market_too_large_to_draw(monkeypatch):
    monkeypatch.setattr(components, "NETWORK_MAX_RELATIONSHIPS", 10)
    model = TrustMarket(buyers=20)
    texts = [t.get_text() for t in components.network_view(model).axes[0].texts]
    assert any("too many to draw" in t for t in texts)


def test_the_key_figures_write_a_large_markets_counts_in_thousands_as_its_money():
    """On the large market the table wrote "100000" buyers and "complaints 21687" beside a profit of "1,516",
    and the settings "buyers 100000 · suppliers 5000", where the network said "200,000 relationships"."""
    model = TrustMarket(load_scenario(SCENARIOS / "large_market.toml").params)
    model.step()
    page = components.key_figures_html(model, "large_market")
    buyers = re.search(r"<td[^>]*>buyers</td>((?:<td>[^<]*</td>){3})", page).group(1)
    assert re.findall(r"<td>([^<]*)</td>", buyers) == ["50,000", "50,000", "100,000"]
    events = re.search(r"This step: (.*?)\.</p>", page).group(1)
    counts = dict(re.fullmatch(r"(.+) ([\d,]+)", e).groups() for e in events.split(", "))
    assert int(counts["complaints"].replace(",", "")) >= 1000 and "," in counts["complaints"], events
    assert "buyers 100,000 · suppliers 5,000 ·" in page
    assert "gain 0.131" in page  # fractions as before

# --- trustsim viz -----------------------------------------------------------------------------------

def test_viz_bad_scenario_is_one_line_and_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[trust]\ngian = 0.1\n")
    assert main(["viz", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml" in err[0] and "did you mean" in err[0]


def test_viz_busy_port_is_exit_2(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["viz", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(port) in err[0]


def test_viz_serves_on_loopback_unless_told_and_warns_when_exposed(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(serve.os, "execve", lambda path, argv, env: calls.append((argv, env)))
    monkeypatch.setattr(serve.subprocess, "call", lambda argv, env: calls.append((argv, env)) or 0)
    serve.serve(SimpleNamespace(scenario=str(BASELINE), host="127.0.0.1", port=None))
    argv, env = calls[-1]
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and int(argv[argv.index("--port") + 1]) > 0
    assert env[serve.SCENARIO_ENV] == str(BASELINE) and "--no-check-version" in argv
    assert "warning" not in capsys.readouterr().err
    serve.serve(SimpleNamespace(scenario=None, host="0.0.0.0", port=None))
    out, err = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in err
    # an address a browser can open, not 0.0.0.0 (which the app printed as the address to open)
    assert "at http://127.0.0.1:" in out and "(listening on every address of this machine)" in out, out
    assert serve.is_loopback("localhost") and serve.is_loopback("::1") and not serve.is_loopback("0.0.0.0")


def test_param_error_from_a_bad_seed_names_the_seed():
    with pytest.raises(ParamError, match="seed"):
        TrustMarket(rng="seven")


def test_reset_with_a_seed_that_is_not_a_number_says_so_and_keeps_the_scenario_seed(page):
    """Text in the seed box that is no integer: the page does not fail, it builds the market on the
    scenario's seed and says which seed it used."""
    type_seed(page, "seven")
    set_control(page, "Buyers", 50)
    button(page, "Reset").click()
    shown = html.unescape(figures_html(page))
    seed = load_scenario(BASELINE).params.run.seed
    assert "'seven' is not an integer" in shown and f"seed {seed}" in shown and "buyers 50" in shown
    button(page, "Step").click()
    assert shown_step(page) == 1
    type_seed(page, "7")
    button(page, "Reset").click()
    assert "not an integer" not in figures_html(page) and "seed 7" in figures_html(page)


@pytest.mark.parametrize("text", ["", "   "])
def test_reset_with_the_seed_box_emptied_says_the_box_is_empty_and_keeps_the_scenario_seed(page, text):
    """A seed box emptied (or left blank) and Reset: the page said "Seed '' is not an integer", which reads as a
    seed of two quote marks; it says the box is empty, and which seed the market was built on."""
    type_seed(page, "7")
    button(page, "Reset").click()
    type_seed(page, text)
    button(page, "Reset").click()
    shown = html.unescape(figures_html(page))
    seed = load_scenario(BASELINE).params.run.seed
    assert f"The seed box is empty; the scenario's seed {seed} is used." in shown and f"seed {seed}" in shown
    assert "not an integer" not in shown


@pytest.mark.parametrize("text", ["-5", "99999999999999999999999"])
def test_reset_with_a_seed_outside_the_range_says_so_and_keeps_the_scenario_seed(page, text):
    """An integer no run may have as its seed (negative, or beyond 2⁶³ − 1): the page does not end in a traceback
    (the parameters' own check raised in Reset), it builds the market on the scenario's seed and says so."""
    type_seed(page, text)
    button(page, "Reset").click()
    shown = html.unescape(figures_html(page))
    seed = load_scenario(BASELINE).params.run.seed
    assert f"'{text}' is outside the seeds' range" in shown and f"seed {seed}" in shown
    button(page, "Step").click()
    assert shown_step(page) == 1


@pytest.mark.parametrize("partner_share", [0.0, 1.0])
def test_a_market_of_one_posture_sends_its_charts_as_valid_json(partner_share):
    """A posture without buyers measures NaN, which JSON does not have: the browser refused every chart's data
    ("Unexpected token 'N'") and drew empty axes. Its points go as null; the other posture's are drawn."""
    import json

    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"buyers.partner_share": partner_share,
                                                                  "run.steps": 4}), rng=1)
    model.run()
    present = "partner" if partner_share else "aggressive"
    for key in components.SERIES:
        option = components.series_view(model, key)
        json.dumps(option, allow_nan=False)  # raises on NaN or ∞
        drawn = [point[1] for s in option["series"] if s["name"].startswith(present) for point in s["data"]]
        assert drawn and None not in drawn, key
    cost = components.cost_view(model)
    json.dumps(cost, allow_nan=False)
    assert all(s["data"][0 if partner_share else 1][0] is not None for s in cost["series"])


def test_every_time_series_leaves_room_below_its_axis_for_its_legend():
    """The legend sits under the x axis's name: the plot's bottom margin must hold the axis's labels and name (62
    px) and a row (23 px) for each further line of legend. The panel of two columns names its lines long ("partner ·
    buyers' trust in their suppliers") and its four entries, 84 px below, were drawn over "step (quarter)". Entries
    are taken at 7 px a character plus the 40 px of their symbol and gap, on a panel 480 px wide (the app's at
    1 400 px)."""
    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"run.steps": 2}), rng=1)
    model.run()
    for key in components.SERIES:
        option = components.series_view(model, key)
        rows, width = 1, 0
        for s in option["series"]:
            entry = 40 + 7 * len(s["name"])
            if width and width + entry > 480:
                rows, width = rows + 1, 0
            width += entry
        assert option["grid"]["bottom"] >= 62 + 23 * (rows - 1), (key, rows, option["grid"]["bottom"])


def test_a_panels_columns_are_told_apart_in_its_legend_by_their_symbols():
    """The trust panel's lines for buyers' and suppliers' trust share a posture's colour and differ by their dashes,
    which its legend's short strokes did not show: its four entries came in two identical pairs. Each column has
    its symbol (the legend's mark), and one column's lines share theirs."""
    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"run.steps": 2}), rng=1)
    model.run()
    series = components.series_view(model, "trust")["series"]
    marks = {s["name"]: (s["symbol"], s["lineStyle"]["type"]) for s in series}
    print(marks)
    buyers = {m for n, m in marks.items() if "buyers' trust" in n}
    suppliers = {m for n, m in marks.items() if "suppliers' trust" in n}
    assert len(marks) == 4 and len(buyers) == len(suppliers) == 1 and buyers.isdisjoint(suppliers)
    assert {m[0] for m in buyers} != {m[0] for m in suppliers}


def test_the_step_axis_grows_with_the_run_to_its_end():
    """The time series' step axis spanned the whole run from step 0: after 30 steps of 1 200 every line lay in the
    first 2 % of its chart (the README's screenshot looked empty). It ends at the first of 40, 100, 200, 500, 1 000 …
    that holds the steps so far, never past the run's last step."""
    ends = [echarts.step_axis_end(s, 1200) for s in (0, 3, 30, 40, 41, 150, 201, 501, 1001, 1200)]
    assert ends == [40, 40, 40, 40, 100, 200, 500, 1000, 1200, 1200]
    assert echarts.step_axis_end(2001, 10**6) == 5000 and echarts.step_axis_end(3, 6) == 6
    model = TrustMarket(load_scenario(BASELINE).params, rng=1)
    for _ in range(30):
        model.step()
    option = components.series_view(model, "tco")
    assert option["xAxis"]["max"] == 40 and max(x for x, *_ in option["series"][0]["data"]) == 30


def test_a_charts_points_carry_their_figure_as_the_key_figures_table_writes_it():
    """The tooltip printed the step as "25.00" and every figure to six decimals (0.849194 beside the table's 0.8492):
    each point carries its figure in the table's format as a third dimension, which the tooltip shows, while the
    line is drawn through the numbers; the step axis's pointer, the tooltip's heading, is a whole step. (The
    browser test hovers the charts.)"""
    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"run.steps": 3, "buyers.partner_share": 0.0}),
                        rng=1)
    model.run()
    for key in components.SERIES:
        option = components.series_view(model, key)
        assert option["xAxis"]["axisPointer"]["label"]["precision"] == 0
        for s in option["series"]:
            column = next(c for c in components.SERIES[key].columns
                          if len(components.SERIES[key].columns) == 1 or columns.BY_NAME[c].title in s["name"])
            assert s["encode"]["tooltip"] == 2 and s["dimensions"][2]["type"] == "ordinal"
            assert [text for *_, text in s["data"]] == [None if v is None else columns.BY_NAME[column].format(v)
                                                        for _, v, _ in s["data"]], (key, s["name"])
    for s in components.cost_view(model)["series"]:
        assert [p[1] for p in s["data"]] == ["partner", "aggressive"] and s["data"][0][2] is None  # no partners
        assert s["data"][1][2] == f"{s['data'][1][0]:.4f}"


def test_the_cost_charts_legend_shows_every_part_in_a_narrow_chart_with_room_for_its_rows():
    """Under 440 px wide (1 024- and 1 280-px screens) the cost chart's legend of eight parts was one row that paged,
    three names in sight; in rows without room it lay over the axis's name. It never pages now, and the narrower the
    chart, the more room its grid leaves under the axis for the legend's rows (their layout is checked in Chromium,
    tests/app/test_browser.py)."""
    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"run.steps": 2}), rng=1)
    model.run()
    option = components.cost_view(model)
    assert option["legend"].get("type", "plain") == "plain"
    widths = [m["query"]["maxWidth"] for m in option["media"]]
    rooms = [m["option"]["grid"]["bottom"] for m in option["media"]]
    assert widths[0] == 440 and widths == sorted(widths, reverse=True)  # ECharts applies the narrowest last
    assert option["grid"]["bottom"] < rooms[0] and rooms == sorted(rooms)
    assert all(m["option"]["legend"].get("type", "plain") == "plain" for m in option["media"])


def test_cost_breakdown_keeps_a_postures_bar_when_it_lacked_buyers_in_part_of_its_window():
    """A learning buyer changes posture: in a market of one buyer, partner share 0, it was aggressive for four
    steps and a partner in the fifth. Each posture had a buyer in some step of the chart's window, yet a step
    without one measures NaN, and the mean of the window came out NaN for both: the chart had no bar at all."""
    model = TrustMarket(load_scenario(BASELINE).params, rng=0, buyers=1, suppliers=1, partner_share=0.0,
                        conduct="learning")
    for _ in range(5):
        model.step()
    had = model.recorder.rows[-components.COST_WINDOW:, :2, columns.COLUMN_NAMES.index("buyers")] > 0
    assert had.any(axis=0).all() and not had.all(axis=0).all(), "each posture had buyers in some steps, not all"
    for s in components.cost_view(model)["series"]:
        assert None not in [value for value, *_ in s["data"]], s["name"]
    price = columns.COLUMN_NAMES.index("cost_price")
    for g in (0, 1):
        rows = model.recorder.rows[-components.COST_WINDOW:, g, price]
        assert components.cost_breakdown(model)["price"][g] == pytest.approx(rows[had[:, g]].mean())


def test_the_cost_by_part_chart_names_its_unit_as_the_cost_over_time_chart_does():
    """The cost-by-part chart's axis said "money per unit" beside the cost-over-time chart's "money/unit", the
    column registry's unit: the same unit in two words on one page."""
    model = TrustMarket(load_scenario(BASELINE).params.replace(**{"run.steps": 2}), rng=1)
    model.run()
    over_time, by_part = components.series_view(model, "tco"), components.cost_view(model)
    print(over_time["yAxis"]["name"], by_part["xAxis"]["name"])
    assert by_part["xAxis"]["name"] == over_time["yAxis"]["name"] == columns.BY_NAME["tco_per_unit"].unit_text


def test_reset_builds_a_scenarios_value_finer_than_its_slider_as_the_scenario_gives_it(monkeypatch):
    """A scenario's trust gain 0.1234567 (a sweep's design point, say) lies on no slider's grid of 6 decimals: the
    browser sent back 0.123457, and Reset, touching nothing, built another market than the scenario's. The slider
    at its nearest to the scenario's value stands for that value; a slider moved elsewhere is its own."""
    params = Params().replace(**{"trust.gain": 0.1234567, "market.uncertainty": 0.33333333})
    gain, sigma = (app.model_params(params)[name] for name in ("gain", "uncertainty"))
    assert gain.step == sigma.step == 1e-6  # the finest grid: the browser hands Reset the nearest point of it
    sent = {"gain": 0.123457, "uncertainty": 0.333333}  # as Chromium sent them
    market = app.AppMarket(params, rng=1, **sent)
    assert (market.params.trust.gain, market.params.market.uncertainty) == (0.1234567, 0.33333333)
    moved = app.AppMarket(params, rng=1, gain=0.123458, uncertainty=0.5)
    assert (moved.params.trust.gain, moved.params.market.uncertainty) == (0.123458, 0.5)


def test_the_pending_notice_names_what_reset_would_change_and_nothing_else():
    """A slider the browser snapped to its grid (a scenario's 0.1234567 sent back as 0.123457) and seed-box text that
    holds no seed (Reset uses the scenario's) change nothing Reset builds: they are not named. A slider moved, a
    choice made and a seed typed are, each with the market's value and the control's."""
    from mesa.visualization import Slider

    from trustsim.viz.pending import pending_changes

    params = Params().replace(**{"trust.gain": 0.1234567})
    steps = {n: s.step for n, s in app.model_params(params).items() if isinstance(s, Slider)}
    flat = params.flat()
    values = {"rng": "abc", "gain": 0.123457, "uncertainty": flat["market.uncertainty"], "conduct": "fixed"}
    assert flat["buyers.conduct"] == "fixed"
    assert pending_changes(params, params, values, steps) == []
    values |= {"rng": " 5 ", "uncertainty": 0.6000000000000001, "conduct": "learning"}
    assert pending_changes(params, params, values, steps) == [
        f"Seed {params.run.seed} → 5", f"Uncertainty σ {flat['market.uncertainty']:g} → 0.6",
        "Buyers' conduct (fixed or learning) fixed → learning"]
    built = app.AppMarket(params, rng=" 5 ", uncertainty=0.6000000000000001, conduct="learning").params
    assert pending_changes(built, params, values, steps) == []  # Reset built them: nothing pending
    # on seed 5, text that is no seed takes Reset back to the scenario's: said so, not as a seed typed ("Seed 5 → 0")
    for text, why in (("0x10", "'0x10' is not an integer"), ("-1", "'-1' is outside the seeds' range"),
                      ("  ", "the box is empty")):
        said = pending_changes(built, params, values | {"rng": text}, steps)
        assert said[0].startswith(f"Seed 5 → {params.run.seed} (the scenario's: {why}"), said
