"""``trustsim check SCENARIO``: validate a scenario file and show what it resolves to."""

from __future__ import annotations

NAME = "check"
HELP = "validate a scenario file and show what it resolves to"


def arguments(p) -> None:
    p.add_argument("scenario")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.NAME=VALUE")


def handle(args) -> int:
    from ..params import Params, load_scenario, safe_text

    scenario = load_scenario(args.scenario, args.set)
    print(f"{safe_text(args.scenario, 400)}: valid")
    if len(scenario.chain) > 1:
        print("extends: " + " -> ".join(safe_text(p, 400) for p in scenario.chain))
    defaults = Params().flat()
    changed = [(k, v) for k, v in scenario.params.flat().items() if v != defaults[k]]
    if changed:
        print("differs from the defaults:")
        for k, v in changed:
            print(f"  {k} = {v!r}  (default {defaults[k]!r})")
    else:
        print("every parameter at its default")
    if scenario.sweep is not None:
        print(f"[sweep] table present ({', '.join(sorted(scenario.sweep))}); check it with 'trustsim sweep'")
    return 0
