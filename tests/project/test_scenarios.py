"""The scenario files and what is said of them: README's table of scenarios names every file in scenarios/
and no other."""

import re

from conftest import ROOT, SCENARIOS


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

