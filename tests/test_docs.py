"""docs/ODD.md stays in step with the code: its parameter table is the schema's, its references exist."""

import importlib
import re
from pathlib import Path

from trustsim.params import schema_markdown

ROOT = Path(__file__).resolve().parents[1]
ODD = (ROOT / "docs" / "ODD.md").read_text()


def block(text, name):
    return text.split(f"<!-- {name}:begin -->\n", 1)[1].split(f"<!-- {name}:end -->", 1)[0].rstrip()


def test_parameter_table_is_generated_from_the_schema():
    assert block(ODD, "params") == schema_markdown(), "run: python scripts/update_docs.py --params"


def test_every_function_the_odd_names_exists():
    refs = set(re.findall(r"trustsim/(\w+)\.py:([A-Za-z_][\w.]*)", ODD))
    assert len(refs) > 30
    for module, dotted in refs:
        obj = importlib.import_module(f"trustsim.{module}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"trustsim/{module}.py:{dotted} does not exist"
            obj = getattr(obj, part)


def test_every_rule_and_phase_is_described():
    from trustsim import phases, rules

    named = set(re.findall(r"trustsim/(?:rules|phases)\.py:(\w+)", ODD))
    for module in (rules, phases):
        public = {n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")
                  and getattr(getattr(module, n), "__module__", "") == module.__name__ and n != "new_events"}
        assert public <= named, f"not in docs/ODD.md: {sorted(public - named)}"


def test_pattern_table_lists_all_ten():
    table = block(ODD, "patterns")
    assert all(f"| P{i} |" in table for i in range(1, 11))
