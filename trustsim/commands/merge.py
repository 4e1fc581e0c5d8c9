"""``trustsim merge DIR… --out DIR``: merge the folders of sweep shards into one."""

from __future__ import annotations

from .argtypes import folder, pathname

NAME = "merge"
HELP = "merge the folders of sweep shards into one"


def arguments(p) -> None:
    """The arguments of ``trustsim merge``."""
    p.add_argument("dirs", nargs="+", metavar="DIR", type=pathname("DIR", "a sweep shard's folder"))
    p.add_argument("--out", type=folder, required=True, help="merged results folder")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files, an unfinished sweep or another finished sweep "
                        "(its contents are lost)")


def handle(args) -> int:
    """Merge a sweep's shard folders into one results folder; exit 0, or 1 when some of the sweep's runs failed
    (told as ``sweep`` tells them)."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import safe_text
    from ..experiments import JOURNAL, merge, read_journal
    from ..experiments.progress import tell_failures
    from ..locks import put_back_to_read

    for shard in args.dirs:  # a shard a restart killed at once (sweep --force) left moved aside
        put_back_to_read(shard)
    out = merge(args.dirs, args.out, force=args.force)
    where = f"{safe_text(out, 400)}/"
    print(f"merged {len(args.dirs)} shards → {where}")
    runs = read_journal(out / JOURNAL)
    failed = [i for i, e in sorted(runs.items()) if e["row"].get("status") != "ok"]
    return tell_failures(failed, len(runs), where, "--resume in their shards runs them again")
