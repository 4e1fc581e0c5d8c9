"""trustsim/reproduce.py: what ``trustsim rerun`` holds a result made again to. Two figures are the same when they
differ by at most 1e-9 of the larger or by at most 1e-12 (the promise ``rerun --help`` and docs/results.md make);
every figure of every column counts, whole numbers, texts, column names and keys exactly; and the code's digest
changes with any of the package's source, wherever it lies."""

import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from trustsim.reproduce import compare_file, differences, installed_versions, relative_gap, version_differences

TOLERANCE, FLOOR = 1e-9, 1e-12  # as promised, not read from the module whose promise this checks


@pytest.mark.parametrize("want", [0.3141592653589793, -2.5e6, 7.0e-4, 123.456])
def test_a_figure_moved_by_more_than_the_tolerance_differs_and_by_less_is_the_same(want):
    for moved_by, same in ((10 * TOLERANCE, False), (2 * TOLERANCE, False), (TOLERANCE / 2, True),
                           (TOLERANCE / 20, True)):
        got = want * (1 + moved_by)
        assert (differences(want, got) == []) is same, (want, moved_by)
        assert (relative_gap([1.0, want], [1.0, got]) <= TOLERANCE) is same, (want, moved_by)


def test_a_gap_of_exactly_the_tolerance_or_the_floor_is_still_the_same_figure():
    """At most 1e-9 of the larger, or at most 1e-12: the bound itself is inside."""
    for want, got in ((1e9, 999_999_999.0), (0.0, FLOOR)):
        assert relative_gap(want, got) == TOLERANCE and differences(want, got) == [], (want, got)


def test_the_gap_is_taken_of_the_larger_number_and_a_figure_near_zero_of_the_floor():
    assert relative_gap(1.0, 2.0) == 0.5 == relative_gap(-2.0, -1.0)  # |1 − 2| / 2, not / 1
    assert relative_gap(0.0, 1e-17) <= TOLERANCE and differences(0.0, 1e-17) == []  # 0 here, 1e-17 there
    assert differences(-3e-16, 4e-16) == []
    assert relative_gap(0.0, 1e-6) > TOLERANCE and differences(0.0, 1e-6) != []  # a millionth is no rounding


def test_nan_opposite_nan_is_the_same_and_opposite_a_number_is_an_infinite_gap():
    nan = math.nan
    assert relative_gap([nan, 1.0], [nan, 1.0]) == 0.0 and differences(nan, nan) == []
    assert relative_gap([nan, 1.0], [1.0, 1.0]) == math.inf == relative_gap([1.0], [nan])
    assert differences(nan, 0.5) != [] and differences(0.5, nan) != []


def test_one_figure_moved_among_many_is_the_gap_of_the_whole():
    want = np.linspace(1.0, 2.0, 400)
    got = want.copy()
    got[137] *= 1 + 1e-6
    assert relative_gap(want, got) == pytest.approx(1e-6 / (1 + 1e-6), rel=1e-6)
    assert relative_gap(want, want) == 0.0 and relative_gap(want, got[:-1]) == math.inf  # another shape


def test_records_differ_in_a_key_on_either_side_and_in_the_type_of_a_number():
    assert differences({"a": 1.0}, {"a": 1.0}) == []
    for want, got in (({"a": 1.0}, {"a": 1.0, "b": 2.0}), ({"a": 1.0, "b": 2.0}, {"a": 1.0})):
        found = differences(want, got)
        assert len(found) == 1 and "'b'" in found[0], found
    for want, got in ((1, 1.0), (1.0, 1), (True, 1), (0, False), ("1", 1)):  # a count recorded, a real made: not alike
        assert differences(want, got) != [], (want, got)
    assert differences([1, 2], [1, 2, 3]) != [] and differences({"x": [1, "a"]}, {"x": [1, "b"]}) != []


TABLE = "step,group,buyers,seed,trust,share\n0,all,12,{seed},{trust},{share}\n1,partner,12,5,0.25,0.5\n"
BIG_SEED = 2**60


def _tables(tmp_path, **edit):
    """The original table and one made again, edited by ``edit``."""
    fields = {"seed": BIG_SEED, "trust": 0.3141592653589793, "share": 0.6180339887498949}
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text(TABLE.format(**fields))
    new.write_text(TABLE.format(**{**fields, **edit}))
    return new, old


def test_a_table_made_again_is_identical_close_or_differs_by_its_largest_gap(tmp_path):
    assert compare_file(*_tables(tmp_path)) == ("identical", 0.0)
    verdict, gap = compare_file(*_tables(tmp_path, trust=0.3141592653589793 * (1 + TOLERANCE / 4)))
    assert verdict == "close" and 0 < gap <= TOLERANCE
    verdict, gap = compare_file(*_tables(tmp_path, trust=0.3141592653589793 * (1 + 1e-7)))
    assert verdict == "differs" and gap == pytest.approx(1e-7, rel=1e-3)
    # the first real column moved, the last not: the gap is the first's, not the last column's
    verdict, gap = compare_file(*_tables(tmp_path, trust=0.3141592653589793 * (1 + 1e-7),
                                         share=0.6180339887498949 * (1 + TOLERANCE / 4)))
    assert verdict == "differs" and gap == pytest.approx(1e-7, rel=1e-3)


@pytest.mark.parametrize("edit", [{"share": 0.6180339887498949 * (1 + 1e-6)},  # the last column
                                  {"seed": BIG_SEED + 1},  # a whole number: as a float it equals the original
                                  ], ids=["last_column", "seed_by_one"])
def test_a_table_with_one_number_changed_differs(tmp_path, edit):
    assert compare_file(*_tables(tmp_path, **edit))[0] == "differs"


def test_a_table_with_a_text_or_a_column_name_changed_differs(tmp_path):
    new, old = _tables(tmp_path)
    new.write_text(old.read_text().replace("partner", "aggressive"))
    assert compare_file(new, old) == ("differs", math.inf)
    new.write_text(old.read_text().replace("trust,share", "trust,market_share"))
    assert compare_file(new, old) == ("differs", math.inf)
    assert compare_file(new, tmp_path / "none.csv")[0] == "missing"


def test_the_versions_a_manifest_records_are_compared_and_those_it_does_not_are_not():
    assert version_differences({}) == [] and version_differences(installed_versions()) == []
    older = {**installed_versions(), "numpy": "0.0.1"}
    assert version_differences(older) == [f"numpy 0.0.1 recorded, {installed_versions()['numpy']} installed"]


def _digest(package_parent):
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([sys.executable, "-c", "from trustsim.reproduce import code_digest; print(code_digest())"],
                          env=env, capture_output=True, text=True, check=True, cwd=package_parent).stdout.strip()


def test_the_code_digest_follows_every_source_file_and_not_where_the_package_lies(tmp_path):
    """Copies of the package in two folders are the same code; a comment changed in a module, or in a module of a
    subpackage (the command a result is rerun by), is other code."""
    copies = []
    for name in ("a", "b", "c", "d"):
        shutil.copytree(ROOT / "trustsim", tmp_path / name / "trustsim",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        copies.append(tmp_path / name)
    with open(copies[1] / "trustsim" / "errors.py", "a") as f:
        f.write("# another state of the code\n")
    with open(copies[2] / "trustsim" / "commands" / "rerun.py", "a") as f:
        f.write("# another state of the code\n")
    same, top, sub, elsewhere = (_digest(c) for c in copies)
    assert len(same) == 16 and same not in (top, sub) and top != sub
    assert elsewhere == same  # the same code in another folder
