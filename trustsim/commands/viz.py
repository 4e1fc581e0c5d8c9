"""``trustsim viz [SCENARIO]``: explore a market in the browser (the server is ``trustsim.viz.app``)."""

from __future__ import annotations

from .argtypes import pathname, port

NAME = "viz"
HELP = "explore a market in the browser"


def arguments(p) -> None:
    """The arguments of ``trustsim viz``."""
    p.add_argument("scenario", nargs="?", type=pathname("scenario", "a scenario TOML file"),
                   help="scenario TOML file (default: the baseline)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=port, help="port (default: a free one)")


def handle(args) -> int:
    """Serve the browser app on this machine until interrupted (``viz.serve``)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..viz.serve import serve

    return serve(args)
