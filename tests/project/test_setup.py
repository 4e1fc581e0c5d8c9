"""scripts/bootstrap.sh, the README's set-up, run on a stand-in clone (the script and a pyproject.toml) with a
controlled PATH and no package index: a few seconds each, nothing installed from outside."""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def stand_in(tmp_path: Path, name: str = "clone") -> Path:
    """A clone (in tmp_path/name) holding only the set-up script and a pyproject.toml."""
    repo = tmp_path / name
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "bootstrap.sh", repo / "scripts" / "bootstrap.sh")
    (repo / "pyproject.toml").write_text('[project]\nname = "stand-in"\nversion = "0"\n')
    return repo


def built(repo: Path) -> Path:
    """The stand-in with an environment up to date by its stamp, whose trustsim prints where it runs and its
    arguments, one a line, and whose pytest and pip print theirs."""
    bin_ = repo / ".venv" / "bin"
    bin_.mkdir(parents=True)
    # this test's Python, but for pytest and pip, which only say what they were asked
    (bin_ / "python").write_text('#!/bin/sh\n'
                                 '[ "$1" = -m ] && case "$2" in pytest|pip) shift; echo "$*"; exit 0;; esac\n'
                                 f'exec "{sys.executable}" "$@"\n')
    (bin_ / "python").chmod(0o755)
    (bin_ / "trustsim").write_text('#!/bin/sh\nprintf "%s\\n" "$PWD" "$@"\n')
    (bin_ / "trustsim").chmod(0o755)
    key = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (repo / ".venv" / ".trustsim-stamp").write_text(f"{key} {repo} [test]\n")
    return repo


def bootstrap(repo: Path, *args: str, cwd: Path | None = None, path: str | None = None, pyenv: Path | None = None,
              **extra: str):
    """The script run with this test's Python first on PATH, an empty home, no package index and ``extra`` set."""
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": path or f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
           "HOME": str(home), "PYENV_ROOT": str(pyenv or home), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           **extra}
    return subprocess.run([str(repo / "scripts" / "bootstrap.sh"), *args], cwd=cwd or repo, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_an_environment_whose_making_was_cut_short_is_made_again(tmp_path):
    """Ctrl-C while the virtual environment is being made leaves a Python without pip: the next run makes the
    environment again instead of failing on every run with 'No module named pip'."""
    repo = stand_in(tmp_path)
    (repo / ".venv").mkdir()
    (repo / ".venv" / ".trustsim-made").touch()  # the script marks its environment before making it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    done = bootstrap(repo, "env")
    assert "No module named pip" not in done.stderr, done.stderr[-2000:]
    pip = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-m", "pip", "--version"], capture_output=True)
    assert pip.returncode == 0, done.stderr[-2000:]
    assert (repo / ".venv" / ".trustsim-made").is_file()


@pytest.mark.parametrize("kind", ["too old", "without pip"])
def test_a_users_own_environment_that_trustsim_cannot_use_is_left_as_it_is(tmp_path, kind):
    """A .venv the script did not make (no mark, no stamp) is the user's: where trustsim cannot use it, the set-up
    says so in one line and stops, and deletes nothing (it removed such an environment and made its own)."""
    repo = stand_in(tmp_path)
    env = repo / ".venv"
    if kind == "too old":  # a Python 3.11: its version check exits 1
        (env / "bin").mkdir(parents=True)
        (env / "bin" / "python").write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.11.2"\nexit 1\n')
        (env / "bin" / "python").chmod(0o755)
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    (env / "mine.txt").write_text("the user's")
    before = sorted(str(p.relative_to(env)) for p in env.rglob("*"))
    done = bootstrap(repo, "env")
    assert done.returncode == 1
    # the one line is all it says: it said first which Python it was using, then that it used none
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "did not make" in lines[0], done.stderr
    assert ("Python 3.11.2: trustsim needs Python 3.12" in lines[0]) if kind == "too old" \
        else "without pip" in lines[0], done.stderr
    assert "left as it is" in lines[0]
    assert sorted(str(p.relative_to(env)) for p in env.rglob("*")) == before
    assert (env / "mine.txt").read_text() == "the user's"


def test_run_reads_its_paths_from_where_it_is_given(tmp_path):
    """A scenario named from another directory is that directory's file (and its results go there), as with
    trustsim itself; from the clone, the default is the baseline, written into the clone's results/."""
    repo = built(stand_in(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = bootstrap(repo, "run", "mine.toml", "--out", "out", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(elsewhere), "run", "mine.toml", "--out", "out"]
    done = bootstrap(repo, "run")
    assert done.stdout.splitlines() == [str(repo), "run", "scenarios/baseline.toml"], done.stderr
    done = bootstrap(repo, "run", cwd=elsewhere)
    assert done.stdout.splitlines() == [str(elsewhere), "run", f"{repo}/scenarios/baseline.toml"], done.stderr
    # options alone run the baseline with them: `run --seed 3` took --seed for the scenario
    done = bootstrap(repo, "run", "--seed", "3")
    assert done.stdout.splitlines() == [str(repo), "run", "scenarios/baseline.toml", "--seed", "3"], done.stderr


def only(tmp_path: Path, **extra: str) -> str:
    """A PATH of the tools the script uses (no apt-get, no Chromium) and ``extra`` programs that do nothing."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("bash", "env", "dirname", "sha256sum", "cut", "grep", "head", "id", "ls", "sort", "rm", "mkdir",
                 "touch"):
        (tools / name).symlink_to(shutil.which(name))
    for name, text in extra.items():
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    return str(tools)


def test_the_test_job_looks_for_chromium_where_the_browser_tests_do(tmp_path):
    """The browser tests take TRUSTSIM_CHROMIUM, else chromium or chromium-browser on PATH: the set-up says they
    will be skipped exactly when none is there, and does not look for Chromium where they do not."""
    repo = built(stand_in(tmp_path))
    done = bootstrap(repo, "test", "-x", path=only(tmp_path))
    assert (done.returncode, done.stdout) == (0, "pytest -x\n"), done.stderr
    assert "no Chromium found: the browser tests will be skipped" in done.stderr
    shutil.rmtree(tmp_path / "tools")
    done = bootstrap(repo, "test", "-x", path=only(tmp_path, **{"chromium-browser": "#!/bin/sh\n"}))
    assert (done.returncode, done.stdout) == (0, "pytest -x\n"), done.stderr
    assert "Chromium" not in done.stderr


def test_without_chromium_the_set_up_says_in_one_line_whether_the_browser_tests_skip_or_fail(tmp_path):
    """Where TRUSTSIM_REQUIRE_BROWSER is set (as .ci/run sets it) a missing Chromium fails the browser tests: the
    set-up says so, not that they will be skipped, in one line with what to do."""
    repo = built(stand_in(tmp_path))
    for extra, fate in (({}, "be skipped"), ({"TRUSTSIM_REQUIRE_BROWSER": "1"}, "fail")):
        done = bootstrap(repo, "test", "-x", path=only(tmp_path), **extra)
        shutil.rmtree(tmp_path / "tools")
        assert (done.returncode, done.stdout) == (0, "pytest -x\n"), done.stderr
        [line] = [line for line in done.stderr.splitlines() if "Chromium" in line]
        assert line.startswith(f"trustsim setup: no Chromium found: the browser tests will {fate}"), line
        assert line.endswith("or point TRUSTSIM_CHROMIUM at a Chromium binary."), line


def test_pythons_are_found_among_pyenvs_versions_under_a_path_with_a_space(tmp_path):
    """With no Python on PATH, the newest suitable one among pyenv's versions is used, wherever pyenv lives."""
    repo = stand_in(tmp_path)
    pyenv = tmp_path / "my pyenv"
    for version in ("3.9.0", "3.99.0"):  # 3.9.0 is no Python at all: the newest comes first
        (pyenv / "versions" / version / "bin").mkdir(parents=True)
    (pyenv / "versions" / "3.99.0" / "bin" / "python").write_text(python_wrapper())
    (pyenv / "versions" / "3.99.0" / "bin" / "python").chmod(0o755)
    done = bootstrap(repo, "env", path=only(tmp_path), pyenv=pyenv)
    assert f"using {pyenv}/versions/3.99.0/bin/python (Python 3." in done.stderr, done.stderr


def test_ci_requires_the_browser_tests_to_run_where_a_local_run_may_skip_them(monkeypatch):
    """.ci/run installs Chromium through the set-up; if it could not, the browser tests must fail there rather
    than skip, or CI would pass without ever opening the app."""
    import pytest
    from conftest import REQUIRE_BROWSER, no_browser

    assert f"export {REQUIRE_BROWSER}=1" in (ROOT / ".ci" / "run").read_text()
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception):
        no_browser("no Chromium found")
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="the browser tests must run"):
        no_browser("no Chromium found")


def no_python_elsewhere():
    """The script also looks in /usr/local/bin and /opt, which a test cannot empty: skip where they hold one."""
    import pytest

    elsewhere = ("/usr/local/bin/python3.1[2-9]", "/opt/*/bin/python3.1[2-9]", "/opt/python*/bin/python3")
    if any(glob.glob(pattern) for pattern in elsewhere):
        pytest.skip("a Python in /usr/local/bin or /opt would be found")


def python_wrapper(**env: str) -> str:
    """This test's Python with ``env`` set, failing at once when asked to make a virtual environment (so that
    finding it is all that runs)."""
    sets = " ".join(f"{k}={v}" for k, v in env.items())
    return (f'#!/bin/sh\n[ "$1" = -m ] && [ "$2" = venv ] && exit 7\n'
            f'{sets} exec "{sys.executable}" "$@"\n')


def test_a_python_newer_than_3_13_on_path_is_found(tmp_path):
    """python3.14 (or later) on PATH is a Python >= 3.12 like python3.12, found before pyenv is looked at."""
    repo = stand_in(tmp_path)
    tools = only(tmp_path, **{"python3.14": python_wrapper()})
    done = bootstrap(repo, "env", path=tools)
    assert f"using {tools}/python3.14 (Python 3." in done.stderr, done.stderr


def test_a_python_without_venv_is_named_with_the_package_to_install(tmp_path):
    """Debian and Ubuntu ship venv and ensurepip apart (python3.12-venv): a Python 3.12 without them is named in
    one line with the package that completes it, rather than 'none was found'; nothing is made."""
    no_python_elsewhere()
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "ensurepip.py").write_text("raise ImportError('split off, as on Debian')\n")
    repo = stand_in(tmp_path)
    tools = only(tmp_path, python3=python_wrapper(PYTHONPATH=str(shadow)))
    done = bootstrap(repo, "env", path=tools)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"trustsim setup: {tools}/python3 is Python {version} but cannot make virtual environments: install "
        f"python{version}-venv ('sudo apt-get install python{version}-venv'), then run this command again."]
    assert not (repo / ".venv").exists()


def test_no_python_at_all_is_said_in_one_line_with_what_to_install(tmp_path):
    """With no Python >= 3.12 on PATH or in pyenv, one line says so and what to install; nothing is made."""
    no_python_elsewhere()
    repo = stand_in(tmp_path)
    # a Python 3.11: its version check exits 1
    tools = only(tmp_path, python3='#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.11.2"\nexit 1\n')
    done = bootstrap(repo, "env", path=tools)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("trustsim setup: trustsim needs Python 3.12 or newer and none was found"), line
    assert "'pyenv install 3.12'), then run this command again." in line, line
    assert not (repo / ".venv").exists()


def test_pyenvs_versions_are_found_with_no_home(tmp_path):
    """Without HOME (as under some service managers) PYENV_ROOT is still looked in, not an error on HOME."""
    repo = stand_in(tmp_path)
    pyenv = tmp_path / "pyenv"
    (pyenv / "versions" / "3.99.0" / "bin").mkdir(parents=True)
    (pyenv / "versions" / "3.99.0" / "bin" / "python").write_text(python_wrapper())
    (pyenv / "versions" / "3.99.0" / "bin" / "python").chmod(0o755)
    env = {"PATH": only(tmp_path), "PYENV_ROOT": str(pyenv), "PIP_NO_INDEX": "1"}
    done = subprocess.run([str(repo / "scripts" / "bootstrap.sh"), "env"], cwd=repo, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert "HOME" not in done.stderr, done.stderr
    assert f"using {pyenv}/versions/3.99.0/bin/python (Python 3." in done.stderr, done.stderr


def test_an_environment_is_known_up_to_date_with_shasum_alone(tmp_path):
    """macOS has shasum but no sha256sum before its recent versions: the stamp is read with either, rather than
    the script stopping on 'sha256sum: command not found'."""
    repo = built(stand_in(tmp_path))
    tools = Path(only(tmp_path))
    (tools / "sha256sum").unlink()
    (tools / "shasum").symlink_to(shutil.which("shasum"))
    done = bootstrap(repo, "test", "-x", path=str(tools))
    assert (done.returncode, done.stdout) == (0, "pytest -x\n"), done.stderr
    assert "environment .venv is up to date" in done.stderr


def test_solara_and_its_assets_are_pinned_to_one_version():
    """The browser app works with no internet only with solara-assets' front-end files of solara's own version
    (docs/install.md): both are pinned, to the same version, and installed so."""
    import re
    import tomllib
    from importlib.metadata import version

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {m[1]: m[2] for d in deps if (m := re.fullmatch(r"(solara|solara-assets)==([\w.]+)", d.replace(" ", "")))}
    assert pins.keys() == {"solara", "solara-assets"} and len(set(pins.values())) == 1, deps
    assert version("solara") == version("solara-assets") == pins["solara"]


def test_env_twice_reuses_the_environment_and_a_pyproject_change_installs_again(tmp_path):
    """An up-to-date environment is reused without pip; after pyproject.toml changes, trustsim is installed again
    into the environment as it is, which needs no other Python: it stopped on 'none was found' where the Python
    that made .venv was no longer on PATH or in pyenv."""
    repo = built(stand_in(tmp_path))
    tools = only(tmp_path)  # no Python at all
    for _ in range(2):
        done = bootstrap(repo, "env", path=tools)
        assert (done.returncode, done.stdout) == (0, ""), done.stderr
        assert done.stderr == "trustsim setup: environment .venv is up to date\n"
    with open(repo / "pyproject.toml", "a") as f:
        f.write("# changed\n")
    done = bootstrap(repo, "env", path=tools)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["pip install --quiet --upgrade pip", "pip install --quiet -e .[test]"]
    assert done.stderr.splitlines()[0] == f"trustsim setup: using .venv (Python {sys.version.split()[0]})"
    key = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()[:16]
    assert (repo / ".venv" / ".trustsim-stamp").read_text() == f"{key} {repo} [test]\n"
    done = bootstrap(repo, "env", path=tools)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


def test_a_clone_whose_path_has_a_space_is_set_up_and_run(tmp_path):
    """The stamp names the clone's path, spaces and all: the environment is known up to date there, and run
    finds the baseline and the scenarios given from another directory with a space in its path."""
    repo = built(stand_in(tmp_path, "my clone"))
    elsewhere = tmp_path / "my work"
    elsewhere.mkdir()
    done = bootstrap(repo, "env")
    assert done.stderr == "trustsim setup: environment .venv is up to date\n", done.stderr
    done = bootstrap(repo, "run", cwd=elsewhere)
    assert done.stdout.splitlines() == [str(elsewhere), "run", f"{repo}/scenarios/baseline.toml"], done.stderr
    done = bootstrap(repo, "run", "a b.toml", "--out", "c d", cwd=elsewhere)
    assert done.stdout.splitlines() == [str(elsewhere), "run", "a b.toml", "--out", "c d"], done.stderr


def test_a_users_own_environment_installed_into_stays_theirs(tmp_path):
    """Installing trustsim into a .venv of the user's own leaves its stamp there; when that environment later
    cannot serve (its Python gone), it is still left as it is: the stamp made it count as the script's own,
    and it was removed with everything in it."""
    repo = built(stand_in(tmp_path))
    env = repo / ".venv"
    (env / ".trustsim-stamp").unlink()  # the user's: no stamp, no mark
    (env / "mine.txt").write_text("the user's")
    tools = only(tmp_path, python3=python_wrapper())
    done = bootstrap(repo, "env", path=tools)
    assert done.returncode == 0 and (env / ".trustsim-stamp").is_file(), done.stderr
    (env / "bin" / "python").write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.11.2"\nexit 1\n')
    done = bootstrap(repo, "env", path=tools)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert "did not make" in line and "left as it is" in line, line
    assert (env / "mine.txt").read_text() == "the user's"


def test_a_moved_clones_environment_is_made_anew_and_a_users_own_named(tmp_path):
    """A virtual environment cannot be moved: its activate script and its tools' first lines name the folder it was
    made in, so after a clone was moved (or renamed) and the environment activated, `trustsim` was not found and
    `python` was the system's; the set-up reinstalled into it and said "ready". Its own is made anew; the user's
    own is named in one line and left as it is."""
    repo = built(stand_in(tmp_path))
    moved = tmp_path / "moved"
    repo.rename(moved)
    (moved / ".venv" / "old.txt").write_text("made in the old folder")
    done = bootstrap(moved, "env")  # this test's Python makes it (trustsim's install fails here: no index)
    assert f"trustsim setup: .venv was made in {repo}, and an environment cannot be moved: making it anew" in \
        done.stderr.splitlines(), done.stderr
    assert not (moved / ".venv" / "old.txt").exists() and (moved / ".venv" / "pyvenv.cfg").is_file()
    assert str(moved / ".venv") in (moved / ".venv" / "bin" / "activate").read_text()
    theirs = built(stand_in(tmp_path, "theirs"))
    (theirs / ".venv" / ".trustsim-theirs").touch()
    theirs.rename(tmp_path / "theirs2")
    done = bootstrap(tmp_path / "theirs2", "env")
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert f"(made in {theirs}, and an environment cannot be moved)" in line and "left as it is" in line, line
    assert (tmp_path / "theirs2" / ".venv" / "bin" / "trustsim").is_file()
