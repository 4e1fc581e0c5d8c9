"""The browser app: a market live in Mesa's SolaraViz, on the parameters of a scenario file.

Controls change the parameters people explore (their ranges are the schema's); Reset builds
``TrustMarket(params=<scenario's>, rng=<seed>, <name>=<value>, …)`` from them. A scenario picker switches
the base parameters. ``trustsim viz`` starts the server that runs this page (``serve.py``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import traceback
from decimal import Decimal
from pathlib import Path

import solara
from mesa.visualization import Slider, SolaraViz
from solara import lifecycle

from ..errors import ParamError
from ..model import TrustMarket
from ..params import Params, bounds, choices
from ..scenario import Scenario, load_scenario
from . import components as c
from .controls import CONTROLS
from .pending import PendingNotice, box_seed
from .serve import SCENARIO_ENV, release_freed_memory

DEFAULT_SCENARIO = "baseline.toml"
SLIDER_CAPS = {"market.buyers": 400, "market.suppliers": 200}  # the schema allows millions; a browser does not
SLIDER_POSITIONS = 400  # a whole-number slider with more positions than this moves in round steps (whole_slider)
# SolaraViz draws its sliders without their values and its views under a tab bar even when there is one page:
# show every slider's value on its thumb (Vuetify renders the label, hidden until dragged) and hide a bar of one tab;
# the network picture, as wide as its cell, is no higher than it either (on a wide screen its lower half, with the
# legend, lay under the chart below); the key figures' status line and columns' names stay at the top of their
# panel while the figures scroll under them, on the panel's ground (inherited, so dark in the dark theme); the
# figures' grey and red texts read at 4.5 to 1 or more on either theme's ground, and their rules are as faint on the
# dark theme's ground as on the light's (Vuetify's dividers), not bright lines at 12 to 1; the notice of changes not yet
# applied above the panels is for while the sidebar, with its own, is closed (Vuetify's drawer, open or closed, says
# so); a slider's label sits above its track (beside it, a label of two lines left a 314-px sidebar's slider no width at
# all, its thumb at the right end whatever its value); under 600 px wide the panels stand in one column, each as
# wide as the page (the grid's two columns gave a phone's panels 161 px, their titles and legends cut)
PAGE_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-slider__thumb-label { transform: translate(-50%, -100%) !important; top: -4px !important; height: 18px !important;
                         width: auto !important; min-width: 22px; padding: 0 4px; line-height: 18px;
                         text-align: center; font-size: 11px; border-radius: 3px !important; }
.v-slider__thumb-label > * { transform: none !important; display: inline !important; }
.v-tabs:not(:has(.v-tab + .v-tab)) { display: none; }
.trustsim-network { max-height: 100%; object-fit: contain; }
.trustsim-download { display: flex; flex-wrap: wrap; gap: 4px 8px; }  /* the downloads side by side where they fit */
.trustsim-download .v-btn { max-width: 100%; height: auto !important; min-height: 36px; padding: 4px 12px !important;
                            text-transform: none; letter-spacing: normal; }
.trustsim-download .v-btn, .trustsim-download .v-btn__content { white-space: normal; flex-shrink: 1; }
.trustsim-figures { border-collapse: separate; border-spacing: 0; font-size: 12px; width: 100%;
                    background-color: inherit; }
.trustsim-figures td, .trustsim-figures th { padding: 0 4px; border-bottom: 1px solid #ddd; }
.theme--dark .trustsim-figures td, .theme--dark .trustsim-figures th { border-bottom-color: rgba(255, 255, 255, 0.12); }
.trustsim-figures td + td, .trustsim-figures th + th { text-align: right; }
.trustsim-figures .unit { color: #6f6f6f; font-size: 11px; }
.theme--dark .trustsim-figures .unit { color: #9e9e9e; }
.theme--dark .trustsim-settings { color: #aaaaaa !important; }  /* their light colours, set in the HTML, on the */
.theme--dark .trustsim-notice { color: #ff8a80 !important; }   /* dark theme's ground read at 3 and 2.3 to 1 */
.v-application.theme--light :is(.trustsim-pending, .trustsim-pending-page) { color: #8f4400 !important; }  /* not
                                                               Vuetify's orange, 2.4 to 1 */
.v-application:has(.v-navigation-drawer--open) .trustsim-pending-page { display: none !important; }
.v-navigation-drawer { max-width: calc(100vw - 56px) !important; min-width: 0 !important; }  /* on a phone too */
:focus-visible { outline: 2px solid #1976d2 !important; outline-offset: 2px; }  /* Vuetify's tint, 1.3 to 1 */
.v-navigation-drawer .v-alert { overflow-wrap: anywhere; }  /* a long path, unbroken, widened the sidebar */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; margin: 0 0 16px 0 !important; }
.v-input__slider .v-slider { flex: 1 0 100%; margin-left: 0 !important; margin-right: 0 !important; }
@media (max-width: 599px) {
  .vue-grid-layout { height: auto !important; }
  .vue-grid-item { position: relative !important; transform: none !important; width: 100% !important;
                   margin-bottom: 10px; }
}
.trustsim-figures thead { position: sticky; top: 0; z-index: 1; background-color: inherit; }
.trustsim-figures thead tr:first-child th { padding: 0; border-bottom: none; text-align: left; font-weight: normal; }
"""


class AppMarket(TrustMarket):
    """The market as the app builds it on Reset: seed-box text that is not an integer (or none: the box emptied), or
    an integer outside the seeds' range, does not end the page in a traceback; the scenario's seed is used and the
    key figures panel says so. A step once the run has ended does nothing; a step that fails ends the run and the
    panel says why."""

    def __init__(self, params: Params | None = None, *, rng=None, **overrides):
        # a control the page gave a reactive value (model_params) and nobody moved reaches Reset as that variable
        rng, overrides = held(rng), {name: held(value) for name, value in overrides.items()}
        seed, why = box_seed(rng, (params or Params()).run.seed)
        notice = None
        if why:
            empty = isinstance(rng, str) and not rng.strip()
            said = "The seed box is empty" if empty else f"Seed {str(rng)[:40]!r} {why}"
            notice = f"{said}; the scenario's seed {seed} is used."
        super().__init__(params, rng=seed, **finer_than_sliders(params or Params(), overrides))
        self.notice = notice
        # SolaraViz's Step and ▶ run "Render Interval" steps at a press without looking at ``running`` between
        # them, which took the market past its last step ("Step 100 of 5"); a finished market stays as it is
        advance = self.step  # Mesa's own step (set on the instance by mesa.Model): time, steps, TrustMarket.step

        def step() -> None:
            if not self.running or stopped_play_loop():
                return
            try:
                advance()
            except Exception as exc:  # noqa: BLE001 — said on the page and in the server's terminal, not raised
                # raised, an error in Step replaced the whole page by a traceback (▶ showed one line in the sidebar)
                traceback.print_exc()
                self.running = False
                self.notice = f"Step {self.steps} failed: {type(exc).__name__}: {exc}. Reset builds a new market."

        self.step = step


def held(value):
    """What ``value`` holds: a reactive variable's value, anything else as it is."""
    return value.value if isinstance(value, solara.Reactive) else value


def stopped_play_loop() -> bool:
    """Whether the step asked for comes from SolaraViz's Play loop after Pause or Reset stopped it.

    The loop sleeps "Play Interval" ms and then steps the page's market without looking again whether it is
    still playing: Reset pressed in that sleep had the new market stepped (it showed "Step 1", or the Render
    Interval's steps, where Reset had just built it), Pause one step past where it was paused. The loop is
    Mesa's ``ModelController``'s ``step``; its ``playing`` says whether Play is still on. (Another Mesa, whose
    loop is named otherwise, is not recognised: its steps are then taken as before.)"""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_qualname == "ModelController.<locals>.step" and code.co_filename.endswith("solara_viz.py"):
            return getattr(frame.f_locals.get("playing"), "value", True) is False
        frame = frame.f_back
    return False


def model_params(params: Params, inputs: dict[str, solara.Reactive] | None = None) -> dict:
    """SolaraViz's ``model_params``: the scenario's parameters (fixed), a seed box and the controls. A control named
    in ``inputs`` (by the model's name for it: ``rng``, ``buyers`` …) has that reactive variable as its value, which
    Solara's input then keeps up to date: the page reads from it what the controls hold (``pending.py``)."""
    flat, inputs = params.flat(), inputs or {}
    out: dict = {
        "params": params,
        "rng": {"type": "InputText", "value": inputs.get("rng", str(params.run.seed)), "label": "Seed"},
    }
    for control in CONTROLS:
        key, label, step = control.key, control.label, control.step
        name, value = key.split(".")[1], flat[key]
        if step is None:
            out[name] = {"type": "Select", "value": inputs.get(name, value), "values": list(choices(key)),
                         "label": label}
            continue
        lo, hi = bounds(key)
        hi = max(min(hi, SLIDER_CAPS.get(key, hi)), value)
        if isinstance(value, float):
            step = slider_step(value, lo, step)
        else:
            lo, hi, step = whole_slider(value, lo, hi, step)
        out[name] = Slider(label, value=inputs.get(name, value), min=lo, max=hi, step=step, dtype=type(value))
    return out


def whole_slider(value: int, lo: int, hi: int, step: int) -> tuple[int, int, int]:
    """A whole-number slider's ``(min, max, step)`` for ``value`` in ``lo`` … ``hi``: the control's own, unless that
    makes more than SLIDER_POSITIONS positions. A large market's 1 … 100 000 buyers on a slider about 250 px wide
    made 400 buyers a pixel: a click gave 19 718 buyers and an arrow key moved by one, so no round market was in
    reach. Such a slider moves by the coarsest round step (1, 2 or 5 × 10ⁿ) that keeps it to SLIDER_POSITIONS
    positions and has ``value`` on its grid, and starts at that step's first multiple in the range (the browser
    counts a slider's grid from its minimum)."""
    rounds = sorted(m * 10**k for k in range(len(str(hi))) for m in (1, 2, 5) if m * 10**k > step)
    coarse = [c for c in rounds if (hi - lo) / c <= SLIDER_POSITIONS][:1]
    fits = [c for c in rounds if c <= coarse[0] and value % c == 0] if coarse else []
    if (hi - lo) / step <= SLIDER_POSITIONS or not fits:
        return lo, hi, step
    grid = max(fits)
    return -(-lo // grid) * grid, hi // grid * grid, grid


def slider_step(value: float, lo: float, step: float) -> float:
    """The control's ``step``, or a power of ten (to 6 decimals) fine enough that ``value`` lies on the slider's
    grid from ``lo``. The browser's slider moves a value off its grid to the nearest step and sends that back, so
    Reset built another market than the scenario's (trust gain 0.131 became 0.13)."""
    steps = (value - lo) / step
    if abs(steps - round(steps)) < 1e-6:
        return step
    places = max(-Decimal(repr(float(x))).as_tuple().exponent for x in (value, lo, step))
    return 10.0 ** -min(places, 6)


def finer_than_sliders(params: Params, overrides: dict) -> dict:
    """The sliders' values, each at the scenario's own value where the slider shows that value as finely as its
    grid lets it: a value finer than 6 decimals (0.1234567, a sweep's design point) lies on no slider's grid, so the
    browser sent back 0.123457 and Reset, touching nothing, built another market than the scenario's. The grid
    point nearest the scenario's value stands for it; every other position is the slider's own."""
    flat, out = params.flat(), dict(overrides)
    for control in CONTROLS:
        name, value = control.key.split(".")[1], flat[control.key]
        if control.step is None or not isinstance(value, float) or not isinstance(out.get(name), (int, float)):
            continue
        step = slider_step(value, bounds(control.key)[0], control.step)
        if abs(out[name] - value) <= step / 2:  # the slider at its nearest to the scenario's value
            out[name] = value
    return out


def scenario_files(extra: str | os.PathLike | None = None) -> list[Path]:
    """The scenario given to ``trustsim viz`` (if any), then ``scenarios/*.toml`` here and in the source tree."""
    found: dict[Path, None] = {}
    if extra:
        found[Path(extra).resolve()] = None
    folders = [Path.cwd() / "scenarios", Path(__file__).resolve().parents[2] / "scenarios"]
    if extra:
        folders.insert(0, Path(extra).resolve().parent)
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.resolve(), None)
    return list(found)


def load_choices(extra: str | os.PathLike | None = None) -> tuple[dict[str, Scenario], list[str]]:
    """Scenarios for the picker by label, and one line per file that does not load (it is left out).
    Sweep files (with a ``[sweep]`` table) describe many markets, not one: the picker leaves them out, and a file
    of a name listed already that builds the same market (a copy) is listed once; one that differs by its path."""
    choices: dict[str, Scenario] = {}
    problems: list[str] = []
    for path in scenario_files(extra):
        try:
            scenario = load_scenario(path)
        except ParamError as exc:
            problems.append(str(exc))
            continue
        if scenario.sweep is not None:
            continue
        if path.name in choices and choices[path.name].params == scenario.params:
            continue  # a copy of a scenario listed already (yours beside the repository's): the same market
        label = path.name if path.name not in choices else str(path)
        choices[label] = scenario
    if not choices:
        choices["defaults"] = load_scenario(None)
    return choices, problems


def first_choice(choices: dict[str, Scenario], extra: str | None) -> str:
    """The scenario the page opens on: the one given, else the baseline, else the first found."""
    if extra:
        wanted = Path(extra).resolve()
        for label, scenario in choices.items():
            if scenario.path and Path(scenario.path).resolve() == wanted:
                return label
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in choices else next(iter(choices))


def views(scenario_name: str) -> list:
    """The panels, in the order of the page's grid (two per row)."""
    return [
        c.network_panel, c.make_key_figures_panel(scenario_name),
        c.make_series_panel("tco"), c.cost_panel,
        c.make_series_panel("share"), c.make_series_panel("trust"),
        c.make_series_panel("nonproductive"), c.make_series_panel("ideas"),
        c.make_series_panel("terms"),
    ]


@solara.component
def MarketViz(label: str, scenario: Scenario):
    """SolaraViz on one scenario's parameters: controls, step/play/reset and the views.

    The market SolaraViz shows (its Reset replaces it) ends its run when this view goes, for another scenario
    or with the page: its Play loop, which stops only at a run's end or at Pause, stepped it on in the server
    to its last step, seen by nobody. Each control's value is a reactive variable of this view, read by the
    notice of changes Reset has not yet applied (``pending.py``), in the sidebar above Step, ▶ and Reset, and
    again above the panels while the sidebar is closed (under 960 px wide it is closed while the market is in view;
    wider, a person may close it with ☰ to give the charts the room)."""
    first = solara.use_memo(lambda: AppMarket(scenario.params, rng=scenario.params.run.seed), [label])
    model = solara.use_reactive(first)

    def end_when_gone():
        def end():
            model.value.running = False  # the loop's next step ends it (AppMarket.step does nothing then)

        return end

    solara.use_effect(end_when_gone, [])
    # each control's value as a variable of this view's (one per control, in CONTROLS' order at every render)
    inputs = {name: solara.use_reactive(spec["value"] if isinstance(spec, dict) else spec.value)
              for name, spec in model_params(scenario.params).items() if name != "params"}
    sent = model_params(scenario.params, inputs)
    steps = {n: s.step for n, s in sent.items() if isinstance(s, Slider)}
    with solara.Column(gap="0px") as view:  # no gap above the panels for the sidebar's part, which is not here
        with solara.Sidebar():
            PendingNotice(model, scenario.params, inputs, steps)
        PendingNotice(model, scenario.params, inputs, steps, on_page=True)  # shown while the sidebar is closed
        SolaraViz(model, components=views(scenario.name), model_params=sent,
                  name=f"trustsim · {scenario.name}", play_interval=151)  # on the slider's steps of 10 from 1
    return view


PICKED = solara.create_context(None)  # the page's picked scenario (a reactive label), given by Layout


@solara.component
def Layout(children=[]):  # noqa: B006 — Solara's signature for a layout
    """The page's layout: Solara's AppLayout, made anew for each scenario picked. SolaraViz puts its controls
    in the layout's sidebar, where the next scenario's controls took the place, and the state, of the last's:
    Reset then built a market of the default parameters and a random seed (its parameters were set when the
    controls first appeared), and a market left while playing left the next one's Step and ▶ disabled.

    The sidebar is open at first only on a screen 960 px wide or more, beside the panels; narrower (a tablet
    upright, a phone) it waits behind the app bar's ☰ button: open from the start, as Solara has it, it lay over
    the charts there behind a grey veil until closed. After a pick, made in the sidebar, the next layout's sidebar
    is open as the last's was (narrower, over the panels until closed): it no longer closed under the hand."""
    picked = solara.use_reactive(None)
    PICKED.provide(picked)
    # at first no sidebar_open: Vuetify's drawer then opens itself only above its mobile breakpoint (Solara's, 960 px)
    return solara.AppLayout(children=children, sidebar_open=None if picked.value is None else True
                            ).key(f"layout-{picked.value}")


@solara.component
def Page():
    """The app's page: the scenario picker in the sidebar and the live market of the scenario chosen."""
    extra = os.environ.get(SCENARIO_ENV) or None
    choices, problems = solara.use_memo(lambda: load_choices(extra), [extra])
    own = solara.use_reactive(None)
    given = solara.use_context(PICKED)
    picked = own if given is None else given  # Layout's, which outlives this page's layout; else the page's
    current = picked.value if picked.value in choices else first_choice(choices, extra)
    scenario = choices[current]
    solara.Title(f"{current} · trustsim")  # the browser's tab and a screen reader named the page "App"
    solara.Style(PAGE_CSS)
    with solara.Sidebar(), solara.Card("Scenario"):
        solara.Select("Scenario file", values=list(choices), value=current, on_value=picked.set)
        if scenario.description:
            solara.Text(scenario.description, style={"font-size": "13px"})
        for line in problems:
            solara.Warning(f"left out: {line}", dense=True)
    MarketViz(current, scenario).key(f"viz-{current}")

# --- closed pages -----------------------------------------------------------------------------------


def is_page_task_registration(entry) -> bool:
    """Whether a Solara kernel-start callback was registered by the task of one component (``use_task``).

    Solara 1.58 wraps each task in a ``Singleton``, which registers a reset callback to run at every
    later kernel start and never takes it back. For a module's task that is one callback per process;
    ``use_task`` makes a task per component, so every page's SolaraViz (its Play loop is such a task)
    adds one: a callback holding the task, the loop's function and through it the page's market, its
    network figure and its controls, about 3.5 MB a page, kept until the server stops. Such a task's
    function is defined inside the component's render (a module's task is not), and its callback does
    nothing for a later page, which makes its own task. (Solara 1.59.2 takes it back itself when the
    component goes; this then finds none.)
    """
    callback = getattr(entry, "callback", None)
    if getattr(callback, "__qualname__", "") != "Singleton.__init__.<locals>.reset":
        return False
    contents = (c.cell_contents for c in callback.__closure__ or ())
    cells = dict(zip(callback.__code__.co_freevars, contents, strict=False))
    factory = getattr(getattr(cells.get("self"), "_storage", None), "factory", None)
    if not getattr(getattr(factory, "__code__", None), "co_qualname", "").endswith(".create_task"):
        return False  # not a task's Singleton
    return "<locals>" in getattr(getattr(factory, "__wrapped__", None), "__qualname__", "")


def forget_page_tasks() -> int:
    """Take back the kernel-start callbacks of components' tasks (see :func:`is_page_task_registration`);
    their number. Run as each page's kernel closes."""
    # only the app's server process needs it

    entries = getattr(lifecycle, "_on_kernel_start_callbacks", [])
    stale = [entry for entry in list(entries) if is_page_task_registration(entry)]
    for entry in stale:
        with contextlib.suppress(ValueError):  # already gone
            entry.cleanup()  # the registration's own undo: removes it from the list
    return len(stale)


def close_page() -> None:
    """When a page's kernel closes: take back its task registrations, collect its objects, give the memory
    back."""

    forget_page_tasks()
    gc.collect()
    release_freed_memory()


def on_page_kernel():
    """Run for each page's kernel as it starts; what it returns runs when the kernel closes (culled)."""
    return close_page


solara.lab.on_kernel_start(on_page_kernel)
