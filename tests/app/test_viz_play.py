"""The browser app's Play loop and scenario picker in-process: Pause and Reset stop the loop, whenever in its
interval they are pressed; a scenario picked gets controls of its own.

SolaraViz's Play loop sleeps "Play Interval" ms and then steps the page's market. These tests hold the loop in
that sleep (Mesa's own loop, its ``time.sleep`` replaced by one that waits for the test), press a button of the
page and then let the loop wake, so what happens at that moment happens every time rather than now and then.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from types import SimpleNamespace

import ipyvuetify as v
import mesa.visualization.solara_viz as solara_viz
import pytest
import solara
from conftest import ROOT
from solara.widgets import HTML

from trustsim.viz import app


class HeldSleep:
    """A ``time.sleep`` that tells when the Play loop has begun its sleep and returns when the test lets it."""

    def __init__(self):
        self.sleeping, self.woken = threading.Event(), threading.Event()

    def sleep(self, seconds):
        self.sleeping.set()
        assert self.woken.wait(20), "the test never let the Play loop wake"


@pytest.fixture
def held(monkeypatch):
    held = HeldSleep()
    monkeypatch.setattr(solara_viz, "time", SimpleNamespace(sleep=held.sleep))
    monkeypatch.delenv(app.SCENARIO_ENV, raising=False)
    monkeypatch.chdir(ROOT)
    earlier = {id(m) for m in gc.get_objects() if isinstance(m, app.AppMarket)}  # other tests' markets
    _, rc = solara.render(app.Layout(children=[app.Page()]), handle_error=False)  # the page as the server serves it
    threads = set(threading.enumerate())
    (market,) = [m for m in gc.get_objects() if isinstance(m, app.AppMarket) and id(m) not in earlier]
    yield SimpleNamespace(rc=rc, sleep=held, threads=threads, market=market)
    held.woken.set()
    with contextlib.suppress(Exception):  # a test may have closed it
        rc.close()


def press(rc, label):
    rc.find(v.Btn, children=[label]).widget.click()


def step_html(rc) -> str:
    """The key figures panel's HTML."""
    (found,) = [w.unsafe_innerHTML for w in rc.find(HTML).widgets if "trustsim-step" in (w.unsafe_innerHTML or "")]
    return found


def step_shown(rc) -> int:
    return int(step_html(rc).split("Step ", 1)[1].split(" of", 1)[0])


def wake_and_wait(held, timeout=20.0):
    """Let the held Play loop wake, and wait (up to ``timeout`` s) for the threads the page started to end."""
    held.sleep.woken.set()
    for thread in set(threading.enumerate()) - held.threads:
        thread.join(timeout)


@pytest.mark.parametrize("stop", ["Reset", "❚❚"])
def test_pause_or_reset_during_play_leaves_the_market_unstepped(held, stop):
    """Reset pressed while Play waited out its interval built the new market and then the loop stepped it:
    the page showed "Step 1 of 1200" (or the Render Interval's steps) for a market Reset had just built.
    Pause pressed then took the market one step past where it was paused."""
    rc = held.rc
    press(rc, "Step")
    assert step_shown(rc) == 1
    press(rc, "▶")
    assert held.sleep.sleeping.wait(20), "Play did not start its loop"
    press(rc, stop)
    wake_and_wait(held)
    expected = 0 if stop == "Reset" else 1
    assert step_shown(rc) == expected
    press(rc, "Step")  # the page still steps as asked, one step at a press
    assert step_shown(rc) == expected + 1


@pytest.mark.parametrize("leave", ["switch scenario", "close page"])
def test_a_market_left_while_playing_stops_playing(held, leave):
    """A market played and then left, for another scenario or by closing the page, went on being stepped
    to its last step by its Play loop in the server, seen by nobody (a large market kept a core busy)."""
    rc = held.rc
    played = held.market
    press(rc, "Step")
    press(rc, "▶")
    assert held.sleep.sleeping.wait(20), "Play did not start its loop"
    if leave == "switch scenario":
        rc.find(v.Select, label="Scenario file").widget.v_model = "partners_only.toml"
        assert "partners_only" in step_html(rc)
    else:
        rc.close()
    wake_and_wait(held, timeout=5)
    assert played.steps <= 2, f"the market left went on to step {played.steps}"
    assert not [t for t in set(threading.enumerate()) - held.threads if t.is_alive()], "the Play loop runs on"


def test_a_scenario_picked_gets_its_own_controls(held):
    """SolaraViz's controls sit in the layout's sidebar, where the next scenario's took the place and the state
    of the last's: Reset after picking a scenario built a market of the default parameters and a random seed
    (partner share 0.5 for partners_only), and a scenario picked while another played had Step and ▶ disabled."""
    rc = held.rc
    press(rc, "▶")
    assert held.sleep.sleeping.wait(20), "Play did not start its loop"
    rc.find(v.Select, label="Scenario file").widget.v_model = "partners_only.toml"
    wake_and_wait(held)
    assert "partners_only" in step_html(rc)
    buttons = {w.children[0]: w.disabled for w in rc.find(v.Btn).widgets if w.children[0] in ("Step", "▶", "❚❚")}
    assert buttons == {"Step": False, "▶": False}
    press(rc, "Reset")
    assert "seed 0" in step_html(rc) and "partner share 1 " in step_html(rc)
    rc.find(v.Slider, label="Buyers").widget.v_model = 30
    press(rc, "Reset")
    shown = step_html(rc)
    assert "seed 0" in shown and "buyers 30 " in shown and "partner share 1 " in shown
    press(rc, "Step")
    assert step_shown(rc) == 1
