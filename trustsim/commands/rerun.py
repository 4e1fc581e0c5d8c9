"""``trustsim rerun MANIFEST``: make a result again from its manifest and say whether it is the same."""

from __future__ import annotations

import sys
from datetime import UTC

from .argtypes import folder, pathname, workers

NAME = "rerun"
HELP = "make a result again from its manifest.json and compare it with the original"


def arguments(p) -> None:
    """The arguments of ``trustsim rerun``."""
    p.add_argument("manifest", type=pathname("manifest", "a results folder or its manifest.json"),
                   help="a run's or a replications' manifest.json (or the folder holding it)")
    p.add_argument("--out", type=folder, help="results folder (default: the manifest's folder with -rerun appended)")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files (its contents are lost)")
    p.add_argument("--workers", type=workers,
                   help="replications only: worker processes (default: all cores; one run uses one core)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def handle(args) -> int:
    """Exit 0 when every table is byte-identical to the original's (or equal to within 1e-9 relative, 1e-12
    absolute for figures near 0, as on another machine: ``reproduce.RELATIVE_TOLERANCE`` and ``ABSOLUTE_FLOOR``),
    1 when one differs or one of the original's does not lie beside the manifest (not verified), 2 on a manifest
    it cannot use (nothing written)."""
    # here, not at the top: `trustsim --help` imports this module
    import time
    from datetime import datetime
    from pathlib import Path

    from ..errors import safe_text
    from ..reproduce import TABLES, compare_file, remade_scenario, version_notes
    from ..results import check_target, scenario_files

    info, folder, source, scenario = remade_scenario(args.manifest, args.workers)
    kind = info["kind"]
    changed = version_notes(info)
    out = Path(args.out) if args.out else folder.resolve().parent / f"{folder.resolve().name}-rerun"
    protect = [folder, *(p for p in scenario_files(scenario) if Path(p).exists())]  # never written into
    check_target(out, args.force, kind=kind, protect=protect)  # before the notes: a refusal is one line
    for line in changed:
        print(f"trustsim: note: {line}", file=sys.stderr)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    if kind == "run":
        # here, not at the top: `trustsim --help` imports this module
        from ..model import TrustMarket
        from ..results import write_run

        model = TrustMarket(scenario.params, rng=scenario.params.run.seed).run()
        write_run(model, scenario, out, started=started, wall_seconds=time.perf_counter() - t0, force=args.force,
                  protect=protect)
    else:
        # here, not at the top: `trustsim --help` imports this module
        from ..experiments.replicate import replicate, write_replications

        rep = replicate(scenario, info["replications"], root=info["root_seed"], workers=args.workers,
                        quiet=args.quiet)
        write_replications(rep, out, args.force, protect=protect)
    print(f"{safe_text(scenario.name)}: {kind} made again from {safe_text(source, 400)} in "
          f"{time.perf_counter() - t0:.1f} s → {safe_text(out, 400)}/")
    worst, missing = "identical", []
    for name in TABLES[kind]:
        verdict, gap = compare_file(out / name, folder / name)
        text = {"identical": "byte-identical to the original",
                "close": f"equal to the original within {gap:.1e} relative (floating-point summation order)",
                "differs": "DIFFERS from the original" + (f" (largest relative difference {gap:.2e})"
                                                          if gap != float("inf") else ""),
                "missing": "no original beside the manifest to compare with"}[verdict]
        print(f"  {name}: {text}")
        if verdict == "missing":
            missing.append(name)
        if verdict == "differs" or (verdict == "close" and worst == "identical"):
            worst = verdict
    if worst == "differs":
        why = ("trustsim's code or its libraries changed since the original was made" if changed else
               "the code and versions are those the manifest records, so the original or its manifest was edited"
               if "trustsim_code" in info else
               "the versions are those the manifest records (it predates the code's digest), so the original or "
               "its manifest was edited, or made by a trustsim that changed without a new version")
        print(f"not reproduced: {why}", file=sys.stderr)
        return 1
    if len(missing) == len(TABLES[kind]):  # a result made again, but nothing it could be checked against
        print(f"not verified: none of the original's tables ({', '.join(TABLES[kind])}) lies beside "
              f"{safe_text(source, 400)}, so nothing was compared", file=sys.stderr)
        return 1
    if missing:  # the others matched, but these were not checked
        print(f"not verified: {', '.join(missing)}: no original beside {safe_text(source, 400)} to compare "
              f"with (the other tables match)", file=sys.stderr)
        return 1
    return 0
