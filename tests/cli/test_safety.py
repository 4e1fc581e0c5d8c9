"""Parameter files are data, paths are resolved and reported, the browser app stays on this machine."""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT

from trustsim.cli import build_parser, main
from trustsim.errors import ParamError
from trustsim.scenario import load_scenario

PACKAGE = ROOT / "trustsim"
PAYLOAD = "__import__('os').system('touch pwned')"


@pytest.fixture(scope="module", autouse=True)
def warm_up(tmp_path_factory):
    """Read a valid and a broken file once first, so the traps below see no lazy import (which execs modules)."""
    folder = tmp_path_factory.mktemp("warm")
    for name, text in (("ok.toml", "[run]\nsteps = 3\n"), ("bad.toml", '[market]\nbuyers = "x"\n')):
        (folder / name).write_text(text)
        main(["check", str(folder / name)])
        main(["check", str(folder / name), "--set", "market.buyers=x"])


@contextlib.contextmanager
def nothing_evaluated():
    """Fail loudly if anything evaluates, executes or unpickles inside the block."""
    def trap(name):
        def refuse(*a, **k):
            raise AssertionError(f"{name} called while reading parameters")
        return refuse

    with pytest.MonkeyPatch.context() as mp:
        for name in ("eval", "exec", "compile"):
            mp.setattr(builtins, name, trap(name))
        for name in ("loads", "load"):
            mp.setattr(pickle, name, trap(f"pickle.{name}"))
        yield


def test_python_in_a_parameter_file_is_only_text(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "payload.toml"
    f.write_text(f'description = "{PAYLOAD}"\n[run]\nsteps = 3\n')
    with nothing_evaluated():
        scenario = load_scenario(f)
        code = main(["check", str(f)])
    assert scenario.description == PAYLOAD and scenario.params.run.steps == 3
    assert code == 0
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("text, key", [
    (f'[suppliers]\nattention_policy = "{PAYLOAD}"\n', "suppliers.attention_policy"),
    (f'[market]\nbuyers = "{PAYLOAD}"\n', "market.buyers"),
    (f'[market]\nbuyers = """\n{PAYLOAD}\n"""\n', "market.buyers"),
    (f'extends = "{PAYLOAD}"\n', "extends"),
])
def test_code_where_a_value_belongs_is_refused(text, key, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "payload.toml"
    f.write_text(text)
    with nothing_evaluated(), pytest.raises(ParamError) as exc:
        load_scenario(f)
    assert exc.value.key == key
    with nothing_evaluated():
        code = main(["check", str(f)])
    assert code == 2
    assert not (tmp_path / "pwned").exists()


def test_code_on_the_command_line_is_only_text(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with nothing_evaluated():
        with pytest.raises(ParamError, match="expected an integer"):
            load_scenario(None, [f"market.buyers={PAYLOAD}"])
        with pytest.raises(ParamError):
            load_scenario(None, [f"suppliers.attention_policy={PAYLOAD}"])
    assert not (tmp_path / "pwned").exists()


# A Dask task is pickled by its client and unpickled by the worker whatever trustsim does: the Dask executor
# (experiments/cluster.py) sends each task's run as bytes it pickled itself and unpickles them on the worker after
# checking the worker's code, so that a worker without trustsim says so; nothing a file holds is unpickled
DASK_TASKS_ONLY = {("experiments/cluster.py", "pickle"), ("experiments/cluster.py", "cloudpickle")}


def test_the_package_never_evaluates_or_unpickles():
    """No eval, exec, pickle, marshal, shelve or YAML loader anywhere in trustsim's code, but the Dask executor's own
    tasks (``DASK_TASKS_ONLY``): there the only calls are ``pickle.loads`` of the task's bytes on the worker and
    ``cloudpickle.dumps`` of them in the client."""
    banned_calls = {"eval", "exec", "__import__"}
    banned_modules = {"pickle", "marshal", "shelve", "yaml", "dill", "cloudpickle"}
    cluster = (PACKAGE / "experiments" / "cluster.py").read_text()
    calls = sorted({ast.unparse(n.func) for n in ast.walk(ast.parse(cluster)) if isinstance(n, ast.Call)
                    and "pickle" in ast.unparse(n.func)})
    assert calls == ["pickle.loads"] and "cloudpickle.dumps)" in cluster, calls  # dumps handed to the executor
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in banned_calls:
                found.append(f"{path.name}:{node.lineno} {node.func.id}()")
            if isinstance(node, ast.Import):
                found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.split(".")[0] in banned_modules
                          and (path.relative_to(PACKAGE).as_posix(), a.name) not in DASK_TASKS_ONLY]
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in banned_modules:
                found.append(f"{path.name}:{node.lineno} from {node.module}")
    assert not found, found


# --- paths are resolved and reported --------------------------------------------------------------

def make_chain(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "base").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "base" / "parent.toml").write_text("[market]\nbuyers = 6\nsuppliers = 3\n")
    (tmp_path / "mine" / "child.toml").write_text('extends = "../base/./parent.toml"\n[run]\nsteps = 3\n')
    return tmp_path / "mine" / ".." / "mine" / "child.toml"


def test_check_prints_the_resolved_extends_chain(tmp_path, capsys):
    child = make_chain(tmp_path)
    assert main(["check", str(child)]) == 0
    out = capsys.readouterr().out
    chain = [line for line in out.splitlines() if line.startswith("extends: ")]
    assert chain == [f"extends: {(tmp_path / 'mine' / 'child.toml').resolve()} -> "
                     f"{(tmp_path / 'base' / 'parent.toml').resolve()}"]


@pytest.mark.parametrize("inside", [True, False], ids=["run_inside_the_project", "run_elsewhere"])
def test_manifest_names_resolved_paths(tmp_path, monkeypatch, capsys, inside):
    child = make_chain(tmp_path / "project")
    cwd = tmp_path / "project" if inside else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    out = tmp_path / "results" / ".." / "res"
    assert main(["run", str(child), "--set", "market.buyers=4", "--quiet", "--out", str(out)]) == 0
    manifest = json.loads((tmp_path / "res" / "manifest.json").read_text())["scenario"]
    paths = [manifest["path"], *manifest["extends_chain"]]
    expected = [(tmp_path / "project" / "mine" / "child.toml").resolve(),
                (tmp_path / "project" / "mine" / "child.toml").resolve(),
                (tmp_path / "project" / "base" / "parent.toml").resolve()]
    for shown, real in zip(paths, expected, strict=True):
        assert ".." not in Path(shown).parts and "." not in Path(shown).parts[1:], shown
        assert (cwd / shown).resolve() == real  # relative to where the command ran, or absolute
        assert Path(shown).is_absolute() != inside
    assert manifest["sha256"] and len(manifest["extends_chain"]) == 2


# --- the browser app listens on 127.0.0.1 unless told otherwise ----------------------------------

def test_viz_listens_on_loopback_by_default(monkeypatch, capsys):
    serve = pytest.importorskip("trustsim.viz.serve")
    args = build_parser().parse_args(["viz"])
    assert args.host == "127.0.0.1"
    started = {}

    def fake_exec(path, argv, env):
        started["argv"] = argv
        raise SystemExit(0)

    monkeypatch.setattr(serve.os, "execve", fake_exec)
    monkeypatch.setattr(serve.subprocess, "call", lambda argv, env=None: fake_exec(None, argv, env))
    with pytest.raises(SystemExit):
        serve.serve(args)
    argv = started["argv"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert "--no-open" in argv
    assert "warning" not in capsys.readouterr().err.split("listening")[0]
    started.clear()
    with pytest.raises(SystemExit):
        serve.serve(SimpleNamespace(scenario=None, host=None, port=None))
    assert started["argv"][started["argv"].index("--host") + 1] == "127.0.0.1"


def test_the_app_answers_a_nul_in_a_static_path_with_400_not_a_traceback(tmp_path, monkeypatch):
    """``GET /static/public/%00`` reached the file system through Starlette's static files, which raised: a
    500 and a traceback in the server's log. The server (``run_server``) now refuses such a path first."""
    import asyncio

    from starlette.staticfiles import StaticFiles

    from trustsim.viz.serve import refuse_nul_paths

    monkeypatch.setattr(StaticFiles, "get_response", StaticFiles.get_response)  # put back after the test
    refuse_nul_paths()
    (tmp_path / "a.txt").write_text("hello")
    files = StaticFiles(directory=tmp_path)

    async def status(path: str) -> int:
        sent = []
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await files(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(status("/\x00")) == 400 and asyncio.run(status("/public/a\x00b.txt")) == 400
    assert asyncio.run(status("/a.txt")) == 200
