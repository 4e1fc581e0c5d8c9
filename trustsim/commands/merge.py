"""``trustsim merge DIR… --out DIR``: merge the folders of sweep shards into one."""

from __future__ import annotations

from .argtypes import folder

NAME = "merge"
HELP = "merge the folders of sweep shards into one"


def arguments(p) -> None:
    """The arguments of ``trustsim merge``."""
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--out", type=folder, required=True, help="merged results folder")
    p.add_argument("--force", action="store_true",
                   help="replace an --out folder that holds other files or an unfinished sweep (its contents are lost)")


def handle(args) -> int:
    """Merge a sweep's shard folders into one results folder; exit 0."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import safe_text
    from ..experiments import merge

    out = merge(args.dirs, args.out, force=args.force)
    print(f"merged {len(args.dirs)} shards → {safe_text(out, 400)}/")
    return 0
