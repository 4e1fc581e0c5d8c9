"""The app's views, drawn from the model's arrays and its recorded time series.

Each ``*_view(model)`` function builds what one panel shows (a Matplotlib figure, an ECharts option or an
HTML table) and is plain Python, so tests and ``benchmarks/viz.py`` call it without a browser. The
``*_panel`` components show them in SolaraViz, drawn again after every step.

The network is drawn with Matplotlib on a fixed layout (buyers on an outer ring, partners and aggressive
buyers on opposite arcs; suppliers on an inner ring), computed once per model, so nodes stay put while
relationships change. Time series and the cost breakdown are ECharts options: the browser draws them,
the server only sends their numbers. (ECharts ships with Solara's front-end assets at a pinned version,
so it works with no internet; Solara's Vega-Lite and Markdown widgets ask for files those assets lack.)
"""

from __future__ import annotations

import functools
import html
import io
import threading
import warnings
import weakref
from dataclasses import dataclass

import numpy as np
import reacton
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization.utils import update_counter

from .. import columns as registry
from ..metrics import COLUMN_NAMES, COST_PARTS, POSTURE_GROUPS, POSTURES, step_measurements
from ..style import COST_COLOURS
from ..style import POSTURE_COLOURS as COLOURS
from .controls import CONTROLS
from .downloads import settings_toml, timeseries_csv
from .echarts import BAR_TEXT, LINE_TEXT, STEP_POINTER, axis, bar_points, legend_room, line_points, step_axis_end

TRUST_CMAP = "RdYlGn"
NETWORK_MAX_RELATIONSHIPS = 4000  # above this the network view says so instead of drawing a hairball
# the charts' ground: ECharts draws titles, axes and legends in dark grey, unreadable on the dark theme that the
# app bar's button turns on; on white, as the network picture is, they read in either theme
CHART_GROUND = "#ffffff"
COST_WINDOW = 8  # the cost breakdown averages the last this many steps (single steps jump with rebids)

_layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# --- network -------------------------------------------------------------------------------------

def network_layout(model) -> tuple[np.ndarray, np.ndarray]:
    """Fixed node positions for this model: (buyer xy, supplier xy), computed once and cached.

    Buyers sit on the outer ring, partners (at the start) on the left arc and aggressive buyers on the
    right, so that posture reads at a glance; suppliers sit on an inner ring. No random draw: the
    model's generator is left untouched and the picture does not move between steps.
    """
    cached = _layouts.get(model)
    if cached is not None:
        return cached
    mk = model.market
    order = np.argsort(~mk.is_partner, kind="stable")  # partners first, then aggressive
    angle_b = np.empty(mk.n_buyers)
    angle_b[order] = np.pi / 2 + 2 * np.pi * (np.arange(mk.n_buyers) + 0.5) / mk.n_buyers
    buyers = np.column_stack([np.cos(angle_b), np.sin(angle_b)])
    angle_s = np.pi / 2 + 2 * np.pi * (np.arange(mk.n_suppliers) + 0.5) / mk.n_suppliers
    suppliers = 0.45 * np.column_stack([np.cos(angle_s), np.sin(angle_s)])
    _layouts[model] = (buyers, suppliers)
    return buyers, suppliers


def marker_scale(n: int, room_for: int) -> float:
    """The factor of a marker's area on a ring of ``n`` markers, ``room_for`` of which fit at full size: beyond, the
    square of the spacing's share (at the app's largest market the markers ran together into solid rings)."""
    return min(1.0, (room_for / max(n, 1)) ** 2)


class NetworkFigure:
    """The network figure of one model, drawn once and then updated in place each step: re-using the figure (its
    axes, legend and colour bar) rather than building a new one keeps a redraw to the cost of rasterising it."""

    def __init__(self, model):
        mk = model.market
        self.fig = Figure(figsize=(5.0, 3.9), dpi=96)
        self.fig.subplots_adjust(left=0.0, right=0.86, bottom=0.08, top=0.93)
        ax = self.ax = self.fig.add_subplot()
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        self.title = ax.set_title("", fontsize=10)
        self.drawn = mk.n_rel <= NETWORK_MAX_RELATIONSHIPS
        if not self.drawn:
            ax.text(0.5, 0.5, f"{mk.n_rel:,} relationships: too many to draw.\nThe charts still follow the market.",
                    ha="center", va="center", transform=ax.transAxes, fontsize=10)
            return
        self.buyer_xy, self.supplier_xy = network_layout(model)
        self.edges = LineCollection([], cmap=TRUST_CMAP, linewidths=1.2, alpha=0.85, zorder=1)
        self.edges.set_clim(0.0, 1.0)
        ax.add_collection(self.edges)
        self.buyer_scale, self.supplier_scale = marker_scale(mk.n_buyers, 120), marker_scale(mk.n_suppliers, 26)
        self.buyers = ax.scatter(self.buyer_xy[:, 0], self.buyer_xy[:, 1], s=28 * self.buyer_scale,
                                 edgecolors="white", linewidths=0.5 * self.buyer_scale ** 0.5, zorder=2)
        self.suppliers = ax.scatter(self.supplier_xy[:, 0], self.supplier_xy[:, 1], marker="s", c="#333333",
                                    edgecolors="white", linewidths=0.5 * self.supplier_scale ** 0.5, zorder=3)
        handles = [Line2D([], [], ls="", marker="o", color=COLOURS["partner"], label="partner buyer"),
                   Line2D([], [], ls="", marker="o", color=COLOURS["aggressive"], label="aggressive buyer"),
                   Line2D([], [], ls="", marker="s", color="#333333", label="supplier (size: health)"),
                   Line2D([], [], ls="-", color="#777777", label="partner terms"),
                   Line2D([], [], ls="--", color="#777777", label="market terms")]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncols=3, fontsize=7,
                  frameon=False, handletextpad=0.2, columnspacing=1.0)
        cax = self.fig.add_axes((0.86, 0.15, 0.025, 0.6))
        cbar = self.fig.colorbar(self.edges, cax=cax)
        cbar.set_label("buyer's trust in supplier", fontsize=8)
        cbar.ax.tick_params(labelsize=7)

    def update(self, model) -> Figure:
        """Redraw for the model's current state: edges and their trust and terms, postures, suppliers' health."""
        mk = model.market
        self.title.set_text(f"Relationships at step {model.steps}")
        if self.drawn:
            rows = np.flatnonzero(~mk.vacant)
            ends = [self.buyer_xy[mk.buyer_of[rows]], self.supplier_xy[mk.sup[rows]]]
            self.edges.set_segments(np.stack(ends, axis=1))
            self.edges.set_array(mk.trust_b[rows])
            self.edges.set_linestyles(np.where(mk.partner_terms[rows], "solid", "dashed").tolist())
            self.buyers.set_facecolors(np.where(mk.is_partner, COLOURS["partner"], COLOURS["aggressive"]))
            self.suppliers.set_sizes((15 + 110 * mk.supplier_health()) * self.supplier_scale)
        return self.fig


_figures: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def network_view(model) -> Figure:
    """The relationship network now: buyers by posture, suppliers sized by financial health, edges by trust."""
    drawing = _figures.get(model)
    if drawing is None:
        drawing = _figures[model] = NetworkFigure(model)
    return drawing.update(model)


def network_png(model) -> bytes:
    """The network view as PNG bytes (one model's figure is drawn by one thread at a time)."""
    with _lock:
        return figure_png(network_view(model))


def figure_png(fig: Figure) -> bytes:
    """A figure as PNG bytes (what the browser receives)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# --- time series and cost breakdown --------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    """A time series panel: which columns it draws for which groups. Its title, line names and y-axis come
    from the columns' declarations (``trustsim/columns.py``): the title is the column's short name (or
    ``title`` for a panel of several columns, whose lines are then named by column and dashed in turn)."""

    columns: tuple[str, ...]
    groups: tuple[str, ...] = POSTURE_GROUPS
    from_zero: bool = True  # the y axis starts at 0 (else it fits the data)
    title: str = ""


SERIES = {  # panel key -> chart; the key names the panel in views() (trustsim/viz/app.py)
    "tco": Chart(("tco_per_unit",), from_zero=False),
    "share": Chart(("market_share",), POSTURE_GROUPS[:2]),  # the whole market's share is always 1
    "trust": Chart(("trust_buyer", "trust_supplier"), POSTURE_GROUPS[:2], title="Trust both ways"),
    "nonproductive": Chart(("nonproductive_share",)),
    "ideas": Chart(("ideas_received_cum",)),
    "terms": Chart(("partner_terms_share",), title="Share of relationships on partner terms"),
}
DASHES, SYMBOLS = ("solid", "dashed", "dotted"), ("circle", "triangle", "rect")  # a legend shows symbols, not dashes


def series_view(model, key: str) -> dict:
    """One time series panel (``key`` in SERIES) as an ECharts option: a line per posture (and column)."""
    chart = SERIES[key]
    declared = [registry.BY_NAME[c] for c in chart.columns]
    title = chart.title or declared[0].title[:1].upper() + declared[0].title[1:]
    y_name = " · ".join(dict.fromkeys(c.unit_text for c in declared))
    rows = model.recorder.rows
    steps = np.arange(1, len(rows) + 1)
    series = []
    for column, dash, symbol in zip(declared, DASHES, SYMBOLS, strict=False):
        label = column.title if len(declared) > 1 else ""
        values = rows[:, :, COLUMN_NAMES.index(column.name)]
        for group in chart.groups:
            series.append({
                # one step is one point, which a line without symbols does not draw: the charts looked empty
                "name": f"{group} · {label}" if label else group, "type": "line", "showSymbol": len(rows) == 1,
                "symbol": symbol,
                "data": line_points(steps, values[:, POSTURE_GROUPS.index(group)], column.number_format),
                **LINE_TEXT,
                "lineStyle": {"color": COLOURS[group], "type": dash, "width": 1.2 if group == "all" else 1.8},
                "itemStyle": {"color": COLOURS[group]},
            })
    return {
        "animation": False, "backgroundColor": CHART_GROUND,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "itemWidth": 18},
        # a panel of several columns names its lines long ("partner · buyers' trust in their suppliers"): a legend row
        # each, below the x axis's name, rather than rows drawn over it
        "grid": {"left": 70, "right": 18, "top": 36, "bottom": 62 + 23 * (len(series) - 1 if len(declared) > 1 else 0)},
        "xAxis": axis("step (quarter)", min=0, max=step_axis_end(len(rows), model.params.run.steps), nameGap=24,
                      **STEP_POINTER),
        "yAxis": axis(y_name, scale=not chart.from_zero),
        "series": series,
    }


def cost_breakdown(model) -> dict[str, list[float]]:
    """Cost of ownership per unit by part, ``{part: [partner, aggressive]}``, mean of the last COST_WINDOW steps
    in which the posture had buyers (NaN if it had none in any: no bar). A step without them measures NaN, which
    emptied the whole chart, both bars, when learning buyers changed posture in a small market."""
    rows = model.recorder.rows[-COST_WINDOW:]
    if not len(rows):
        return {part: [0.0, 0.0] for part in COST_PARTS}
    with warnings.catch_warnings():  # a posture without buyers in any of the steps: "Mean of empty slice", NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return {part: [float(np.nanmean(rows[:, g, COLUMN_NAMES.index(f"cost_{part}")])) for g in (0, 1)]
                for part in COST_PARTS}


def cost_view(model) -> dict:
    """The cost of ownership per unit as stacked bars, one bar per posture (an ECharts option)."""
    n = min(COST_WINDOW, model.recorder.n)
    # the window on a line of its own: ECharts does not wrap a title, and one line was cut off on narrow screens
    window = "after the first step" if n == 0 else f"mean of the last {n} steps" if n > 1 else "this step"
    # (named apart from the time series of the cost of ownership per unit, whose title is the column's)
    parts = cost_breakdown(model)
    return {
        "animation": False, "backgroundColor": CHART_GROUND,
        "title": {"text": "Cost of ownership by part", "subtext": f"per unit, {window}", "left": "center", "itemGap": 6,
                  "textStyle": {"fontSize": 13, "lineHeight": 16}, "subtextStyle": {"fontSize": 11, "lineHeight": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0, "itemWidth": 14},
        "media": legend_room(grid_bottom=92),  # in a narrow chart all eight names, in rows under the axis's name
        "grid": {"left": 80, "right": 24, "top": 52, "bottom": 92},
        "xAxis": axis(registry.BY_NAME["tco_per_unit"].unit_text, nameGap=24),  # as the cost-over-time chart says
        "yAxis": {"type": "category", "data": list(POSTURE_GROUPS[:2]), "inverse": True},
        "series": [{"name": (c := registry.BY_NAME[f"cost_{part}"]).title, "type": "bar", "stack": "cost",
                    "barWidth": "45%", "itemStyle": {"color": COST_COLOURS[part]},
                    "data": bar_points(np.array(parts[part]), POSTURES, c.number_format), **BAR_TEXT}
                   for part in COST_PARTS],
    }


# --- key figures ---------------------------------------------------------------------------------

def key_figure_columns() -> tuple:
    """The key figures table's rows: the group's size, then the registry's key figures (``key_figure=True``)."""
    return (registry.BY_NAME["buyers"], *(registry.BY_NAME[name] for name in registry.KEY_FIGURES))


def event_columns() -> tuple:
    """The step's events under the table: the registry's counts other than the group's size."""
    return tuple(registry.BY_NAME[name] for name in registry.COUNT_COLUMNS if name != "buyers")


def key_figures(model) -> dict:
    """This step's key figures: ``{"step", "steps", "running", "rows": [(label, partner, aggressive, all, unit,
    meaning)], "events", "settings"}``.

    Before the first step nothing is recorded yet; the table then shows the market as it starts (the
    measurements of its state now: its buyers, trust and shares), with "–" for what only a step brings.
    """
    # the last recorded step, else measurements of the state now (the one market's: markets, groups, columns)
    latest = model.recorder.rows[-1] if model.recorder.n else step_measurements(model)[0]
    rows = []
    for c in key_figure_columns():
        values = latest[:, COLUMN_NAMES.index(c.name)]
        cells = [c.format(x) if model.recorder.n or c.count or x != 0 else "–" for x in values]
        rows.append((c.title, *cells, "" if c.unit_text == c.title else c.unit_text, c.meaning))
    events = {c.title: int(latest[POSTURE_GROUPS.index("all"), COLUMN_NAMES.index(c.name)]) for c in event_columns()}
    flat = model.params.flat()
    settings = {c.short: flat[c.key] for c in CONTROLS}
    return {"step": model.steps, "steps": model.params.run.steps, "running": model.running, "rows": rows,
            "events": events, "settings": settings}


def key_figures_html(model, scenario_name: str) -> str:
    """The key figures as HTML: a status line, a table by posture, this step's events and the market's settings."""
    k = key_figures(model)
    notice = getattr(model, "notice", None)
    status = "running" if k["running"] else "finished"
    if not k["running"] and not notice:  # Mesa's ▶ then shows ❚❚, greyed: say what to do
        status += " · Reset builds a new market"
    if k["step"] == 0:
        status += " · press Step or ▶"
    head = (f'<p style="margin:0 0 4px;font-size:14px"><b class="trustsim-step">Step {k["step"]} of {k["steps"]}</b> · '
            f'{html.escape(scenario_name)} · seed {model.params.run.seed} · {status}</p>')
    if notice:
        head += (f'<p class="trustsim-notice" style="margin:0 0 4px;font-size:13px;color:#b00020">'
                 f'{html.escape(notice)}</p>')
    # each figure's unit beside its name, where the name does not already say it: four columns fit a panel a
    # quarter of a 1 024-pixel screen wide, with nothing to scroll sideways
    cells = "".join(f'<tr><td title="{html.escape(meaning)}">{html.escape(label)}{_unit_beside(label, unit)}</td>'
                    f'<td>{p}</td><td>{a}</td><td>{t}</td></tr>' for label, p, a, t, unit, meaning in k["rows"])
    when = "this step" if k["step"] else "at the start"
    # the status line and the columns' names: one header, which stays at the top of the panel (app.PAGE_CSS)
    table = (f'<table class="trustsim-figures"><thead class="trustsim-status"><tr><th colspan="4">{head}</th></tr>'
             f'<tr><th style="text-align:left">{when}</th><th>partner</th><th>aggressive</th><th>all</th></tr>'
             f'</thead><tbody>{cells}</tbody></table>')
    if k["step"]:
        # each count after its name, so that a count of 1 reads right: "complaints 1", not "1 complaints"
        events = "This step: " + ", ".join(f"{name} {v:,}" for name, v in k["events"].items()) + "."
    else:
        events = "No step yet: – marks what the first step brings."
    # numbers as the table writes them: a large market's "buyers 100,000", as its money
    settings = " · ".join(f"{name} {value:g}" if isinstance(value, float) else
                          f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
                          for name, value in k["settings"].items())
    return (f'{table}<p style="margin:4px 0 0;font-size:12px">{events}</p>'
            f'<p class="trustsim-settings" style="margin:2px 0 0;font-size:12px;color:#666">This market: '
            f'{html.escape(settings)}.</p>')


def _unit_beside(label: str, unit: str) -> str:
    """A figure's unit after its name, small, unless the name says it already ("market share" in shares)."""
    if not unit or set(unit.split()) <= set(label.split()):
        return ""
    return f' <span class="unit">{html.escape(unit)}</span>'



# --- SolaraViz panels ----------------------------------------------------------------------------
# Each panel is a Solara component of the model, made once (per series, per scenario name): SolaraViz then
# keeps a panel's widget from one render of its grid to the next, and the browser keeps the chart drawn in
# it. (SolaraViz wraps a plain function in a component of its own anew at every render of the grid, and it
# renders the grid again as soon as the browser reports its layout: every chart was made twice on a page
# load, and the first ones, still loading ECharts, failed with "Initialize failed: invalid dom".)
# Reading Mesa's update counter redraws a panel after every step, as SolaraViz's own panels do.

CHART_STYLE = {"style": "height: 360px; width: 100%;"}


def _named(name: str, render):
    """``render`` as a component named ``name`` (reacton's decorator, which ``solara.component`` wraps with a
    check of hook use that cannot read the source of a function defined inside another; these use no hook)."""
    render.__name__ = render.__qualname__ = name
    return reacton.component(render)


def _network_panel(model):
    update_counter.get()
    return solara.Image(network_png(model), format="png", width="100%", classes=["trustsim-network"])


network_panel = _named("NetworkPanel", _network_panel)


@functools.cache
def make_series_panel(key: str):
    """The panel of the time series ``key`` (in SERIES): one component per key, however often it is asked for."""
    def series_panel(model):
        update_counter.get()
        return solara.FigureEcharts(option=series_view(model, key), attributes=CHART_STYLE, responsive=True)

    return _named(f"SeriesPanel_{key}", series_panel)


def _cost_panel(model):
    update_counter.get()
    return solara.FigureEcharts(option=cost_view(model), attributes=CHART_STYLE, responsive=True)


cost_panel = _named("CostPanel", _cost_panel)


@functools.lru_cache(maxsize=256)  # one per scenario name: a server offers a folder's scenarios
def make_key_figures_panel(scenario_name: str):
    """The key figures panel of a scenario: one component per scenario name."""
    def key_figures_panel(model):
        update_counter.get()
        # its cell in SolaraViz's grid is as high as a chart's: what does not fit scrolls in it, rather than
        # running on under the chart below it, which hid the download button on a 1366 × 768 screen
        with solara.Column(style={"padding": "0 12px", "height": "100%", "overflow-y": "auto"}, gap="4px") as column:
            solara.HTML(tag="div", unsafe_innerHTML=key_figures_html(model, scenario_name),
                        style="background-color: inherit")  # the ground its sticky status line takes
            name = f"{scenario_name}-seed{model.params.run.seed}"  # the settings beside the series they made
            with solara.Div(classes=["trustsim-download"]):  # its label wraps in a narrow panel (app.PAGE_CSS)
                solara.FileDownload(lambda: timeseries_csv(model), filename=f"{name}-step{model.steps}.csv",
                                    label="Download the time series (CSV)", mime_type="text/csv")
                solara.FileDownload(lambda: settings_toml(model, scenario_name), filename=f"{name}.toml",
                                    label="its settings (TOML)", mime_type="application/toml")
        return column

    return _named("KeyFiguresPanel", key_figures_panel)
