"""trustsim/scenario.py: scenario files read safely, ``extends`` chains merged nearest-file-first, ``--set`` and
option overrides on top, and every fault a one-line ParamError naming the file (or option) and the key."""

import hashlib
import re
import tomllib

import pytest
from conftest import BASELINE

from trustsim.errors import COMMAND_LINE, ParamError
from trustsim.params import Market, Params
from trustsim.scenario import load_scenario, parse_set, parse_value, read_small_file


def chain_of_three(folder):
    """``child.toml`` extends ``sub/parent.toml``, which extends ``grand.toml``: each sets some of the same keys."""
    (folder / "sub").mkdir()
    (folder / "grand.toml").write_text('description = "grand"\n[trust]\ngain = 0.1\nloss = 0.2\n'
                                       "[market]\nbuyers = 10\nsuppliers = 3\n")
    (folder / "sub" / "parent.toml").write_text('extends = "../grand.toml"\ndescription = "parent"\n'
                                                "[trust]\ngain = 0.15\n[market]\nsuppliers = 4\n"
                                                '[sweep]\ndesign = "grid"\n')
    (folder / "child.toml").write_text('extends = "sub/parent.toml"\n[trust]\nloss = 0.25\n')
    return folder / "child.toml"


def test_an_extends_chain_is_merged_with_the_nearer_file_winning(tmp_path):
    child = chain_of_three(tmp_path)
    sc = load_scenario(child)
    p = sc.params
    assert p.trust.gain == 0.15      # parent over grand
    assert p.trust.loss == 0.25      # child over grand
    assert p.market.buyers == 10     # only grand says it
    assert p.market.suppliers == 4   # parent over grand
    assert p.market.slots_per_buyer == Params().market.slots_per_buyer  # nobody says it: the default
    assert sc.chain == tuple(str(f.resolve()) for f in (child, tmp_path / "sub" / "parent.toml",
                                                         tmp_path / "grand.toml"))
    # a sweep and a description belong to the file that declares them
    assert sc.sweep is None and sc.description == ""
    assert sc.name == "child" and sc.sha256 == hashlib.sha256(child.read_bytes()).hexdigest()
    parent = load_scenario(tmp_path / "sub" / "parent.toml")
    assert parent.sweep == {"design": "grid"} and parent.description == "parent"


def test_overrides_go_on_top_of_the_whole_chain_and_options_over_set(tmp_path):
    sc = load_scenario(chain_of_three(tmp_path), sets=["trust.gain=0.3", "buyers=7", "run.seed=5"], seed=9, steps=11)
    assert (sc.params.trust.gain, sc.params.market.buyers) == (0.3, 7)
    assert (sc.params.run.seed, sc.params.run.steps) == (9, 11)  # --seed and --steps over --set
    assert sc.overrides == {"trust.gain": 0.3, "market.buyers": 7, "run.seed": 9, "run.steps": 11}
    assert sc.params.trust.loss == 0.25  # the rest of the chain stays


def test_no_file_gives_the_defaults():
    sc = load_scenario()
    assert sc.params == Params() and sc.name == "defaults" and sc.sha256 is None and sc.chain == ()


@pytest.mark.parametrize("files", [
    {"a.toml": 'extends = "a.toml"\n'},
    {"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "c.toml"\n', "c.toml": 'extends = "a.toml"\n'},
], ids=["itself", "three_files"])
def test_a_circular_chain_is_one_line_naming_the_cycle(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "a.toml")
    cycle = " -> ".join([*files, "a.toml"])
    assert exc.value.key == "extends" and exc.value.message == f"circular extends ({cycle})"
    assert len(str(exc.value).splitlines()) == 1


def test_a_fault_in_an_extended_file_names_that_file_and_a_bad_override_its_option(tmp_path):
    (tmp_path / "base.toml").write_text("[trust]\nloss = 7\n")
    (tmp_path / "top.toml").write_text('extends = "base.toml"\n')
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "top.toml")
    assert exc.value.source == str(tmp_path / "base.toml") and exc.value.key == "trust.loss"
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=["market.buyers=0"], words=COMMAND_LINE)  # trustsim run's words
    assert (exc.value.source, exc.value.key) == ("--set", "market.buyers")
    with pytest.raises(ParamError) as exc:
        load_scenario(None, seed=-1, words=COMMAND_LINE)
    assert (exc.value.source, exc.value.key) == ("--seed", None)


def test_a_rule_between_parameters_broken_by_an_override_names_the_option_and_both_values(tmp_path):
    """``prices.min_markup`` above ``prices.fair_markup``: the override that made it so is named (not the scenario
    file, valid alone), with both values; in the files themselves, the file that completes the chain."""
    (tmp_path / "base.toml").write_text("[prices]\nmin_markup = 0.05\n")
    (tmp_path / "top.toml").write_text('extends = "base.toml"\n[prices]\nfair_markup = 0.06\n')
    assert load_scenario(tmp_path / "top.toml").params.prices.fair_markup == 0.06
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "top.toml", sets=["prices.fair_markup=0.01"], words=COMMAND_LINE)
    assert exc.value.source == "--set"
    assert exc.value.message == "prices.min_markup (0.05) must not exceed prices.fair_markup (0.01)"
    (tmp_path / "top.toml").write_text('extends = "base.toml"\n[prices]\nfair_markup = 0.04\n')
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "top.toml", sets=["trust.gain=0.1"])
    assert exc.value.source == str(tmp_path / "top.toml") and "(0.05) must not exceed" in exc.value.message


@pytest.mark.parametrize("sets, option", [(["run.steps=-1"], {"steps": 5}), (["run.seed=x"], {"seed": 4})])
def test_a_set_that_an_option_overrides_is_still_checked(sets, option):
    """``--set run.steps=-1 --steps 5`` ran 5 steps: the option wins over --set, but hid the mistake in it."""
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=sets, **option, words=COMMAND_LINE)
    print(exc.value)
    assert exc.value.source == "--set" and exc.value.key == sets[0].split("=")[0]


@pytest.mark.parametrize("sets", [["trust.gain=abc", "trust.gain=0.3"], ["trust.gain=2", "gain=0.3"]])
def test_a_set_that_a_later_set_replaces_is_still_checked(sets):
    """``--set trust.gain=abc --set trust.gain=0.3`` ran with 0.3: the later --set wins, but hid the mistake."""
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=sets, words=COMMAND_LINE)
    assert exc.value.source == "--set" and exc.value.key == "trust.gain"
    # a rule between parameters is the used values' business: a replaced min_markup above fair_markup is not a fault
    assert load_scenario(None, sets=["prices.min_markup=0.5", "min_markup=0.03"]).params.prices.min_markup == 0.03


@pytest.mark.parametrize("group", ["market", "run"])
def test_a_set_of_a_whole_table_says_so(group):
    """``--set market=1`` was "unknown parameter (did you mean "market.refit"?)", a parameter the user never meant."""
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=[f"{group}=1"], words=COMMAND_LINE)
    assert exc.value.source == "--set" and exc.value.key == group
    assert "a table of parameters" in exc.value.message and "did you mean" not in exc.value.message
    assert load_scenario(None, sets=["suppliers=3"]).params.market.suppliers == 3  # a parameter's name still wins


@pytest.mark.parametrize("build", [
    lambda: Params(market={"buyer": 6}),
    lambda: Params().replace(**{"market.buyer": 6}),
    lambda: load_scenario(None, sets=["market.buyer=6"]),
])
def test_a_misspelt_key_is_one_line_with_a_suggestion_however_the_parameters_are_built(build):
    """``Params(market={"buyer": 6})`` raised pydantic's ValidationError of four lines and no suggestion, where
    ``replace``, files and ``--set`` give one line naming the key and the nearest name."""
    with pytest.raises(ParamError) as exc:
        build()
    assert exc.value.key == "market.buyer" and exc.value.message == 'unknown parameter (did you mean "buyers"?)'


@pytest.mark.parametrize("given, hint", [
    ("adaptation.suppliers", ' (did you mean "supplier_imitation"?)'),  # MODEL.md's name of the switch
    ("adaptation.supplier", ' (did you mean "supplier_imitation"?)'),
    ("quality.costs", ""),  # a part of three names: none is suggested
])
def test_a_word_of_one_parameters_name_suggests_that_parameter(given, hint):
    """A key no near miss finds, but one of whose name's parts it is (with or without a plural's s), is
    suggested, as long as only one name has that part."""
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=[f"{given}=true"])
    assert exc.value.message == f"unknown parameter{hint}"


@pytest.mark.parametrize("build, key, message", [
    (lambda: Params(market={"buyers": "x"}), "market.buyers", "expected an integer, got str 'x'"),
    (lambda: Params(markt={}), "markt", 'unknown table "markt" (did you mean "market"?)'),
    (lambda: Params(extends="x.toml"), "extends", 'unknown table "extends"'),
    (lambda: Params(uncertainty=0.9), "uncertainty",
     'a parameter outside its table (did you mean "market.uncertainty"?)'),
    (lambda: Params(prices={"min_markup": 0.5}), None,
     "prices.min_markup (0.5) must not exceed prices.fair_markup (0.08)"),
    (lambda: Market(buyer=6), "market.buyer", 'unknown parameter (did you mean "buyers"?)'),
])
def test_parameters_built_directly_give_the_one_line_error(build, key, message):
    with pytest.raises(ParamError) as exc:
        build()
    assert (exc.value.key, exc.value.message) == (key, message)


def test_parameters_built_directly_still_take_groups_and_files_still_name_themselves(tmp_path):
    assert Params(market=Market(buyers=7)).market.buyers == 7 == Params(market={"buyers": 7}).market.buyers
    bad = tmp_path / "bad.toml"
    bad.write_text("[market]\nbuyers = 'x'\n")
    with pytest.raises(ParamError) as exc:
        load_scenario(bad)
    assert str(exc.value) == f"{bad}: market.buyers: expected an integer, got str 'x'"


@pytest.mark.parametrize("given, hint", [("silnce", ' (did you mean "silence"?)'),
                                         ("Periodic", ' (did you mean "periodic"?)'), ("xyz", "")])
def test_a_wrong_choice_suggests_the_nearest_allowed_value_as_a_misspelt_key_does(tmp_path, given, hint):
    """A misspelt key got "did you mean"; a misspelt value of a setting only the list of allowed values."""
    message = f"{given!r} is not one of 'passive', 'periodic' or 'silence'{hint}"
    (tmp_path / "s.toml").write_text(f'[suppliers]\nattention_policy = "{given}"\n')
    for build in (lambda: load_scenario(tmp_path / "s.toml"),
                  lambda: load_scenario(None, sets=[f"attention_policy={given}"]),
                  lambda: Params().replace(attention_policy=given),
                  lambda: Params(suppliers={"attention_policy": given})):
        with pytest.raises(ParamError) as exc:
            build()
        assert (exc.value.key, exc.value.message) == ("suppliers.attention_policy", message)
    with pytest.raises(ParamError) as exc:
        Params().replace(attention_policy=3)
    assert exc.value.message == "3 is not one of 'passive', 'periodic' or 'silence'"


def test_set_values_are_read_as_toml_and_bare_words_as_text():
    assert parse_set("trust.gain=0.1") == ("trust.gain", 0.1)
    assert parse_set(" market.buyers = 12 ") == ("market.buyers", 12)
    assert parse_value("true") is True and parse_value('"silence"') == "silence"
    assert parse_value("silence") == "silence" and parse_value("1" * 5000) == "1" * 5000
    for bad in ("trust.gain", "=0.1"):
        with pytest.raises(ParamError, match="expected group.name=value"):
            parse_set(bad)


def test_a_set_value_that_toml_reads_as_more_than_one_value_is_refused_whole():
    """``--set $'trust.gain=0.2\nloss=5'`` set trust.gain to 0.2 and dropped ``loss=5`` without a word."""
    assert parse_value("0.2\nloss=5") == "0.2\nloss=5" and parse_value("0.2\n[x]") == "0.2\n[x]"
    assert parse_value("0.2 # a note") == 0.2
    with pytest.raises(ParamError) as exc:
        load_scenario(None, sets=["trust.gain=0.2\nloss=5"], words=COMMAND_LINE)
    assert exc.value.source == "--set" and exc.value.key == "trust.gain" and "expected a number" in exc.value.message


def test_a_file_is_read_up_to_its_limit_and_refused_beyond_it(tmp_path):
    f = tmp_path / "s.toml"
    f.write_bytes(b"x" * 10)
    assert read_small_file(f, "s.toml", limit=10) == b"x" * 10
    f.write_bytes(b"x" * 11)
    with pytest.raises(ParamError, match="is larger than"):
        read_small_file(f, "s.toml", limit=10)


def test_the_baseline_file_lists_every_parameter_at_its_default_with_the_schema_s_meaning():
    """scenarios/baseline.toml is the file users copy: every parameter, at its default, its comment opening with
    the meaning `trustsim params` gives."""
    from trustsim.params import _field

    text = BASELINE.read_text()
    listed = {f"{g}.{k}" for g, t in tomllib.loads(text).items() if isinstance(t, dict) for k in t}
    assert listed == set(Params().flat())
    assert load_scenario(BASELINE).params == Params()
    group, seen = None, 0
    for line in text.splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            group = m.group(1)
        elif (m := re.match(r"^(\w+) = .*?# (.*)$", line)) and group:
            assert m.group(2).startswith(_field(f"{group}.{m.group(1)}").description), line
            seen += 1
    assert seen == len(listed)


def test_an_extends_path_too_long_keeps_what_is_wrong_in_the_line(tmp_path):
    """A 300-character extends name was said not to exist, in a line cut before it said so."""
    (tmp_path / "top.toml").write_text(f'extends = "{"a" * 300}.toml"\n')
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "top.toml")
    assert exc.value.key == "extends" and "is a name too long for the system" in str(exc.value)


def test_extends_is_read_from_the_folder_of_the_file_a_link_leads_to(tmp_path):
    """A link to a scenario read its extends from the link's folder: another base.toml, or none, than the file's."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "main.toml").write_text('extends = "base.toml"\n')
    (tmp_path / "real" / "base.toml").write_text("[trust]\ngain = 0.2\n")
    (tmp_path / "base.toml").write_text("[trust]\ngain = 0.9\n")
    (tmp_path / "link.toml").symlink_to(tmp_path / "real" / "main.toml")
    sc = load_scenario(tmp_path / "link.toml")
    assert sc.params.trust.gain == 0.2 and sc.chain[1] == str(tmp_path / "real" / "base.toml")


@pytest.mark.parametrize("path", [5, {"market": {"buyers": 10}}, b"baseline.toml"])
def test_load_scenario_of_something_that_is_no_path_is_a_param_error(path):
    """``trustsim.load_scenario(5)`` raised pathlib's TypeError from deep inside."""
    with pytest.raises(ParamError) as exc:
        load_scenario(path)
    assert str(exc.value) == f"path: expected a scenario file's path or None, got {type(path).__name__}"


def test_load_scenario_takes_one_override_given_as_a_string():
    """A single ``"group.name=value"`` was read letter by letter: ``--set: m: expected group.name=value``."""
    assert load_scenario(None, "market.uncertainty=0.5").params.market.uncertainty == 0.5


@pytest.mark.parametrize("path", ["", "  "])
def test_an_empty_scenario_file_name_is_called_empty_not_the_current_folder(path):
    """``trustsim run ""`` said '.: is a directory, not a TOML file': Path("") is the current folder."""
    with pytest.raises(ParamError) as exc:
        load_scenario(path)
    assert str(exc.value) == "scenario: is empty or blank; name a scenario TOML file"


def test_a_cycle_through_a_link_or_another_spelling_of_a_file_is_named_a_cycle(tmp_path):
    """A file is the same file however its path is spelled: ``b.toml``, a link to ``a.toml``, or
    ``sub/../a.toml``, closes the circle as ``a.toml`` itself would (not 32 files later)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    for extends in ("b.toml", "sub/../a.toml"):
        (tmp_path / "a.toml").write_text(f'extends = "{extends}"\n')
        with pytest.raises(ParamError) as exc:
            load_scenario(tmp_path / "a.toml")
        assert exc.value.key == "extends" and exc.value.message.startswith("circular extends ("), exc.value


def test_a_long_chain_is_followed_to_its_farthest_file_and_a_chain_deeper_than_32_is_refused(tmp_path):
    """Each of 30 files sets its own share of the parameters and one that every nearer file replaces."""
    def chain(n):
        for i in range(n):
            extends = f'extends = "f{i + 1}.toml"\n' if i < n - 1 else ""
            (tmp_path / f"f{i}.toml").write_text(f"{extends}[market]\nbuyers = {100 - i}\n[run]\nsteps = {10 + i}\n")
        return load_scenario(tmp_path / "f0.toml")
    sc = chain(30)
    assert (sc.params.market.buyers, sc.params.run.steps) == (100, 10) and len(sc.chain) == 30
    (tmp_path / "f0.toml").write_text('extends = "f1.toml"\n')  # only the farther files say it
    assert load_scenario(tmp_path / "f0.toml").params.market.buyers == 99
    with pytest.raises(ParamError) as exc:
        chain(40)
    assert exc.value.key == "extends" and exc.value.message == "extends chain deeper than 32 files"


def test_a_fault_in_an_extended_file_is_named_by_the_path_the_user_reached_it_by(tmp_path, monkeypatch):
    """``trustsim run top.toml`` in its folder: the fault in the file it extends is in ``base.toml`` there, named
    as the user would name it, as the top file is."""
    (tmp_path / "base.toml").write_text("[trust]\nloss = 7\n")
    (tmp_path / "top.toml").write_text('extends = "base.toml"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamError) as exc:
        load_scenario("top.toml")
    assert (exc.value.source, exc.value.key) == ("base.toml", "trust.loss")


def test_a_calibration_belongs_to_the_file_that_declares_it(tmp_path):
    """A scenario extending a calibration file is a scenario: its [calibrate] table is not inherited."""
    (tmp_path / "cal.toml").write_text('[calibrate]\nmethod = "abc"\n[trust]\ngain = 0.2\n')
    (tmp_path / "child.toml").write_text('extends = "cal.toml"\n')
    assert load_scenario(tmp_path / "cal.toml").calibrate == {"method": "abc"}
    child = load_scenario(tmp_path / "child.toml")
    assert child.calibrate is None and child.params.trust.gain == 0.2


def test_a_seed_of_zero_given_as_an_option_replaces_the_scenario_s_seed(tmp_path):
    """``--seed 0`` is a seed like any other (the smallest), not "no seed given"."""
    (tmp_path / "s.toml").write_text("[run]\nseed = 5\nsteps = 40\n")
    (tmp_path / "top.toml").write_text('extends = "s.toml"\n')
    for path in ("s.toml", "top.toml"):
        sc = load_scenario(tmp_path / path, seed=0)
        assert sc.params.run.seed == 0 and sc.overrides == {"run.seed": 0}, path
        sc = load_scenario(tmp_path / path, sets=["run.seed=3"], seed=0, steps=1)
        assert (sc.params.run.seed, sc.params.run.steps) == (0, 1), path


def test_a_sweep_table_without_its_parents_factors_is_told_how_to_ask_for_replications_alone(tmp_path):
    """A child's [sweep] that changes a key of its parent's loses the parent's factors (a [sweep] is not
    inherited): the line names the parent and says both ways on, ``factors = {}`` written as the file writes it."""
    (tmp_path / "grid.toml").write_text('[sweep]\nreplications = 2\n'
                                        '[sweep.factors]\n"market.uncertainty" = [0.0, 0.6]\n')
    (tmp_path / "child.toml").write_text('extends = "grid.toml"\n[sweep]\nreplications = 3\n')
    with pytest.raises(ParamError) as exc:
        load_scenario(tmp_path / "child.toml")
    assert exc.value.key == "sweep.factors"
    assert exc.value.message == ('none here, and the [sweep] of "grid.toml" is not inherited (a sweep belongs to the '
                                 "file that declares it): repeat its factors, or write factors = {} for replications "
                                 "of the scenario alone")
