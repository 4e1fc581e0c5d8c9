"""Broken parameter files through `trustsim check`, `run` and `sweep`: exit 2, one line, nothing written.

The corpus lives in ``tests/cli/fuzz_corpus/`` and is written by ``tests/cli/make_fuzz_corpus.py``; its
``index.json`` says what each command must do with each case. Every case goes through the three
commands in-process (``trustsim.cli.main``); a few go through the real entry point as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import make_fuzz_corpus
import pytest
from conftest import ROOT

from trustsim.cli import main

CORPUS = make_fuzz_corpus.CORPUS
INDEX = json.loads((CORPUS / "index.json").read_text())
CASES = sorted(INDEX)
TRIED = {"cases": 0, "refused": 0, "accepted": 0, "commands": 0}
HAS_SWEEP = True
try:
    import trustsim.experiments  # noqa: F401
except ImportError:  # the sweep command is optional in a partial checkout
    HAS_SWEEP = False
# a few accepted files are also run (small and short), to show that an accepted file really runs
RUN_ACCEPTED = {c for c in CASES if INDEX[c]["run"] == 0}
RUN_ACCEPTED = set(sorted(RUN_ACCEPTED)[:: max(1, len(RUN_ACCEPTED) // 4)])
SHRINK = ["--steps", "2", "--set", "market.buyers=4", "--set", "market.suppliers=2", "--quiet"]


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print(f"\nfuzzed parameter files tried: {TRIED['cases']} of {len(CASES)} "
          f"({TRIED['refused']} refusals and {TRIED['accepted']} acceptances checked, "
          f"{TRIED['commands']} commands run)")


def snapshot(*folders: Path) -> dict:
    return {str(p): p.stat().st_size for f in folders if f.exists() for p in sorted(f.rglob("*"))}


def assert_refused(code, err, case, expect):
    assert code == 2, f"{case}: exit {code}\n{err}"
    lines = err.splitlines()
    assert len(lines) == 1, f"{case}: {len(lines)} lines on stderr:\n{err[:2000]}"
    line = lines[0]
    assert line.startswith("trustsim: error: ") and "Traceback" not in err, line[:300]
    blame = str(CORPUS / expect["blame"]) if expect.get("blame") else None
    if blame:
        assert os.path.normpath(blame) in os.path.normpath(line) or Path(blame).name in line, (blame, line[:300])
    if expect.get("key"):
        assert expect["key"][:40] in line, (expect["key"], line[:300])
    if expect.get("needle"):
        assert expect["needle"] in line, (expect["needle"], line[:300])
    assert len(line) < 1000, f"{case}: a {len(line)}-character error line"


def test_the_corpus_is_what_the_generator_writes():
    files, _ = make_fuzz_corpus.build()
    assert make_fuzz_corpus.on_disk() == files, "run: python tests/cli/make_fuzz_corpus.py"


def test_the_reliability_page_gives_the_corpus_size():
    """docs/reliability.md says how many cases and files the corpus holds: the generator's counts, not those of
    an older corpus (a case added without the page said 367 cases of 440 files)."""
    files, index = make_fuzz_corpus.build()
    tomls = sum(name.endswith(".toml") for name in files)
    page = " ".join((ROOT / "docs" / "reliability.md").read_text().split())
    said = f"the {len(index)} cases ({tomls} files) of"
    assert said in page, f"docs/reliability.md should say: {said}"


@pytest.mark.parametrize("case", CASES)
def test_case_through_check_run_and_sweep(case, tmp_path, capsys, monkeypatch):
    expect = INDEX[case]
    path = CORPUS / case
    monkeypatch.chdir(tmp_path)  # a stray default results/ folder would show up here
    corpus_before = snapshot(path.parent)
    TRIED["cases"] += 1

    def cli(*args):
        TRIED["commands"] += 1
        before = snapshot(tmp_path)
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err, before

    code, out, err, _ = cli("check", path)
    if expect["check"] == 2:
        assert_refused(code, err, case, expect)
        TRIED["refused"] += 1
    else:
        assert code == 0 and err == "" and "valid" in out, (case, code, err[:500])
        TRIED["accepted"] += 1

    out_dir = tmp_path / "out"
    if expect["run"] == 2:
        code, _, err, before = cli("run", path, "--out", out_dir, "--quiet")
        assert_refused(code, err, case, expect)
        assert snapshot(tmp_path) == before, f"{case}: run wrote something"
        TRIED["refused"] += 1
    elif case in RUN_ACCEPTED:
        code, _, err, _ = cli("run", path, "--out", out_dir, *SHRINK)
        assert code == 0, (case, err[:500])
        assert (out_dir / "manifest.json").is_file() and (out_dir / "timeseries.csv").is_file()
        TRIED["accepted"] += 1

    if HAS_SWEEP and expect["sweep"] == 2:
        code, _, err, before = cli("sweep", path, "--out", tmp_path / "sweep", "--quiet", "--workers", "1")
        assert_refused(code, err, case, expect)
        assert snapshot(tmp_path) == before, f"{case}: sweep wrote something"
        TRIED["refused"] += 1
    assert snapshot(path.parent) == corpus_before, f"{case}: something was written next to the input"


ENTRY_POINT_CASES = ["garbage/random_256.bin.toml", "extends/cycle_of_2/main.toml", "huge/int_5000_digits.toml",
                     "encoding/utf16_bom.toml", "garbage/deep_array.toml", "unknown/key_trust.gain.toml",
                     "sweep/bad_design.toml"]


@pytest.mark.parametrize("case", ENTRY_POINT_CASES)
def test_the_real_entry_point_says_the_same(case, tmp_path, capsys):
    assert case in INDEX
    command = "sweep" if INDEX[case]["check"] == 0 else "run"
    args = [command, str(CORPUS / case), "--out", str(tmp_path / "out"), "--quiet"]
    script = Path(sys.executable).with_name("trustsim")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "trustsim"]
    proc = subprocess.run([*launcher, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    code = main(args)
    _, err = capsys.readouterr()
    assert proc.returncode == code == 2
    assert proc.stderr == err and len(err.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == "" and not (tmp_path / "out").exists()
