"""The package's shape: modules short enough to read, no import circles, an app that shows state without
reaching into the rules, one registration per command, one definition of each shared figure (intervals, partner
advantages, colours, controls), and files replaced whole."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

MAX_LINES = 400
RULE_MODULES = {"trustsim.rules", "trustsim.learning", "trustsim.sourcing", "trustsim.phases"}  # the mechanisms


def test_no_module_is_longer_than_one_sitting():
    long = {str(p.relative_to(ROOT / "trustsim")): n for p in (ROOT / "trustsim").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, at module level or inside a function
    (``from .a import b`` counts as importing ``a``, or ``a.b`` when that is a module)."""
    modules = {_module_name(p): p for p in (ROOT / "trustsim").rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan): each an import circle."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle_and_only_a_circle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_import_circles_in_the_package():
    graph = package_imports()
    assert "trustsim.params" in graph["trustsim.scenario"] and "trustsim.errors" in graph["trustsim.params"]
    assert "trustsim.experiments.replicate" in graph["trustsim.api"]  # a function-local import counts too
    cycles = import_cycles(graph)
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports, circles: {cycles}")
    assert cycles == []


def test_the_app_shows_state_and_imports_no_rule():
    graph = package_imports()
    app = {m: sorted(graph[m] & RULE_MODULES) for m in graph if m.startswith("trustsim.viz")}
    assert len(app) >= 4 and all(v == [] for v in app.values()), app


def test_every_command_module_is_registered_once_with_its_handler():
    from trustsim import cli, commands

    modules = {p.stem for p in (ROOT / "trustsim" / "commands").glob("*.py")} - {"__init__", "argtypes"}
    assert sorted(m.NAME for m in commands.COMMANDS) == sorted(modules)
    assert all(m.__name__ == f"trustsim.commands.{m.NAME}" for m in commands.COMMANDS)
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == [m.NAME for m in commands.COMMANDS]
    for m in commands.COMMANDS:
        assert sub.choices[m.NAME].get_default("handle") is m.handle


def test_help_imports_nothing_heavy(tmp_path):
    code = ("import sys\nfrom trustsim.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = ('numpy', 'pandas', 'mesa', 'matplotlib', 'solara', 'pydantic', 'trustsim.params')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_the_old_import_paths_still_work():
    from trustsim.experiments import JOURNAL, build_sweep, load_sweep, merge, read_journal, run_seed, run_sweep
    from trustsim.patterns import SIGMAS, evaluate, markdown_table, measure, null_model, run_all

    assert JOURNAL == "journal.jsonl" and SIGMAS == (0.0, 0.3, 0.6, 0.9)
    assert all(callable(f) for f in (build_sweep, load_sweep, merge, read_journal, run_seed, run_sweep, evaluate,
                                     markdown_table, measure, null_model, run_all))


def test_the_experiments_package_loads_each_name_on_use_and_names_no_module_like_a_function(tmp_path):
    """``trustsim.experiments`` loads a name's module on first use; the import system names a loaded submodule in
    its package, so no public name may be a submodule's too (``merge``, the function, lives in ``shards.py``)."""
    code = ("import importlib, sys, types\n"
            "import trustsim.experiments as ex\n"
            "print(sorted(m for m in ('trustsim.experiments.execute', 'trustsim.experiments.journal') "
            "if m in sys.modules))\n"
            "module = importlib.import_module('trustsim.experiments.shards')\n"
            "from trustsim.experiments import merge\n"
            "print(isinstance(merge, types.FunctionType), merge is module.merge is ex.merge)\n"
            "print([n for n in ex.__all__ if isinstance(getattr(ex, n), types.ModuleType)], "
            "set(ex.__all__) <= set(dir(ex)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.splitlines() == ["[]", "True True", "[] True"], proc.stdout + proc.stderr


def test_patterns_are_registered_in_order():
    from trustsim import patterns

    assert list(patterns.PATTERNS) == [f"P{i}" for i in range(1, 11)] + ["R1", "R2", "R3", "R4"]
    assert list(patterns.DECOMPOSITIONS) == ["D"]
    assert patterns.PATTERNS["P7"] is patterns.p7


def _posture(buyers, share, profit, tco):
    return {"buyers": buyers, "market_share": share, "profit_cum": profit, "tco_per_unit": tco}


def test_partner_advantages_are_one_definition_for_sweeps_and_patterns():
    from trustsim.experiments import metric_row
    from trustsim.metrics import COLUMN_NAMES
    from trustsim.stats import advantages, share_advantage

    p, a = _posture(10, 0.6, 500.0, 0.9), _posture(30, 0.4, 200.0, 1.0)
    # partners hold 0.06 of the market per buyer, aggressive buyers 0.4/30; in units of 1/40
    assert share_advantage(p, a) == pytest.approx((0.06 - 0.4 / 30) * 40)
    assert advantages({"long_run": {"partner": p, "aggressive": a}}) == pytest.approx(
        {"advantage.market_share": (0.06 - 0.4 / 30) * 40, "advantage.profit_cum": 300.0,
         "advantage.tco_per_unit": 0.1})
    empty = _posture(0, 0.0, 0.0, 0.0)
    assert share_advantage(empty, a) is None and set(
        advantages({"long_run": {"partner": empty, "aggressive": a}}).values()) == {None}
    full = {g: {c: 1.0 for c in COLUMN_NAMES} for g in ("partner", "aggressive", "all")}
    full["partner"].update(p)
    full["aggressive"].update(a)
    assert metric_row({"long_run": full})["advantage.market_share"] == pytest.approx(share_advantage(p, a))


def test_interval_is_one_definition():
    from trustsim.stats import finite, mean_ci, mean_halfwidth

    m, h = mean_halfwidth(finite([1.0, np.nan, 2.0, 3.0, np.inf]))
    assert (m, m - h, m + h) == mean_ci([1.0, 2.0, 3.0])
    assert h == pytest.approx(4.302652729911275 / np.sqrt(3))
    m1, h1 = mean_halfwidth([5.0])  # one value: no interval (n − 1 = 0 degrees of freedom)
    assert m1 == 5.0 and np.isnan(h1)
    assert all(np.isnan(mean_halfwidth([])))


def test_a_replaced_file_is_whole_or_untouched(tmp_path):
    from trustsim.results import replace_file

    path = tmp_path / "runs.csv"
    replace_file(path, lambda tmp: tmp.write_text("a\n1\n"))

    def half_then_fail(tmp):
        tmp.write_text("a\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_file(path, half_then_fail)
    assert path.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]


def test_one_palette_for_report_and_app():
    from trustsim import report, style
    from trustsim.metrics import COST_PARTS, POSTURE_GROUPS
    from trustsim.viz import components

    assert tuple(style.COST_COLOURS) == COST_PARTS
    assert set(style.POSTURE_COLOURS) == set(POSTURE_GROUPS)
    assert report.COLOURS is style.POSTURE_COLOURS is components.COLOURS


def test_app_controls_and_settings_line_come_from_one_list():
    from trustsim.params import Params
    from trustsim.viz import app
    from trustsim.viz.controls import CONTROLS

    params = Params()
    sent = app.model_params(params)
    assert [c.key.split(".")[1] for c in CONTROLS] == [k for k in sent if k not in ("params", "rng")]
    model = app.AppMarket(params, rng=1)
    model.step()
    from trustsim.viz.components import key_figures

    assert list(key_figures(model)["settings"]) == [c.short for c in CONTROLS]


def test_figures_are_drawn_without_pyplot_or_a_backend_switch(tmp_path):
    """Every figure is a ``matplotlib.figure.Figure``: importing the package's figure modules leaves a notebook's
    backend as it was, and loads no pyplot."""
    switched = [str(p.relative_to(ROOT)) for p in (ROOT / "trustsim").rglob("*.py")
                if "matplotlib.use(" in p.read_text() or "pyplot" in p.read_text()]
    assert switched == []
    code = ("import sys\n"
            "import trustsim.report, trustsim.comparison, trustsim.experiments.figures, trustsim.patterns.figures\n"
            "print('matplotlib.figure' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.split() == ["True", "False"], proc.stdout + proc.stderr


def test_one_limit_for_writing_the_network():
    from trustsim.results import NETWORK_MAX_BUYERS

    written = [str(p.relative_to(ROOT)) for p in (ROOT / "trustsim").rglob("*.py") if "20_000" in p.read_text()]
    assert NETWORK_MAX_BUYERS == 20_000 and written == ["trustsim/results.py"]


def test_the_server_code_is_in_serve_only():
    app = (ROOT / "trustsim" / "viz" / "app.py").read_text()
    assert not any(word in app for word in ("malloc_trim", "socket", "subprocess", "execve", "free_port"))


def test_every_import_inside_a_function_says_why():
    """An import is at the top of its module unless it waits for a reason (``--help`` stays fast, an optional or
    heavy dependency only one path needs): a comment on the line above the imports, or on the line itself."""
    silent = []
    for path in (ROOT / "trustsim").rglob("*.py"):
        lines = path.read_text().splitlines()
        for f in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for block in ast.walk(f):
                stmts = getattr(block, "body", None)
                if not isinstance(stmts, list):
                    continue
                for i, st in enumerate(stmts):
                    starts_run = isinstance(st, (ast.Import, ast.ImportFrom)) and not (
                        i and isinstance(stmts[i - 1], (ast.Import, ast.ImportFrom)))
                    if starts_run and not (lines[st.lineno - 2].strip().startswith("#") or "#" in lines[st.lineno - 1]):
                        silent.append(f"{path.relative_to(ROOT)}:{st.lineno}")
    print(f"{len(silent)} imports inside functions without a reason")
    assert silent == []


HEAVY = {"numpy", "pandas", "scipy", "matplotlib", "networkx", "mesa", "solara", "pydantic", "dask", "distributed",
         "SALib", "tqdm", "threadpoolctl", "pyarrow", "starlette", "click"}  # libraries worth not loading
IMPLIES = {"pandas": {"numpy"}, "scipy": {"numpy"}, "matplotlib": {"numpy"}, "mesa": {"numpy", "pandas"},
           "solara": {"numpy"}, "SALib": {"numpy", "scipy", "pandas"}, "pyarrow": {"numpy"}}
LIGHT = {"trustsim", "trustsim.cli", "trustsim.errors"}  # loaded by `trustsim --help` (with trustsim.commands.*)


def imports_by_place() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    """Each module's imports: those it runs when imported (its top level, ``if TYPE_CHECKING`` left out) and
    those deferred into its functions (with their line numbers), as absolute module names; imports tried
    under ``except ImportError`` are left out of both."""
    modules = {_module_name(p): p for p in (ROOT / "trustsim").rglob("*.py")}
    top, deferred = {}, {}

    def targets(node, name, path):
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]

    def visit(node, name, path, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            caught = [ast.unparse(h.type) for h in getattr(child, "handlers", ()) if h.type is not None]
            if isinstance(child, ast.Try) and any("ImportError" in c for c in caught):
                continue  # an optional dependency, or one not on every platform: tried where it is needed
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for t in targets(child, name, path):
                    if in_function:
                        deferred[name].append((child.lineno, t))
                    else:
                        top[name].add(t)
            visit(child, name, path, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    for name, path in modules.items():
        top[name], deferred[name] = set(), []
        visit(ast.parse(path.read_text()), name, path, False)
    return top, deferred


def heavy_loaded(module: str, top: dict[str, set[str]]) -> set[str]:
    """The heavy libraries importing ``module`` loads: through the package modules it imports at top level."""
    seen, stack, heavy = set(), [module], set()
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        if m in top:
            stack.extend(top[m])
            stack.extend(m.rsplit(".", k)[0] for k in range(1, m.count(".")))  # a module loads its packages
        elif m.split(".")[0] in HEAVY:
            heavy.add(m.split(".")[0])
    return heavy | {i for h in heavy for i in IMPLIES.get(h, ())}


def needless_deferred_imports() -> list[str]:
    """Imports inside functions that keep nothing heavy away: at the top of their module they would load no
    library it does not load already (modules `trustsim --help` reads may defer anything)."""
    top, deferred = imports_by_place()
    needless = []
    for module, found in deferred.items():
        if module in LIGHT or module.startswith("trustsim.commands"):
            continue
        loads = heavy_loaded(module, top)
        for line, target in found:
            if not heavy_loaded(target, top) - loads:
                needless.append(f"{module}:{line} {target}")
    return needless


def test_an_import_waits_inside_a_function_only_to_keep_a_heavy_library_away():
    """A function-local import is there so that importing its module (for `--help`, the app, a worker) does
    not load a heavy library only that function needs; any other import belongs at the top of the module,
    where a reader sees what the module depends on. Moving these up makes no import circle: the circle test
    counts function-local imports too."""
    needless = needless_deferred_imports()
    print(f"{len(needless)} imports inside functions that keep nothing heavy away")
    assert needless == []


def test_the_deferred_import_check_tells_a_heavy_import_from_a_light_one():
    top = {"trustsim.a": {"numpy"}, "trustsim.b": {"trustsim.a"}, "trustsim.c": {"pandas"}, "trustsim": set()}
    assert heavy_loaded("trustsim.b", top) == {"numpy"}
    assert heavy_loaded("trustsim.c", top) == {"pandas", "numpy"}
    assert heavy_loaded("json", top) == set() and heavy_loaded("scipy.stats", top) == {"scipy", "numpy"}


def test_every_result_kind_is_one_registry_entry_that_report_uses():
    """Each kind of result names its files and its redraw once (folders.KINDS); `report` has no list of its own."""
    from trustsim.folders import KINDS

    for kind, entry in KINDS.items():
        assert callable(entry.redrawer()), kind
        assert "manifest.json" in entry.files and "figures/*.png" in entry.files, kind
    source = (ROOT / "trustsim" / "commands" / "report.py").read_text()
    assert not [kind for kind in KINDS if f'kind == "{kind}"' in source] and "import redraw" not in source


def test_contributing_names_every_module_and_test_file():
    """CONTRIBUTING.md's tables say where things are: every module of the package is named there (one of a
    subpackage in that subpackage's row, a command's by the row of ``commands/``), and every test file, so a new
    one cannot go unlisted (the calibration's ``journal.py`` was), and each file named there exists."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    names = re.compile(r"`([\w/]+\.py)`")
    rows = {m[1]: {n.rpartition("/")[2] for n in names.findall(m[2])}
            for m in re.finditer(r"^\| `(\w+)/` \|(.*)$", text, re.MULTILINE)}
    named = {n.rpartition("/")[2] for n in names.findall(text)}
    unlisted = []
    for path in (ROOT / "trustsim").rglob("*.py"):
        package = path.parent.relative_to(ROOT / "trustsim").as_posix()
        if path.name == "__init__.py" or package == "commands":
            continue
        if path.name not in (named if package == "." else rows.get(package, set())):
            unlisted.append(path.relative_to(ROOT).as_posix())
    unlisted += [p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py") if p.name not in named]
    assert unlisted == []
    present = {p.name for folder in ("trustsim", "tests", "scripts", "benchmarks") for p in (ROOT / folder).rglob("*")}
    assert sorted(named - present) == []
