"""docs/ODD.md and docs/results.md stay in step with the code: the parameter table is the schema's, the
results columns are the registry's, the functions the ODD names exist, every rule and phase is described, the
names its submodels put in code type are the code's, and its links lead somewhere.

When the parameter or column table is out of date, regenerate it with ``python scripts/update_docs.py --params``.
"""

import importlib
import importlib.util
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from trustsim import cli
from trustsim.columns import markdown_table
from trustsim.schema_table import schema_markdown

ODD_PATH = ROOT / "docs" / "ODD.md"
ODD = ODD_PATH.read_text()
RESULTS = (ROOT / "docs" / "results.md").read_text()
CALIBRATION = ROOT / "docs" / "calibration"  # the record the calibrated defaults come from
HINT = "docs/ODD.md's parameter table differs from the schema: run  python scripts/update_docs.py --params"
COLUMNS_HINT = ("docs/results.md's results columns differ from trustsim/columns.py: "
                "run  python scripts/update_docs.py --params")
# trustsim/<module>.py:<name>[.<attribute>…] (or trustsim/<package>/<module>.py:…), not swallowing a full stop
# that ends a sentence
REF = re.compile(r"trustsim/((?:\w+/)*\w+)\.py:([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def block(text, name):
    assert f"<!-- {name}:begin -->\n" in text and f"<!-- {name}:end -->" in text, f"no {name} block"
    return text.split(f"<!-- {name}:begin -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0].rstrip()


def test_parameter_table_is_generated_from_the_schema():
    assert block(ODD, "params") == schema_markdown(), HINT


def test_cli_and_docs_print_the_same_parameter_table(capsys):
    assert cli.main(["params", "--markdown"]) == 0
    assert capsys.readouterr().out.rstrip() == block(ODD, "params"), HINT


def test_results_page_columns_are_generated_from_the_registry():
    assert block(RESULTS, "columns") == markdown_table().rstrip(), COLUMNS_HINT


def test_cli_and_results_page_print_the_same_column_table(capsys):
    assert cli.main(["columns", "--markdown"]) == 0
    assert capsys.readouterr().out.rstrip() == block(RESULTS, "columns"), COLUMNS_HINT


def test_results_page_names_every_column_of_buyers_csv():
    from trustsim.model import TrustMarket
    from trustsim.params import Params

    model = TrustMarket(Params().replace(**{"market.buyers": 4, "market.suppliers": 2, "run.steps": 2}), rng=0).run()
    row = next(line for line in RESULTS.splitlines() if line.startswith("| `buyers.csv`"))
    assert [c for c in model.buyer_sums.frame(model).columns if f"`{c}`" not in row] == []


def test_the_odd_lists_every_timeseries_column_and_summary_key():
    from trustsim.metrics import TIMESERIES_HEADER
    from trustsim.model import TrustMarket
    from trustsim.params import Params

    listed = ODD.split("- `timeseries.csv`:", 1)[1].split("\n- ", 1)[0]
    named = re.findall(r"\w+", listed.split("columns `", 1)[1].split("`", 1)[0])
    assert named == list(TIMESERIES_HEADER)
    summary = ODD.split("- `summary.json`:", 1)[1].split("\n- ", 1)[0]
    model = TrustMarket(Params().replace(**{"market.buyers": 4, "market.suppliers": 2, "run.steps": 2}), rng=0).run()
    assert [k for k in model.recorder.summary() if k not in summary] == []


def test_update_script_check_mode_agrees():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_docs.py"), "--params", "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_settling_figure_script_draws_its_figure_and_prints_each_sigma(tmp_path):
    """``scripts/settling_figure.py`` (docs/experiments.md, "Where the market settles"), on a short run."""
    out = tmp_path / "settling.png"
    proc = subprocess.run([sys.executable, "scripts/settling_figure.py", "--steps", "60", "--seeds", "2",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"σ {s}" for s in (0.0, 0.3, 0.6, 0.9)], proc.stdout
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("script", ["settling_figure", "settled_channels", "learned_values"])
@pytest.mark.parametrize("args, needle", [(["--steps", "0"], "--steps: 0 must be at least 1"),
                                          (["--steps", "2000000"], "--steps: 2000000 is out of range (allowed 1 to"),
                                          (["--seeds", "-1"], "--seeds: -1 must be at least 1")])
def test_the_settling_scripts_tell_a_bad_option_in_one_line_with_exit_2_and_write_nothing(script, args, needle,
                                                                                           tmp_path):
    """The scripts docs/experiments.md gives users: a bad option is argparse's one line (after its usage), not a
    traceback from deep in a run, and the figure's file is not written."""
    out = ["--out", str(tmp_path / "settling.png")] if script == "settling_figure" else []
    proc = subprocess.run([sys.executable, f"scripts/{script}.py", *args, *out], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith(f"{script}.py: error: argument ") and needle in last, proc.stderr
    assert proc.stdout == "" and not any(tmp_path.iterdir())


def test_the_settling_figure_script_replaces_an_existing_file_only_with_force(tmp_path):
    """An existing ``--out`` (a user's file, or the committed figure) is refused in one line with exit 2 and left
    as it was; a folder or a missing folder is named the same way; with ``--force`` the file is replaced whole."""
    out = tmp_path / "mine.png"
    out.write_bytes(b"a user's file")

    def script(*args):
        return subprocess.run([sys.executable, "scripts/settling_figure.py", "--steps", "20", "--seeds", "2", *args],
                              capture_output=True, text=True, cwd=ROOT)

    for target, needle in ((out, "exists; --force replaces it"), (tmp_path, "is a folder; name a file"),
                           (tmp_path / "no" / "f.png", "cannot be written: there is no folder")):
        proc = script("--out", str(target))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert needle in proc.stderr.splitlines()[-1] and proc.stdout == "", proc.stderr
    assert out.read_bytes() == b"a user's file" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]
    proc = script("--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]


def test_the_learned_values_script_gives_each_variants_gaps_as_the_markets_arrays_hold_them(tmp_path):
    """``scripts/learned_values.py`` (the ODD's reading of R3): its three lines, run from another folder, equal the
    gaps computed here from the same runs' arrays."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "learned_values.py"), "--steps", "160", "--seeds",
                           "2"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    print(proc.stdout)
    lines = proc.stdout.splitlines()
    assert [line[:28].strip() for line in lines] == ["defaults", "short-termists (horizon 2)", "null model"]
    from trustsim import TrustMarket, rules
    from trustsim.scenario import load_scenario

    values, gaps = [], []
    for seed in (1, 2):
        model = TrustMarket(load_scenario(ROOT / "scenarios" / "learning.toml", steps=160, seed=seed).params, rng=seed)
        mk = model.market
        while model.running:
            model.step()
            if model.steps >= 100 and mk.partner_terms.any() and not mk.partner_terms.all():
                v = rules.realised_value(model.ev.tco, model.ev.own_cost_cut, model.params.buyers.horizon)
                values.append(v[mk.partner_terms].mean() - v[~mk.partner_terms].mean())
                gaps.append(np.nanmean(mk.attraction_partner - mk.attraction_market))
    assert f"value partner − market {np.mean(values):+.3f} a step, attraction gap {np.mean(gaps):+.3f} " \
           f"({len(values)} market-steps" in lines[0]


def test_the_settled_channels_script_splits_p4_and_the_ideas_as_single_runs_measure_them():
    """``scripts/settled_channels.py`` (docs/experiments.md, "Where the market settles"): each seed's split of P4
    into the fifths' units and purchasing hours is the one its own single run gives, and the command prints P4 at
    both run lengths and the four idea variants at both, the baseline losing nothing to itself."""
    from trustsim.model import TrustMarket
    from trustsim.params import Params
    from trustsim.patterns.measure import quintile_figures, trust_fifths

    script = load_script("settled_channels")
    parts = script.p4_parts(60, 2)
    for i, seed in enumerate((1, 2)):
        model = TrustMarket(Params().replace(**{"run.steps": 60}), rng=seed).run()
        sums = model.buyer_sums
        low, high, _ = trust_fifths(sums.frame(model))
        units, hours = (sums.matrix[sums.FIELDS.index(f)] for f in ("units", "purchasing"))
        lo, hi = low["buyer"].to_numpy(), high["buyer"].to_numpy()
        assert parts["units"][i] == units[hi].mean() / units[lo].mean()
        assert parts["purchasing hours"][i] == hours[hi].mean() / hours[lo].mean()
        assert parts["units per purchasing hour"][i] == quintile_figures(sums.frame(model))["units_per_hour_ratio"]
    proc = subprocess.run([sys.executable, "scripts/settled_channels.py", "--steps", "40", "--seeds", "3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    length = Params().run.steps
    assert [line.split(",")[:2] for line in lines[:2]] == [["P4", " 40 steps"], ["P4", f" {length} steps"]]
    assert [line.split(":")[0] for line in lines[2:]] == [f"{name}, {steps} steps" for steps in (40, length)
                                                          for name in script.IDEAS_OFF], proc.stdout
    assert "lost +0.000 [+0.000, +0.000]" in lines[2] and "lost +0.000" not in lines[4], proc.stdout


def test_every_function_the_odd_names_exists():
    refs = set(REF.findall(ODD))
    assert len(refs) > 40
    for module, dotted in sorted(refs):
        assert (ROOT / "trustsim" / f"{module}.py").is_file(), f"trustsim/{module}.py does not exist"
        obj = importlib.import_module(f"trustsim.{module.replace('/', '.')}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"trustsim/{module}.py:{dotted} does not exist"
            obj = getattr(obj, part)
        assert callable(obj) or dotted.isupper(), f"trustsim/{module}.py:{dotted} is not a function"


def test_every_rule_and_phase_is_described():
    from trustsim import phases, rules, sourcing

    named = {name for module, name in REF.findall(ODD) if module in ("rules", "phases", "sourcing")}
    for module in (rules, phases, sourcing):
        public = {n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")
                  and getattr(getattr(module, n), "__module__", "") == module.__name__}
        assert public <= named, f"not in docs/ODD.md: {sorted(public - named)}"
    section3 = ODD.split("## 3. Process overview and scheduling", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"^\| \d+ \| [^|]+ \| `trustsim/(phases|sourcing)\.py:(\w+)`", section3, re.M)
    schedule = [(phase.__module__.rsplit(".", 1)[1], phase.__name__) for phase in phases.SCHEDULE]
    assert table == schedule, "section 3's table is not the schedule"


def test_odd_sections_come_in_protocol_order():
    headings = re.findall(r"^## (.+)$", ODD, re.M)
    odd = ["1. Purpose and patterns", "2. Entities, state variables and scales", "3. Process overview and scheduling",
           "4. Design concepts", "5. Initialisation", "6. Input data", "7. Submodels"]
    assert [h for h in headings if h[:1].isdigit()] == odd
    assert "Differences from the specification and their reasons" in headings
    concepts = ("Basic principles", "Emergence", "Adaptation", "Objectives", "Learning", "Prediction", "Sensing",
                "Interaction", "Stochasticity", "Collectives", "Observation")
    section4 = ODD.split("## 4. Design concepts", 1)[1].split("\n## ", 1)[0]
    assert [c for c in concepts if f"**{c}.**" not in section4] == []


def test_claims_and_patterns_are_all_there():
    assert all(f"| S{i} |" in ODD for i in range(1, 20))
    submodels = ODD.split("## 7. Submodels", 1)[1].split("\n## ", 1)[0]
    cited = {int(n) for n in re.findall(r"\bS(\d+)\b", submodels)}
    assert cited == set(range(1, 20)), f"claims no submodel cites: {sorted(set(range(1, 20)) - cited)}"
    table = block(ODD, "patterns")
    assert all(f"| P{i} |" in table for i in range(1, 11))
    block(ODD, "calibration")


def test_links_lead_somewhere():
    anchors = set()
    for heading in re.findall(r"^#{2,4} (.+)$", ODD, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    for target in re.findall(r"\]\(([^)\s]+)\)", ODD):
        if target.startswith("#"):
            assert target[1:] in anchors, f"no heading for the link {target}"
        elif "://" not in target:
            assert (ODD_PATH.parent / target.split("#")[0]).exists(), f"broken link {target}"


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_calibrated_defaults_are_the_records_posterior():
    """Each parameter the published figures inform ships with its posterior median (three figures), from the
    committed record; the others keep their value, and the ODD's table is the one the record gives."""
    from trustsim.calibration.defaults import calibrated_defaults, markdown
    from trustsim.params import Params

    flat = Params().flat()
    adopted = calibrated_defaults(CALIBRATION)
    print("calibrated defaults:", adopted)
    assert adopted and all(float(flat[k]) == v for k, v in adopted.items()), "re-run scripts/update_docs.py"
    manifest = json.loads((CALIBRATION / "manifest.json").read_text())
    text = markdown(CALIBRATION, {k: float(flat[k]) for k in manifest["parameters"]})
    assert text in ODD_PATH.read_text()
    assert (ROOT / manifest["calibration_file"]["path"]).is_file()


def test_a_parameter_the_figures_do_not_inform_keeps_its_value(tmp_path):
    """The rule on a hand-made posterior: a parameter whose spread stays the prior's is not adopted; one the
    figures pin down takes its weighted median, rounded to three significant figures."""
    import pandas as pd

    from trustsim.calibration.defaults import calibrated_defaults, posterior_summary

    rng = np.random.default_rng(0)
    n = 400
    post = pd.DataFrame({"generation": 1, "particle": range(n), "weight": 1.0 / n, "structure": 0,
                         "a.wide": rng.uniform(0, 1, n), "a.narrow": rng.normal(0.123456, 0.01, n)})
    post.to_parquet(tmp_path / "posterior.parquet")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"parameters": ["a.wide", "a.narrow"], "prior": {"a.wide": [0, 1], "a.narrow": [0, 1]}}))
    rows = {r["parameter"]: r for r in posterior_summary(tmp_path)}
    assert abs(rows["a.wide"]["shrinkage"]) < 0.15 and rows["a.narrow"]["shrinkage"] > 0.99
    assert calibrated_defaults(tmp_path) == {"a.narrow": round(rows["a.narrow"]["median"], 3)}


def test_the_readme_says_how_its_bare_trustsim_commands_run():
    """The set-up installs into .venv/ and puts nothing on PATH, while the README's commands say ``trustsim``:
    its set-up names the activation that makes them run as written."""
    readme = (ROOT / "README.md").read_text()
    assert "\ntrustsim run scenarios/baseline.toml" in readme
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert "source .venv/bin/activate" in setup


def test_the_readme_gives_the_replicates_seeds_as_they_are_made():
    """A reader who computes replicate r's seed by the README's formula gets the seed replications.csv lists."""
    from trustsim.experiments.design import run_seed

    readme = " ".join((ROOT / "README.md").read_text().split())
    assert ("Replicate r gets the seed `SeedSequence(root, spawn_key=(0, r)).generate_state(1, numpy.uint64)[0]` "
            "with its top bit cleared") in readme
    for root, r in ((0, 1), (20240501, 7)):
        word = np.random.SeedSequence(root, spawn_key=(0, r)).generate_state(1, np.uint64)[0]
        assert run_seed(root, 0, r) == int(word) & (2**63 - 1)


def test_the_all_parameter_analysis_quotes_its_own_indices():
    """docs/experiments.md's account of what the partner advantage rests on quotes total indices and their
    half-widths from docs/sensitivity_all/sensitivity.csv: every "ST ± half-width" it gives, in its order, is the
    table's, rounded to two places."""
    import csv

    page = (ROOT / "docs" / "experiments.md").read_text()
    text = " ".join(page.split("In total index ST (± its 95% interval's half-width)", 1)[1].split("\n\n", 1)[0].split())
    quoted = re.findall(r"\((\d\.\d\d ± \d\.\d\d)\)", text)
    with open(ROOT / "docs" / "sensitivity_all" / "sensitivity.csv", newline="") as fh:
        table = {(r["metric"], r["factor"]): r for r in csv.DictReader(fh)}
    order = [("advantage.market_share", f) for f in ("trust.initial", "suppliers.improvable", "trust.share_threshold",
                                                     "downstream.price_sensitivity", "market.uncertainty",
                                                     "market.fit_spread")]
    order += [("advantage.profit_cum", f) for f in ("market.uncertainty", "trust.initial", "market.demand",
                                                   "trust.share_threshold", "suppliers.improvable")]
    order += [("advantage.tco_per_unit", f) for f in ("market.uncertainty", "market.fit_spread")]
    expected = [f"{float(table[k]['ST']):.2f} ± {float(table[k]['ST_conf']):.2f}" for k in order]
    assert quoted == expected


def test_each_phase_cites_the_claims_of_its_row_and_its_section():
    """Section 3's table, the heading of the submodel that names the phase and the phase's docstring ("Phase N
    (S…)") cite the same claims, and the docstring gives the phase's place in the schedule."""
    from trustsim import phases

    section3 = ODD.split("## 3. Process overview and scheduling", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| `trustsim/(phases|sourcing)\.py:(\w+)` \| ([^|]+) \|", section3, re.M)
    submodels = re.split(r"^### ", ODD.split("## 7. Submodels", 1)[1].split("\n## ", 1)[0], flags=re.M)[1:]
    assert len(rows) == len(phases.SCHEDULE)  # every phase has its row (the test above checks which)
    wrong = []
    for number, module, name, claims in rows:
        cited = re.findall(r"S\d+", claims)
        doc = getattr(importlib.import_module(f"trustsim.{module}"), name).__doc__
        said = re.match(r"Phase (\d+) \(([^)]*)\)", doc)
        if not said or said.group(1) != number or re.findall(r"S\d+", said.group(2)) != cited:
            wrong.append(f"{name}: docstring {doc.split(':', 1)[0]!r}, table: phase {number} ({claims.strip()})")
        section = next(s for s in submodels if f"`trustsim/{module}.py:{name}`" in s)
        heading = section.split("\n", 1)[0]
        if re.findall(r"S\d+", heading) != cited:
            wrong.append(f"{name}: section {heading!r}, table: {claims.strip()}")
    assert wrong == []


def test_the_claims_decisions_and_sections_cited_exist():
    """Every claim (S-number) the code cites is one of the ODD's claims; every decision the code, the scenario files
    and the pages cite is one of its numbered decisions; every ODD section they cite by number has a heading."""
    claims = set(re.findall(r"^\| (S\d+) \|", ODD, re.M))
    differences = ODD.split("## Differences from the specification and their reasons", 1)[1].split("\n## ", 1)[0]
    decisions = {int(n) for n in re.findall(r"^ ?(\d+)\. \*\*", differences, re.M)}
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+a?)?)[. ]", ODD, re.M))
    assert len(claims) == 19 and decisions >= set(range(1, 41)) and {"3", "7.2a", "7.14"} <= sections
    files = [*sorted((ROOT / "trustsim").rglob("*.py")), *sorted((ROOT / "scenarios").glob("*.toml")),
             *sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    wrong = []
    for path in files:
        text = " ".join(path.read_text().split())
        where = path.relative_to(ROOT)
        if path.suffix == ".py":
            wrong += [f"{where}: {s}" for s in re.findall(r"\b(S\d+)\b", text) if s not in claims]
        for first, last in re.findall(r"\bdecisions? (\d+)(?:[–-](\d+))?\b", text):
            wrong += [f"{where}: decision {n}" for n in range(int(first), int(last or first) + 1) if n not in decisions]
        for n in re.findall(r"\bODD(?:\.md)?,? (?:section )?(\d+(?:\.\d+)?[a-z]?)\b", text):
            wrong += [f"{where}: ODD section {n}" for _ in [n] if n not in sections]
    assert wrong == []


def test_the_glossary_names_only_what_the_code_the_cli_and_the_results_name():
    """Each name the glossary puts in code type is a parameter (``group.name``, or its bare name), one of a
    setting's values, a results column, a summary key, a partner advantage, a command, a file of the repository
    or a function or constant of the package: a renamed one leaves it stale."""
    import trustsim
    from trustsim.params import Params, choices

    text = (ROOT / "docs" / "glossary.md").read_text()
    run = trustsim.simulate(steps=2, buyers=4, suppliers=2)
    flat = Params().flat()
    settings = {v for key in flat if isinstance(flat[key], str) for v in choices(key)}
    known = ({*flat, *(k.split(".")[1] for k in flat), *settings, *run.timeseries.columns, *run.buyers.columns,
              *run.summary, *run.advantages, *run.timeseries["group"]})
    commands = set(cli.build_parser().commands)
    for module, dotted in REF.findall(text):
        obj = importlib.import_module(f"trustsim.{module.replace('/', '.')}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"glossary: trustsim/{module}.py:{dotted} does not exist"
            obj = getattr(obj, part)
    stale = []
    for name in re.findall(r"`([^`]+)`", text):
        if name.startswith("trustsim "):
            ok = name.split()[1] in commands
        elif "/" in name or name.endswith((".md", ".csv", ".json")):
            ok = REF.fullmatch(name) is not None or (ROOT / name).exists() or f"`{name}`" in RESULTS  # results
        elif re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", name):
            ok = name in known or name == "group.name"
        else:
            continue  # an example (extends = "baseline.toml")
        if not ok:
            stale.append(name)
    assert stale == [], f"docs/glossary.md names what nothing is called: {stale}"


def test_every_name_the_submodels_put_in_code_type_is_one_the_code_has():
    """Each bare name in code type in section 7 (its equations, rules and measurements) is a parameter (``group.name``
    or its bare name), one of a setting's values or a setting written as ``name = "value"``, a field of the market's
    state or of a step's events, a results column or a summary key: a renamed one, or a name no parameter has, leaves
    the equation naming what the code does not."""
    import typing

    from trustsim.model import TrustMarket
    from trustsim.params import Params, choices
    from trustsim.state import Events, MarketState

    flat = Params().flat()
    settings = {v for key in flat if isinstance(flat[key], str) for v in choices(key)}
    run = TrustMarket(Params().replace(**{"market.buyers": 4, "market.suppliers": 2, "run.steps": 2}), rng=0).run()
    known = {*flat, *(k.split(".")[1] for k in flat), *settings, *typing.get_type_hints(MarketState),
             *typing.get_type_hints(Events), *run.recorder.frame().columns, *run.recorder.summary(),
             "both_postures"}  # a summary key written only where a posture had no buyers in some steps
    submodels = ODD.split("## 7. Submodels", 1)[1].split("\n## ", 1)[0]
    unknown = []
    for name in re.findall(r"`([^`]+)`", submodels):
        if "/" in name:  # a file or function, checked by test_every_function_the_odd_names_exists
            continue
        setting = re.fullmatch(r'([a-z_]+(?:\.[a-z_]+)?) = "(\w+)"', name)  # a setting and its value
        named = {setting.group(1), setting.group(2)} if setting else {name.strip('"')}
        if not named <= known:
            unknown.append(name)
    assert unknown == [], f"docs/ODD.md section 7 names what the code does not: {unknown}"


def test_section_2_names_every_field_of_the_markets_state():
    """ODD section 2 (entities and state variables) is the list of what a market holds: every field declared in
    ``state.MarketState`` is named there. It missed the learning buyers' attractions and value sums, the terms of
    each slot, its specification epoch and the suppliers' cash at imitation, all of which 7.2a, 7.13 and the
    decisions use."""
    import typing

    from trustsim.state import MarketState

    entities = ODD.split("## 2. Entities", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_0-9]+)`", entities))
    missing = [f for f in typing.get_type_hints(MarketState) if f not in named]
    assert missing == [], f"docs/ODD.md section 2 does not name the market's state fields {missing}"
