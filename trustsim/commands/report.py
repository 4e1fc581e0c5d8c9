"""``trustsim report FOLDER``: redraw the figures of a results folder (a run, replications, a sweep, the
pattern suite, a comparison, the structures or the regime map)."""

from __future__ import annotations

from .argtypes import pathname

NAME = "report"
HELP = "redraw the figures of a results folder"


def arguments(p) -> None:
    """The arguments of ``trustsim report``."""
    p.add_argument("folder", type=pathname("folder", "a results folder"),
                   help="a results folder that trustsim wrote (run, run --seeds, sweep, patterns, compare, structures, "
                        "regimes, calibrate); its figures/ are drawn again from its tables")
    p.add_argument("--force", action="store_true",
                   help="draw into the figures/ of a run folder that has lost its manifest.json, replacing files of "
                        "the figures' names (without a manifest nothing says they are trustsim's)")


def handle(args) -> int:
    """Draw a results folder's figures again from its tables, under its lock; exit 0."""
    # here, not at the top: `trustsim --help` imports this module
    from pathlib import Path

    from ..errors import ParamError, safe_text
    from ..folders import KINDS, MARKER, read_only_folder
    from ..locks import put_back_to_read, write_failure
    from ..reading import read_json, refuse_irregular
    from ..results import result_kind, target_lock

    folder = Path(args.folder)
    put_back_to_read(folder)  # a result a writer killed while replacing it left moved aside
    if not folder.is_dir():
        raise ParamError(str(folder), None, "no such folder" if not folder.exists() else "is not a folder")
    refuse_irregular(folder / MARKER, expected="a JSON manifest")  # a named pipe would be waited on for ever
    kind = result_kind(folder)
    if kind is None and (folder / "timeseries.csv").is_file():
        kind = "run"  # a run's tables without their manifest
        figures = folder / "figures"
        if not args.force and figures.is_dir() and any(figures.iterdir()):
            unread = (folder / "manifest.json").exists()  # there, but not a manifest trustsim wrote
            lost = "a manifest.json trustsim cannot read" if unread else "no manifest.json"
            raise ParamError(str(figures), None, f"has files and the folder {lost} to say which are trustsim's "
                                                 "figures; --force draws over those of the same names")
    if kind not in KINDS:  # before anything walks the folder: it may be any folder at all, even /
        if kind is None and (folder / MARKER).is_file():  # what is wrong with the manifest, where it can say
            read_json(folder / MARKER, expected="a JSON manifest")
            raise ParamError(str(folder / MARKER), None, "is not a manifest trustsim wrote; not a results folder")
        raise ParamError(str(folder), None, "not a results folder (no manifest.json or timeseries.csv that "
                                            "trustsim wrote)" if kind is None else f"a {kind} result has no figures")
    if (locked := read_only_folder(folder)) is not None:  # as run --out keeps a result made read-only
        raise ParamError(str(locked), None, "is read-only: its figures are kept as they are (make it writable, "
                                            "chmod -R u+w, to redraw them)")
    with target_lock(folder):  # no other writer replaces the folder meanwhile
        try:
            paths = _drawn_from_its_tables(folder, kind)
            _list_figures(folder, [p.name for p in map(Path, paths)])
        except OSError as exc:  # a full disk: the line names the folder even where the error names no file
            failure = write_failure(exc)
            if failure is None:
                raise
            raise ParamError(str(folder), None, failure) from None
    for path in paths:
        print(safe_text(path, 400))
    return 0


def _list_figures(folder, names: list[str]) -> None:
    """Add the figures just drawn to the list in the folder's manifest (which says a figure it does not list is
    the user's); a manifest without a list, written before manifests listed their figures, is left as it is."""
    # here, not at the top: `trustsim --help` imports this module
    import json

    from ..folders import MARKER, read_manifest
    from ..results import replace_file

    info = read_manifest(folder)
    listed = info.get("figures") if info is not None else None
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        return  # no list, or one trustsim did not write: left as it is
    listed = sorted(set(listed) | set(names))
    if listed != info["figures"]:
        info["figures"] = listed
        replace_file(folder / MARKER,
                     lambda tmp: tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n"))


def _drawn_from_its_tables(folder, kind: str | None) -> list:
    """``_redraw``, with a table edited out of its shape (a column dropped, words where numbers belong, a row
    twice) refused in one line naming the folder: each kind checks the tables it knows to go wrong, and what
    else a table lacks surfaces as one of these errors while drawing, with nothing replaced in figures/."""
    # here, not at the top: `trustsim --help` imports this module
    from ..errors import ParamError
    from ..report import refuse_cut_short

    for table in sorted(folder.glob("*.csv")):  # any kind's tables: a row cut short draws as a shorter result
        refuse_cut_short(table)
    try:
        return _redraw(folder, kind)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        why = (str(exc).splitlines() or [""])[0][:120]
        raise ParamError(str(folder), None, f"cannot draw its figures from its tables ({type(exc).__name__}: {why}); "
                                            f"they are not as trustsim wrote them") from None


def _redraw(folder, kind: str | None) -> list:
    """The figures of a results folder of ``kind`` (one of ``folders.KINDS``, which ``handle`` checked) drawn again,
    by the kind's own redraw in the registry; each replaces only its own file in figures/."""
    # here, not at the top: `trustsim --help` imports this module
    from ..folders import KINDS

    return KINDS[kind].redrawer()(folder)
