"""What the controls hold that the market shown was not built with.

Mesa's SolaraViz applies a control only at Reset: a slider moved, a seed typed or a choice made left the old
market on the page, and nothing said so. The page gives each control its value as a reactive variable of its own
(``model_params(params, inputs)``; Solara's inputs take one, and Mesa hands the control's value to them as it is),
so the page can read what every control holds; :func:`PendingNotice` names each control whose value differs
from the market shown, with both values, until Reset builds a market with them.
"""

from __future__ import annotations

from typing import Any

import solara

from ..errors import ParamError
from ..model import as_seed
from ..params import Params, bounds
from .controls import CONTROLS


def box_seed(text: Any, fallback: int) -> tuple[Any, str | None]:
    """The seed Reset builds a market with from the seed box's ``text``, and why the box's own was set aside (None
    when it was not): the integer it holds, else the scenario's seed ``fallback`` where it holds no integer or one
    outside the seeds' range (``AppMarket`` builds with it, and the notice compares it)."""
    lo, hi = bounds("run.seed")
    try:
        seed = as_seed(text)
    except ParamError:
        return fallback, "is not an integer"
    if isinstance(seed, int) and not lo <= seed <= hi:
        return fallback, f"is outside the seeds' range {lo} … {hi}"
    return seed, None


def shown(value: Any) -> str:
    """A control's value as the notice writes it: a fraction to 6 significant digits (a slider's value can come
    back from the browser as 0.6000000000000001), anything else as it is."""
    return format(value, ".6g") if isinstance(value, float) else str(value)


def pending_changes(market: Params, scenario: Params, values: dict[str, Any], steps: dict[str, float]) -> list[str]:
    """``"label old → new"`` for each control whose value (``values``, by the model's name for it) Reset would build
    another market with than ``market``, the parameters of the market shown. A slider within half its step
    (``steps``) of the market's value stands for it: the browser snaps a value finer than the slider's grid to the
    grid, and Reset builds the scenario's value from it (``finer_than_sliders``)."""
    flat, out = market.flat(), []
    seed, why = box_seed(values["rng"], scenario.run.seed) if "rng" in values else (None, None)
    if seed is not None and seed != market.run.seed:  # text that is no seed: say why Reset takes the scenario's
        text = values["rng"]
        said = "the box is empty" if isinstance(text, str) and not text.strip() else f"{str(text)[:40]!r} {why}"
        out.append(f"Seed {market.run.seed} → {seed}" + (f" (the scenario's: {said})" if why else ""))
    for control in CONTROLS:
        name = control.key.split(".")[1]
        if name not in values:
            continue
        old, new = flat[control.key], values[name]
        if isinstance(new, (int, float)) and not isinstance(new, bool) and name in steps:
            same = abs(new - old) <= steps[name] / 2
        else:
            same = new == old
        if not same:
            out.append(f"{control.label} {shown(old)} → {shown(new)}")
    return out


def notice_text(changes: list[str], on_page: bool = False) -> str:
    """The notice's words for ``changes``: the sidebar's ends with what Reset does; the copy on the page (``on_page``),
    shown while the sidebar is closed behind the app bar's ☰ button, says where Reset is."""
    then = "Open ☰ and press Reset to build a market with them." if on_page else "Reset builds a market with them."
    return f"Changed, not yet applied: {', '.join(changes)}. {then}"


@solara.component
def PendingNotice(model: solara.Reactive, scenario: Params, inputs: dict[str, solara.Reactive],
                  steps: dict[str, float], on_page: bool = False):
    """The notice of controls changed since the market shown was built, in the sidebar above Step, ▶ and Reset;
    nothing when there are none. It reads the controls' reactive variables and the page's market, so it follows
    every move of a control and every Reset, and nothing else on the page is drawn again for them.

    ``on_page``: the copy above the panels, for while the sidebar is closed behind the app bar's ☰ button (under
    960 px it waits closed; wider, a person may close it): the page's CSS hides it while the sidebar is open."""
    values = {name: reactive.value for name, reactive in inputs.items()}
    changes = pending_changes(model.value.params, scenario, values, steps)
    if changes:
        where = "trustsim-pending-page" if on_page else "trustsim-pending"
        # ma-2: the cards' margin; a polite status, not Vuetify's alert, which a screen reader read out again at
        # every key press on a slider, over the slider's own value
        solara.Warning(notice_text(changes, on_page), dense=True, classes=[where, "ma-2"],
                       attributes={"role": "status"})
