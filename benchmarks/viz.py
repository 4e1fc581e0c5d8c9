"""How long the browser app takes for one step plus redraw, without a browser.

Renders the app's page in this process with Solara (the same widgets the server sends to a browser),
presses its Step button and times each press: the model's step, every view rebuilt (network PNG,
chart options, key figures) and the widget updates. Also times the parts on their own. Prints
milliseconds, median over the steps; the target is at most 250 ms at the default market size (exit status 1
when the median misses it).

    python benchmarks/viz.py [--steps 40] [--scenario scenarios/baseline.toml]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40, help="steps to time (at least 20)")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    args = ap.parse_args(argv)
    steps = max(args.steps, 20)
    from trustsim.errors import ParamError
    from trustsim.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ParamError as e:  # no such file, or one the model refuses: before the app is rendered
        ap.error(str(e))
    os.environ["TRUSTSIM_VIZ_SCENARIO"] = str(Path(args.scenario).resolve())

    import ipyvuetify as v
    import solara

    from trustsim.model import TrustMarket
    from trustsim.viz import app, components

    with contextlib.redirect_stdout(io.StringIO()):  # Solara echoes the app bar when rendered outside a server
        rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)[1]
        step_button = rc.find(v.Btn, children=["Step"]).widget
        step_button.click()  # the first press builds the figures once
        page = timed(step_button.click, steps)
        rc.close()

    model = TrustMarket(scenario.params, rng=scenario.params.run.seed)
    model.step()
    parts = {
        "model step": timed(model.step, steps),
        "network PNG": timed(lambda: components.network_png(model), steps),
        "5 time series + cost options": timed(
            lambda: [components.series_view(model, k) for k in components.SERIES] + [components.cost_view(model)],
            steps),
        "key figures": timed(lambda: components.key_figures_html(model, scenario.name), steps),
    }
    p = scenario.params.market
    print(f"scenario {scenario.name}: {p.buyers} buyers, {p.suppliers} suppliers; {steps} steps; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print("step + redraw of the whole page (Step pressed, in-process render): "
          f"median {statistics.median(page):.0f} ms, "
          f"max {max(page):.0f} ms  (target <= 250 ms)")
    for name, values in parts.items():
        print(f"  {name:<30} median {statistics.median(values):7.2f} ms")
    return 0 if statistics.median(page) <= 250 else 1


if __name__ == "__main__":
    sys.exit(main())
