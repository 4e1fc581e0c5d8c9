"""Write the corpus of broken parameter files in ``tests/cli/fuzz_corpus/`` (deterministic).

    python tests/cli/make_fuzz_corpus.py            # rewrite the corpus
    python tests/cli/make_fuzz_corpus.py --check    # exit 1 if the committed corpus differs

Each case is one entry file; a case that needs companions (``extends``) is a folder whose entry is
``main.toml``. ``index.json`` lists every case with what ``trustsim check``, ``run`` and ``sweep`` must
do with it (0: accepted, 2: refused) and, when refused, the key and the file the error must name.
Cases are either declared by hand or, for generated ones (truncated files), classified by an
independent reading: ``tomllib`` plus the schema's ``params.validate`` and the sweep validator.
"""

from __future__ import annotations

import codecs
import json
import random
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, conftest's folder, when run as a script
from conftest import SMALL_SWEEP_BASE, small_sweep  # noqa: E402

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "fuzz_corpus"

BASE = """\
# A small market with every kind of value: the valid file the broken ones are made from.
description = "fuzz base"

[run]
steps = 6
seed = 3

[market]
buyers = 8
suppliers = 4
uncertainty = 0.3
demand = 1000.0

[buyers]
partner_share = 0.5
n_bids = 3
exit_threshold = 0.2

[prices]
fair_markup = 0.08
min_markup = 0.02

[suppliers]
quality = 0.97
attention_policy = "silence"
supplier_cash = 2000.0

[trust]
gain = 0.08
no_inspection_trust = 0.8

[service]
partner_in_price = true

[time]
reference_volume = 125.0
"""

# the valid sweep file the broken ones are made from
SWEEP = small_sweep(extra='seed = 11\nmetrics = ["advantage.market_share", "tco_per_unit"]\n',
                    factors=('"market.uncertainty" = [0.0, 0.6]', "partner_share = [0.3, 0.7]"))


def _schema():
    from trustsim.params import ALL_KEYS, GROUPS, bounds

    return ALL_KEYS, GROUPS, bounds


# --- the independent reading: what each command should do with one self-contained file -----------

def classify(raw: bytes) -> dict:
    """What check, run and sweep must do with a file that extends nothing: exit codes and the key named."""
    from trustsim.errors import ParamError
    from trustsim.params import GROUPS, validate

    refused = lambda key: {"check": 2, "run": 2, "sweep": 2, "key": key}  # noqa: E731
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not UTF-8, not TOML, or beyond what Python reads
        return refused(None)
    for key, value in data.items():
        if key in ("description",):
            if not isinstance(value, str):
                return refused(key)
            continue
        if key == "sweep":
            if not isinstance(value, dict):
                return refused(key)
            continue
        if key not in GROUPS or not isinstance(value, dict):
            return refused(key)
        for name in value:
            if name not in GROUPS[key].model_fields:
                return refused(f"{key}.{name}")
    assert "extends" not in data, "classify() reads self-contained files only"
    try:
        params = validate({k: v for k, v in data.items() if k in GROUPS})
    except ParamError as exc:
        return refused(exc.key)
    if "sweep" not in data:
        return {"check": 0, "run": 0, "sweep": 2, "key": "sweep"}
    from trustsim.experiments import build_sweep

    try:
        build_sweep("case", "case", params, data["sweep"])
    except ParamError as exc:  # check validates a [sweep] table whole; run names its fault before refusing it
        return {"check": 2, "run": 2, "sweep": 2, "key": exc.key}
    return {"check": 0, "run": 2, "sweep": 0, "key": "sweep"}  # run says: use trustsim sweep


# --- the cases ------------------------------------------------------------------------------------

def truncated() -> dict[str, bytes]:
    """The valid files cut at many offsets: mid-key, mid-value, mid-string, between tables."""
    out = {}
    base, sweep = BASE.encode(), SWEEP.encode()
    cuts = sorted({*range(1, len(base), 11), *(j for j in range(len(base)) if base[j:j + 1] in b"=\n\".")})
    for i in cuts[::-(-len(cuts) // 70)]:  # at most 70 cuts, spread over the whole file
        out[f"truncated/base_{i:04d}.toml"] = base[:i]
    offs = sorted(set(range(sweep.index(b"[sweep]"), len(sweep), 7)))
    for i in offs:
        out[f"truncated/sweep_{i:04d}.toml"] = sweep[:i]
    return out


def _wrong_values(ann) -> list[str]:
    if ann is int:
        return ['"forty"', "40.5", "true", "[1, 2]", "{ a = 1 }", "1979-05-27", "nan", "07:32:00"]
    if ann is float:
        return ['"0.5"', "true", "[0.5]", "{ v = 0.5 }", "1979-05-27T07:32:00Z", "07:32:00", "[]"]
    if ann is bool:
        return ["1", '"true"', "0.0", "[true]", "{ on = true }"]
    return ["1", "true", '"Silence"', '["silence"]', '"passive "']


def wrong_types() -> dict[str, tuple[bytes, dict]]:
    """One parameter at a time given a value of the wrong type (rotating through TOML's types)."""
    keys, groups, _ = _schema()
    out = {}
    for i, key in enumerate(keys):
        group, name = key.split(".")
        values = _wrong_values(groups[group].model_fields[name].annotation)
        text = f"[{group}]\n{name} = {values[i % len(values)]}\n"
        out[f"types/{key}.toml"] = (text.encode(), {"key": key})
    tops = {
        "table_is_number": ("market = 3\n", "market"),
        "table_is_array": ("market = [1, 2]\n", "market"),
        "array_of_tables": ("[[market]]\nbuyers = 4\n", "market"),
        "description_number": ("description = 5\n", "description"),
        "sweep_is_string": ('sweep = "grid"\n', "sweep"),
        "group_inline_nested": ("[market]\nbuyers = { value = 4 }\n", "market.buyers"),
    }
    for name, (text, key) in tops.items():
        out[f"types/{name}.toml"] = (text.encode(), {"key": key})
    return out


def _misspell(word: str, i: int) -> str:
    j = max(1, len(word) // 2)
    if i % 3 == 0 and len(word) > 3:                  # swap two letters
        return word[: j - 1] + word[j] + word[j - 1] + word[j + 1:]
    if i % 3 == 1:                                    # drop one
        return word[:j] + word[j + 1:]
    return word[:j] + word[j] + word[j:]              # double one


def unknown_names() -> dict[str, tuple[bytes, dict]]:
    """Misspelt keys and tables, foreign tables, keys at the wrong level: each with a "did you mean"."""
    keys, _, _ = _schema()
    out = {}
    for i, key in enumerate(keys[::3]):
        group, name = key.split(".")
        wrong = _misspell(name, i)
        if wrong == name:
            continue
        out[f"unknown/key_{key}.toml"] = (f"[{group}]\n{wrong} = 1\n".encode(),
                                          {"key": f"{group}.{wrong}", "needle": f'did you mean "{name}"'})
    for i, group in enumerate(("market", "trust", "suppliers", "downstream", "innovation", "adaptation")):
        wrong = _misspell(group, i)
        out[f"unknown/table_{wrong}.toml"] = (f"[{wrong}]\nx = 1\n".encode(),
                                              {"key": wrong, "needle": f'did you mean "{group}"'})
    more = {
        "capitalised_table": ("[Market]\nbuyers = 4\n", "Market", None),
        "bare_key_at_top": ("buyers = 4\n", "buyers", 'did you mean "market.buyers"'),
        "foreign_table": ("[database]\nurl = \"x\"\n", "database", None),
        "sub_table": ("[run.options]\nfast = true\n", "run.options", None),
        "dotted_group_key": ("market.buyers = 4\nmarket.sellers = 2\n", "market.sellers", 'did you mean "suppliers"'),
        "quoted_key_with_dot": ('[market]\n"buyers.count" = 4\n', "market.buyers.count", None),
        "empty_key": ('[market]\n"" = 4\n', "market.", None),
        "extends_misspelt": ('extend = "base.toml"\n', "extend", 'did you mean "extends"'),
        "long_key_64k": ("[market]\n" + "b" * 65536 + " = 4\n", "market.bbbb", None),
    }
    for name, (text, key, needle) in more.items():
        out[f"unknown/{name}.toml"] = (text.encode(), {"key": key, **({"needle": needle} if needle else {})})
    return out


def huge_numbers() -> dict[str, tuple[bytes, dict]]:
    cases = {
        "float_1e400": ("[market]\ndemand = 1e400\n", "market.demand", "finite"),
        "float_minus_1e400": ("[market]\ndemand = -1e400\n", "market.demand", "finite"),
        "int_10e30_count": ("[market]\nbuyers = 1000000000000000000000000000000\n", "market.buyers", "out of range"),
        "int_10e30_for_float": ("[market]\ndemand = 1000000000000000000000000000000\n", "market.demand", "out of range"),
        "seed_2_pow_64": ("[run]\nseed = 18446744073709551616\n", "run.seed", "out of range"),
        "steps_2_pow_63": ("[run]\nsteps = 9223372036854775808\n", "run.steps", "out of range"),
        "hex_huge": ("[market]\nsuppliers = 0x7fffffffffffffffffff\n", "market.suppliers", "out of range"),
        "float_1e308": ("[suppliers]\nsupplier_cash = 1e308\n", "suppliers.supplier_cash", "out of range"),
        "just_above_max": ("[time]\nhour_cost = 1000000.0000001\n", "time.hour_cost", "out of range"),
        "int_5000_digits": ("[market]\nbuyers = " + "9" * 5000 + "\n", None, "digits"),
        "float_5000_digits": ("[trust]\ngain = 1" + "0" * 5000 + ".5\n", "trust.gain", None),
        "reference_volume_zero": ("[time]\nreference_volume = 0.0\n", "time.reference_volume", "out of range"),
        "sweep_replications_huge": (SMALL_SWEEP_BASE + '[sweep]\nreplications = 100000000000000000000\n'
                                    '[sweep.factors]\n"market.uncertainty" = [0.0]\n', "sweep.replications", None),
    }
    out = {f"huge/{n}.toml": (t.encode(), {"key": k, "sweep_only": n.startswith("sweep"),
                                           **({"needle": nd} if nd else {})})
           for n, (t, k, nd) in cases.items()}
    valid = {  # at the edge of what is allowed: accepted
        "float_underflows_to_zero": "[buyers]\nexit_dissatisfaction = 1e-400\n",
        "gain_5000_decimals": "[trust]\ngain = 0." + "0" * 5000 + "1\n",
        "max_everywhere_small": "[time]\nhour_cost = 1000000.0\nh_admin = 10000.0\n",
    }
    out.update({f"huge/{n}.toml": (t.encode(), {"valid": True}) for n, t in valid.items()})
    return out


def negative_counts() -> dict[str, tuple[bytes, dict]]:
    counts = {"market.buyers": -1, "market.suppliers": -3, "market.slots_per_buyer": -2, "run.steps": -120,
              "run.seed": -1, "buyers.n_bids": -5, "buyers.rebid_interval": -4, "suppliers.contact_interval": -1,
              "linkage.linkage_age": -8, "adaptation.imitation_interval": -8}
    zeros = ("market.buyers", "market.suppliers", "run.steps", "market.slots_per_buyer", "buyers.n_bids")
    floats = {"market.demand": -1.0, "suppliers.cost_sd": -0.01, "suppliers.supplier_cash": -5.0,
              "time.h_admin": -1.0, "time.reference_volume": -125.0, "trust.gain": -0.0001}
    out = {}
    for key, v in [*counts.items(), *((k, 0) for k in zeros), *floats.items()]:
        group, name = key.split(".")
        tag = "zero" if v == 0 else "negative"
        out[f"negative/{tag}_{key}.toml"] = (f"[{group}]\n{name} = {v}\n".encode(),
                                             {"key": key, "needle": "out of range"})
    out["negative/minus_zero_demand.toml"] = (b"[market]\ndemand = -0.0\n", {"valid": True})
    return out


def non_finite() -> dict[str, tuple[bytes, dict]]:
    cases = [("market", "uncertainty", "nan"), ("market", "demand", "inf"), ("trust", "gain", "-inf"),
             ("suppliers", "cost_mean", "+nan"), ("time", "hour_cost", "+inf"),
             ("downstream", "price_sensitivity", "-nan"), ("prices", "fair_markup", "inf"),
             ("quality", "detection", "nan")]
    out = {f"nonfinite/{g}.{n}_{v.replace('+', 'plus_').replace('-', 'minus_')}.toml":
           (f"[{g}]\n{n} = {v}\n".encode(), {"key": f"{g}.{n}", "needle": "finite"}) for g, n, v in cases}
    for g, n, v in (("market", "buyers", "nan"), ("run", "steps", "inf"), ("service", "partner_in_price", "nan")):
        out[f"nonfinite/{g}.{n}_{v}.toml"] = (f"[{g}]\n{n} = {v}\n".encode(), {"key": f"{g}.{n}"})
    out["nonfinite/sweep_grid_nan.toml"] = ((SMALL_SWEEP_BASE + '[sweep]\n[sweep.factors]\n"market.uncertainty" = [nan, 0.3]\n').encode(),
                                            {"key": "sweep.factors.market.uncertainty", "sweep_only": True})
    out["nonfinite/sweep_range_inf.toml"] = ((SMALL_SWEEP_BASE + '[sweep]\ndesign = "lhs"\nsamples = 4\n'
                                              '[sweep.factors]\n"trust.gain" = { min = 0.0, max = inf }\n').encode(),
                                             {"key": "sweep.factors.trust.gain", "sweep_only": True})
    return out


def broken_sweeps() -> dict[str, tuple[bytes, dict]]:
    """A valid scenario with a broken [sweep] table: check, run and sweep refuse it, naming the fault."""
    grid = '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n'
    cases = {
        "unknown_key": ('[sweep]\nrepetitions = 3\n' + grid, "sweep.repetitions"),
        "bad_design": ('[sweep]\ndesign = "gird"\n' + grid, "sweep.design"),
        "replications_zero": ('[sweep]\nreplications = 0\n' + grid, "sweep.replications"),
        "replications_text": ('[sweep]\nreplications = "3"\n' + grid, "sweep.replications"),
        "replications_float": ('[sweep]\nreplications = 2.5\n' + grid, "sweep.replications"),
        "sobol_not_power_of_2": ('[sweep]\ndesign = "sobol"\nsamples = 12\n[sweep.factors]\n"trust.gain" = { min = 0.0, max = 0.2 }\n', "sweep.samples"),
        "lhs_without_samples": ('[sweep]\ndesign = "lhs"\n[sweep.factors]\n"trust.gain" = { min = 0.0, max = 0.2 }\n', "sweep.samples"),
        "grid_with_samples": ('[sweep]\nsamples = 8\n' + grid, "sweep.samples"),
        "no_factors": ('[sweep]\ndesign = "grid"\n', "sweep.factors"),
        "factors_not_table": ('[sweep]\nfactors = ["market.uncertainty"]\n', "sweep.factors"),
        "factor_unknown": ('[sweep]\n[sweep.factors]\n"market.uncertainy" = [0.1]\n', "sweep.factors.market.uncertainy"),
        "factor_out_of_range": ('[sweep]\n[sweep.factors]\n"trust.gain" = [0.1, 1.5]\n', "sweep.factors.trust.gain"),
        "factor_negative_count": ('[sweep]\n[sweep.factors]\n"market.buyers" = [4, -4]\n', "sweep.factors.market.buyers"),
        "factor_wrong_type": ('[sweep]\n[sweep.factors]\n"market.buyers" = ["four"]\n', "sweep.factors.market.buyers"),
        "factor_empty_list": ('[sweep]\n[sweep.factors]\n"trust.gain" = []\n', "sweep.factors.trust.gain"),
        "factor_repeats": ('[sweep]\n[sweep.factors]\n"trust.gain" = [0.1, 0.1]\n', "sweep.factors.trust.gain"),
        "factor_twice": ('[sweep]\n[sweep.factors]\n"trust.gain" = [0.1]\ngain = [0.2]\n', "sweep.factors.gain"),
        "factor_seed": ('[sweep]\n[sweep.factors]\n"run.seed" = [1, 2]\n', "sweep.factors.run.seed"),
        "range_for_grid": ('[sweep]\n[sweep.factors]\n"trust.gain" = { min = 0.0, max = 0.2 }\n', "sweep.factors.trust.gain"),
        "list_for_lhs": ('[sweep]\ndesign = "lhs"\nsamples = 4\n[sweep.factors]\n"trust.gain" = [0.1, 0.2]\n', "sweep.factors.trust.gain"),
        "range_reversed": ('[sweep]\ndesign = "lhs"\nsamples = 4\n[sweep.factors]\n"trust.gain" = { min = 0.2, max = 0.1 }\n', "sweep.factors.trust.gain"),
        "range_unknown_key": ('[sweep]\ndesign = "lhs"\nsamples = 4\n[sweep.factors]\n"trust.gain" = { min = 0.0, mx = 0.2 }\n', "sweep.factors.trust.gain.mx"),
        "range_of_policy": ('[sweep]\ndesign = "lhs"\nsamples = 4\n[sweep.factors]\n"suppliers.attention_policy" = { min = 0, max = 1 }\n', "sweep.factors.suppliers.attention_policy"),
        "metrics_empty": ('[sweep]\nmetrics = []\n' + grid, "sweep.metrics"),
        "metric_unknown": ('[sweep]\nmetrics = ["market_shares"]\n' + grid, "sweep.metrics"),
        "levels_odd": ('[sweep]\ndesign = "morris"\nsamples = 4\nlevels = 3\n[sweep.factors]\n"trust.gain" = { min = 0.0, max = 0.2 }\n', "sweep.levels"),
        "seeds_bogus": ('[sweep]\nseeds = "shared"\n' + grid, "sweep.seeds"),
        "seed_negative": ('[sweep]\nseed = -1\n' + grid, "sweep.seed"),
        "cross_field_point": ('[sweep]\n[sweep.factors]\n"prices.min_markup" = [0.01, 0.5]\n', "sweep.factors"),
    }
    out = {f"sweep/{n}.toml": ((SMALL_SWEEP_BASE + t).encode(), {"key": k, "sweep_only": True})
           for n, (t, k) in cases.items()}
    out["sweep/no_sweep_table.toml"] = (SMALL_SWEEP_BASE.encode(), {"key": "sweep", "sweep_only": True})
    return out


def encodings() -> dict[str, tuple[bytes, dict]]:
    text = "# café\n[market]\nbuyers = 4\n"
    cases = {
        "latin1_comment.toml": (text.encode("latin-1"), None),
        "latin1_string.toml": ('description = "Zürich"\n'.encode("latin-1"), None),
        "utf16_bom.toml": (text.encode("utf-16"), None),
        "utf16le_no_bom.toml": (text.encode("utf-16-le"), None),
        "double_bom.toml": (codecs.BOM_UTF8 * 2 + text.encode(), None),
        "overlong_slash.toml": (b"[market]\nbuyers = 4 # \xc0\xaf\n", None),
        "surrogate.toml": (b'description = "\xed\xa0\x80"\n', None),
        "cut_multibyte.toml": (b"# caf\xc3", None),
        "nul_byte.toml": (b"[market]\nbuyers = 4\x00\n", None),
        "bell_in_string.toml": (b'description = "ring\x07"\n', None),
        "lone_cr.toml": (b"[market]\rbuyers = 4\r", None),
    }
    out = {f"encoding/{n}": (raw, {"key": key}) for n, (raw, key) in cases.items()}
    out["encoding/utf8_bom.toml"] = (codecs.BOM_UTF8 + text.encode(), {"valid": True})
    out["encoding/crlf.toml"] = (text.replace("\n", "\r\n").encode(), {"valid": True})
    return out


def garbage() -> dict[str, tuple[bytes, dict]]:
    rng = random.Random(8)
    out = {f"garbage/random_{n}.bin.toml": (bytes(rng.randrange(256) for _ in range(n)), {"key": None})
           for n in (1, 16, 256, 4096)}
    out["garbage/random_ascii.toml"] = ("".join(rng.choice("[]=\"'.{},#\n abc123") for _ in range(400)).encode(),
                                        {"auto": True})
    heads = {"png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
             "elf": b"\x7fELF\x02\x01\x01\x00", "pickle": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.",
             "zip": b"PK\x03\x04\x14\x00\x00\x00"}
    out.update({f"garbage/{n}_header.toml": (h + bytes(rng.randrange(256) for _ in range(64)), {"key": None})
                for n, h in heads.items()})
    out["garbage/python_code.toml"] = (b'import os\nos.system("touch pwned")\n', {"key": None})
    out["garbage/json.toml"] = (b'{"market": {"buyers": 4}}\n', {"key": None})
    out["garbage/yaml.toml"] = (b"market:\n  buyers: 4\n", {"key": None})
    out["garbage/deep_array.toml"] = (b"[market]\nbuyers = " + b"[" * 5000 + b"]" * 5000 + b"\n", {"key": None})
    out["garbage/deep_inline.toml"] = (b"[market]\nbuyers = " + b"{a=" * 3000 + b"1" + b"}" * 3000 + b"\n", {"key": None})
    out["garbage/deep_dotted.toml"] = (b"[market]\nbuyers" + b".a" * 5000 + b" = 1\n", {"key": "market.buyers"})
    out["garbage/long_string_64k.toml"] = (b'[suppliers]\nattention_policy = "' + b"x" * 65536 + b'"\n',
                                          {"key": "suppliers.attention_policy"})
    out["garbage/duplicate_key.toml"] = (b"[market]\nbuyers = 4\nbuyers = 5\n", {"key": None})
    out["garbage/duplicate_table.toml"] = (b"[market]\nbuyers = 4\n[market]\nsuppliers = 5\n", {"key": None})
    valid = {
        "empty.toml": b"",
        "whitespace.toml": b" \n\t\n\n",
        "comments_only.toml": b"# nothing but a comment\n# and another\n",
        "long_comment_line.toml": b"# " + b"x" * 100_000 + b"\n[run]\nsteps = 5\n",
        "code_as_text.toml": b'description = "__import__(\'os\').system(\'touch pwned\')"\n',
    }
    out.update({f"garbage/{n}": (raw, {"valid": True}) for n, raw in valid.items()})
    return out


def extends_cases() -> dict[str, tuple[dict[str, bytes], dict]]:
    """Folders: ``main.toml`` plus the files it extends. Expectations are declared."""
    cases = {}
    deep = {f"c{i:02d}.toml": f'extends = "c{i + 1:02d}.toml"\n'.encode() for i in range(40)}
    deep["c40.toml"] = b"[run]\nsteps = 5\n"
    deep["main.toml"] = b'extends = "c00.toml"\n'
    cases["too_deep"] = (deep, {"key": "extends", "needle": "deeper than"})
    ok = {f"c{i:02d}.toml": f'extends = "c{i + 1:02d}.toml"\n[trust]\ngain = 0.{i + 10}\n'.encode() for i in range(20)}
    ok["c20.toml"] = b"[run]\nsteps = 5\n"
    ok["main.toml"] = b'extends = "c00.toml"\n'
    cases["chain_of_22"] = (ok, {"valid": True})
    cases["self_cycle"] = ({"main.toml": b'extends = "main.toml"\n'}, {"key": "extends", "needle": "circular"})
    cases["cycle_of_2"] = ({"main.toml": b'extends = "b.toml"\n', "b.toml": b'extends = "main.toml"\n'},
                           {"key": "extends", "needle": "circular"})
    cases["cycle_of_3"] = ({"main.toml": b'extends = "b.toml"\n', "b.toml": b'extends = "sub/c.toml"\n',
                            "sub/c.toml": b'extends = "../main.toml"\n'}, {"key": "extends", "needle": "circular"})
    cases["cycle_spelt_differently"] = ({"main.toml": b'extends = "./sub/../main.toml"\n', "sub/keep": b""},
                                        {"key": "extends", "needle": "circular"})
    cases["missing_target"] = ({"main.toml": b'extends = "nowhere.toml"\n'},
                               {"key": "extends", "needle": "does not exist", "blame": "main.toml"})
    cases["missing_folder"] = ({"main.toml": b'extends = "../../no/such/folder/base.toml"\n'},
                               {"key": "extends", "needle": "does not exist", "blame": "main.toml"})
    cases["target_is_folder"] = ({"main.toml": b'extends = "sub"\n', "sub/keep": b""},
                                 {"key": "extends", "needle": "directory", "blame": "main.toml"})
    cases["target_not_toml"] = ({"main.toml": b'extends = "notes.txt"\n', "notes.txt": b"KEY=secret\n"},
                                {"key": "extends", "needle": "not a scenario file", "blame": "main.toml"})
    cases["extends_number"] = ({"main.toml": b"extends = 5\n"}, {"key": "extends", "blame": "main.toml"})
    cases["extends_empty"] = ({"main.toml": b'extends = ""\n'}, {"key": "extends", "blame": "main.toml"})
    cases["extends_nul"] = ({"main.toml": b'extends = "base\\u0000.toml"\n'},
                            {"key": "extends", "needle": "NUL", "blame": "main.toml"})
    cases["extends_list"] = ({"main.toml": b'extends = ["base.toml"]\n', "base.toml": b""},
                             {"key": "extends", "blame": "main.toml"})
    cases["base_out_of_range"] = ({"main.toml": b'extends = "base.toml"\n', "base.toml": b"[trust]\nloss = 7\n"},
                                  {"key": "trust.loss", "blame": "base.toml"})
    cases["base_not_utf8"] = ({"main.toml": b'extends = "base.toml"\n', "base.toml": b"# caf\xe9\n"},
                              {"key": None, "needle": "UTF-8", "blame": "base.toml"})
    cases["base_truncated"] = ({"main.toml": b'extends = "base.toml"\n', "base.toml": BASE.encode()[:200]},
                               {"key": None, "needle": "syntax", "blame": "base.toml"})
    cases["base_unknown_key"] = ({"main.toml": b'extends = "base.toml"\n', "base.toml": b"[market]\nbuyerz = 3\n"},
                                 {"key": "market.buyerz", "blame": "base.toml"})
    cases["main_breaks_valid_base"] = ({"main.toml": b'extends = "base.toml"\n[market]\nbuyers = -4\n',
                                        "base.toml": BASE.encode()}, {"key": "market.buyers", "blame": "main.toml"})
    cases["cross_field_across_files"] = ({"main.toml": b'extends = "base.toml"\n[prices]\nmin_markup = 0.5\n',
                                          "base.toml": b"[prices]\nfair_markup = 0.1\n"},
                                         {"key": None, "needle": "min_markup", "blame": "main.toml"})
    cases["base_sweep_not_inherited"] = ({"main.toml": b'extends = "base.toml"\n',
                                          "base.toml": SWEEP.encode()}, {"key": "sweep", "sweep_only": True})
    cases["sweep_keys_without_the_bases_factors"] = ({"main.toml": b'extends = "base.toml"\n[sweep]\nreplications = 2\n',
                                                      "base.toml": SWEEP.encode()},
                                                     {"key": "sweep.factors", "needle": "not inherited",
                                                      "blame": "main.toml"})
    return cases


def build() -> tuple[dict[str, bytes], dict[str, dict]]:
    """Every file of the corpus (path → bytes) and the index (entry path → expectation)."""
    files: dict[str, bytes] = {}
    index: dict[str, dict] = {}

    def expect(entry: str, raw: bytes, decl: dict) -> dict:
        if decl.get("auto"):
            return {**classify(raw), "blame": entry}
        if decl.get("valid") and entry.startswith("extends/"):
            return {"check": 0, "run": 0, "sweep": 2, "key": "sweep", "blame": None}
        if decl.get("valid"):
            got = classify(raw)
            assert got["check"] == got["run"] == 0, (entry, got)
            return {**got, "blame": None}
        if decl.get("sweep_only") and decl.get("key") == "sweep":  # no [sweep] table: only sweep refuses it
            res = {"check": 0, "run": 0, "sweep": 2}
        elif decl.get("sweep_only"):  # a fault of the [sweep] table: check, run and sweep all name it
            res = {"check": 2, "run": 2, "sweep": 2}
        else:
            res = {"check": 2, "run": 2, "sweep": 2}
        res.update(key=decl.get("key"), blame=entry, **({"needle": decl["needle"]} if "needle" in decl else {}))
        if entry.startswith("extends/"):
            return res
        got = classify(raw)  # the declaration and the independent reading must agree
        assert (got["check"], got["run"], got["sweep"]) == (res["check"], res["run"], res["sweep"]), (entry, got)
        if res["key"] is not None:
            assert got["key"] is not None and got["key"].startswith(res["key"][:40]), (entry, got, res)
        return res

    for path, raw in truncated().items():
        files[path] = raw
        index[path] = {**classify(raw), "blame": path}
    for make in (wrong_types, unknown_names, huge_numbers, negative_counts, non_finite, broken_sweeps, encodings,
                 garbage):
        for path, (raw, decl) in make().items():
            files[path] = raw
            index[path] = expect(path, raw, decl)
    for name, (members, decl) in extends_cases().items():
        folder = f"extends/{name}"
        for rel, raw in members.items():
            files[f"{folder}/{rel}"] = raw
        entry = f"{folder}/main.toml"
        res = expect(entry, members["main.toml"], decl)
        if "blame" in decl:
            res["blame"] = f"{folder}/{decl['blame']}"
        elif not decl.get("valid"):
            res["blame"] = folder  # some file of the chain
        index[entry] = res
    files["index.json"] = (json.dumps(index, indent=1, sort_keys=True) + "\n").encode()
    return files, index


def on_disk() -> dict[str, bytes]:
    return {p.relative_to(CORPUS).as_posix(): p.read_bytes() for p in sorted(CORPUS.rglob("*")) if p.is_file()}


def main(argv=None) -> int:
    files, index = build()
    if argv and "--check" in argv:
        same = on_disk() == files
        print("corpus is up to date" if same else "corpus differs: run python tests/cli/make_fuzz_corpus.py")
        return 0 if same else 1
    if CORPUS.exists():
        for p in sorted(CORPUS.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    for rel, raw in files.items():
        path = CORPUS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    valid = sum(1 for e in index.values() if e["check"] == 0)
    print(f"{len(index)} cases ({valid} accepted by check), {len(files)} files in {CORPUS.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
