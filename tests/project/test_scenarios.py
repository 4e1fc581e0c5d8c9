"""The scenario files and what is said of them: README's table of scenarios names every file in scenarios/
and no other, and a command a file's comments show uses options the command has."""

import re

from conftest import ROOT, SCENARIOS

from trustsim import cli


def readme_scenarios() -> set[str]:
    """The files README's "Editing scenarios" names in its table and in its sentence on sweep files."""
    section = (ROOT / "README.md").read_text().split("## Editing scenarios", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    sweeps = [p for p in section.split("\n\n") if "[sweep]" in p and "describe many runs" in p]
    assert rows and sweeps, "README's scenario table or its sentence on sweep files is missing"
    return set(re.findall(r"`(\w+\.toml)`", "\n".join(rows + sweeps)))


def test_readme_names_every_scenario_file_and_no_other():
    files = {p.name for p in SCENARIOS.glob("*.toml")}
    named = readme_scenarios()
    assert files - named == set(), "in scenarios/ but not in README's table"
    assert named - files == set(), "in README's table but not in scenarios/"


def commented_commands():
    """Each ``trustsim WORD … --option`` in the comments of scenarios/*.toml: (file, word, options)."""
    for path in sorted(SCENARIOS.glob("*.toml")):
        for line in path.read_text().splitlines():
            if "#" not in line:
                continue
            for m in re.finditer(r"trustsim (\w+)([^`()#]*)", line.split("#", 1)[1]):
                yield path.name, m.group(1), re.findall(r"(?<!\w)--[\w-]+", m.group(2))


def test_commands_in_scenario_comments_use_options_that_exist():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    found, wrong = 0, []
    for name, command, options in commented_commands():
        if command not in sub:  # prose ("trustsim baseline scenario"), not a command line
            continue
        found += 1
        known = {s for a in sub[command]._actions for s in a.option_strings}
        wrong += [f"{name}: trustsim {command} has no {o}" for o in options if o not in known]
    assert found >= 10, found
    assert wrong == []


def test_a_parameter_measured_as_a_share_allows_no_value_outside_0_to_1():
    """The unit "share" tells a reader the value is a part of a whole: a weight that may exceed 1 is unitless."""
    from trustsim.schema_table import schema_rows

    shares = {r["key"]: r["range"] for r in schema_rows() if r["unit"] == "share"}
    wrong = {k: v for k, v in shares.items() if not all(0.0 <= float(x) <= 1.0 for x in v.split(" … "))}
    assert len(shares) >= 15 and wrong == {}


def test_the_baseline_file_gives_each_parameter_s_unit_and_range_as_the_schema_does():
    """scenarios/baseline.toml's comment on each parameter is what `trustsim params` gives for it: its meaning, its
    unit in brackets (where it has one) and its allowed range."""
    from trustsim.schema_table import schema_rows

    rows = {r["key"]: r for r in schema_rows()}
    group, seen, wrong = None, set(), []
    for line in (SCENARIOS / "baseline.toml").read_text().splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            group = m.group(1)
        elif (m := re.match(r"^(\w+) = .*?# (.*)$", line)) and group:
            r = rows[f"{group}.{m.group(1)}"]
            unit = f" [{r['unit']}]" if r["unit"] else ""
            if m.group(2) != f"{r['meaning']}{unit}; range {r['range']}":
                wrong.append(f"{r['key']}: {m.group(2)[-60:]!r}, schema: {unit}; range {r['range']}")
            seen.add(r["key"])
    assert seen == set(rows)
    assert wrong == []
