"""Scenario loading: defaults, overrides, and malformed files with their messages."""

import tomllib
from importlib import resources

import pytest

from tests.shared import SIM_DATA as DATA
from urbangrid.errors import InputError
from urbangrid.simulation import Scenario, load_scenario, parse_overrides
from urbangrid.simulation.scenario import to_toml


def test_empty_file_gives_documented_defaults():
    s = load_scenario(DATA / "empty.toml")
    assert s == Scenario()
    assert s.demand.cases_per_day == 6500
    assert s.dispatch.policy == "nearest"
    assert s.workflow.process == "integrated"
    assert s.channels.patrol.onspot_fix_prob == 0.13
    assert s.workflow.rework_prob == 0.056


def test_packaged_default_file_matches_the_defaults():
    text = (resources.files("urbangrid.simulation") / "data" / "default.toml").read_text(
        encoding="utf-8")
    assert Scenario.from_dict(tomllib.loads(text)) == Scenario()
    assert to_toml(Scenario()).strip() in text


def test_set_overrides_and_replace(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("[demand]\ncases_per_day = 5000\n", encoding="utf-8")
    ov = parse_overrides(["demand.cases_per_day=7000", "dispatch.policy=legacy",
                          "crews.0.per_subdistrict=9"])
    s = load_scenario(p, ov)
    assert s.demand.cases_per_day == 7000
    assert s.dispatch.policy == "legacy"
    assert s.crews[0].per_subdistrict == 9
    r = s.replace({"run.days": 3}, name="x")
    assert (r.run.days, r.name, s.run.days) == (3, "x", 14)


@pytest.mark.parametrize(("toml", "expected"), [
    ("2025-03-10", "2025-03-10T00:00"),              # a TOML date: its midnight
    ("2025-03-10T08:30:00", "2025-03-10T08:30"),     # a TOML local date-time
    ('"2025-03-10T08:30"', "2025-03-10T08:30"),      # the string form
])
def test_start_accepts_toml_dates_in_files_and_set(tmp_path, toml, expected):
    p = tmp_path / "s.toml"
    p.write_text(f"[run]\nstart = {toml}\n", encoding="utf-8")
    assert load_scenario(p).run.start == expected
    empty = tmp_path / "e.toml"
    empty.write_text("", encoding="utf-8")
    got = load_scenario(empty, parse_overrides([f"run.start={toml.strip(chr(34))}"]))
    assert got.run.start == expected
    assert got.run.start_datetime.isoformat(timespec="minutes") == expected


@pytest.mark.parametrize(("text", "message"), [
    ('[district]\nboundary = "b.geojson"\n', "boundary is read only with source = 'files'"),
    ('[district]\nsource = "toy"\nweights_file = "w.csv"\n', "source = 'toy'"),
    ('[district]\ntoy_rows = 3\n', "toy_rows is read only with source = 'toy'"),
])
def test_settings_another_district_source_reads_are_refused(tmp_path, text, message):
    # without source = "files" a boundary used to simulate Jing'an, exit 0 (issue 18)
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_scenario(p)
    assert str(p) in str(err.value)


def test_compare_help_prints_a_plain_percent_sign(capsys):
    from urbangrid.cli import main

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # the help is wrapped to the terminal
    assert "95 % t-intervals" in out and "%%" not in out


def test_no_command_help_prints_a_doubled_percent_sign():
    # descriptions are printed as written, help strings %-formatted: "%%" is right in
    # one and wrong in the other, so check every command's rendered help
    import argparse

    from urbangrid.cli import build_parser

    def parsers(p):
        yield p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    bad = [p.prog for p in parsers(build_parser()) if "%%" in p.format_help()]
    assert bad == []


def test_relative_paths_resolve_against_the_scenario_file(tmp_path):
    (tmp_path / "cat.csv").write_text("x", encoding="utf-8")
    p = tmp_path / "s.toml"
    p.write_text('[catalogue]\nfile = "cat.csv"\n', encoding="utf-8")
    assert load_scenario(p).catalogue.file == str((tmp_path / "cat.csv").resolve())


MALFORMED = [
    ("[demand]\ncases_pr_day = 5\n", "demand.cases_pr_day: unknown key"),
    ("[demand]\ncases_per_day = -5\n", "demand.cases_per_day = -5"),
    ("[demand]\ncases_per_day = -5\n", "allowed range [0, 1e+06]"),
    ('[run]\ndays = "many"\n', "run.days = 'many'"),
    ("[run]\ndays = 0\n", "allowed range (0, 3660]"),
    ("[channels.iot]\ncoverage = 1.5\n", "channels.iot.coverage = 1.5"),
    ("[channels.iot]\nshare = 0.5\n", "channels.*.share must sum to 1"),
    ('[calendar]\nwork_start = "25:00"\n', "not a time of day"),
    ('[calendar]\nwork_start = "18:00"\n', "work_end must be after work_start"),
    ('[run]\nstart = "yesterday"\n', "not an ISO 8601 date-time"),
    ('[workflow]\nprocess = "fast"\n', "workflow.process = 'fast'"),
    ("[demand]\nhour_of_day = [1, 2]\n", "demand.hour_of_day"),
    ('[[crews]]\nname = "a"\nskills = ["x"]\nshift = "weekly"\nper_subdistrict = 1\n',
     "crews[0].shift = 'weekly' is not a defined shift"),
    ('[[crews]]\nname = "a"\nskills = ["x"]\n', "has no teams"),
    ("[demand\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_scenarios_fail_at_load_with_path_and_range(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_missing_file_and_bad_set_syntax(tmp_path):
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="expected key.path=value"):
        parse_overrides(["novalue"])
    with pytest.raises(InputError, match="demand.nope: unknown key"):
        load_scenario(DATA / "empty.toml", {"demand.nope": 1})


def test_extends_merges_tables_and_replaces_arrays(tmp_path):
    (tmp_path / "base.toml").write_text(
        '[demand]\ncases_per_day = 5000\nevent_share = 0.8\n'
        '[[demand.surges]]\nstart_day = 1\ndays = 1\n'
        '[[demand.surges]]\nstart_day = 3\ndays = 2\n'
        '[catalogue]\nfile = "cat.csv"\n'
        '[[crews]]\nname = "a"\nskills = ["sanitation"]\nper_subdistrict = 2\n'
        '[[crews]]\nname = "b"\nskills = ["housing"]\nper_subdistrict = 1\n',
        encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "what.toml").write_text(
        'extends = "../base.toml"\nname = "what"\n[demand]\ncases_per_day = 7000\n'
        '[[demand.surges]]\nstart_day = 5\ndays = 1\n'
        '[[crews]]\nname = "c"\nskills = ["sanitation"]\nper_subdistrict = 4\n',
        encoding="utf-8")
    s = load_scenario(sub / "what.toml")
    assert (s.name, s.demand.cases_per_day, s.demand.event_share) == ("what", 7000, 0.8)
    # an unnamed array replaces; named tables merge by name (a new one is appended)
    assert [x.start_day for x in s.demand.surges] == [5]
    assert [c.name for c in s.crews] == ["a", "b", "c"]
    # the base's relative paths stay relative to the base's folder
    assert s.catalogue.file == str((tmp_path / "cat.csv").resolve())


def test_extends_merges_crews_and_workstations_by_name(tmp_path):
    # issue 18, defect 5: a what-if states only the crew it changes
    base = tmp_path / "base.toml"
    base.write_text(
        '[[crews]]\nname = "a"\nskills = ["sanitation"]\nper_subdistrict = 3\n'
        'shift = "always"\n\n[[crews]]\nname = "b"\nskills = ["city_management"]\n'
        'per_subdistrict = 2\n\n[[crews]]\nname = "c"\nskills = ["facilities"]\n'
        'per_subdistrict = 1\n', encoding="utf-8")
    top = tmp_path / "top.toml"
    top.write_text(
        'extends = "base.toml"\n\n[[crews]]\nname = "a"\nshift = "day"\n\n'
        '[[crews]]\nname = "a_night"\nskills = ["sanitation"]\nper_subdistrict = 1\n'
        'shift = "night"\n\n[[crews]]\nname = "c"\nremove = true\n', encoding="utf-8")
    s = load_scenario(top)
    assert [c.name for c in s.crews] == ["a", "a_night", "b"]  # new after its predecessor
    a = s.crews[0]
    assert (a.shift, a.per_subdistrict, a.skills) == ("day", 3, ["sanitation"])
    # --set by name, on a list the file sets and on the default crews
    s2 = load_scenario(top, parse_overrides(["crews.b.per_subdistrict=7"]))
    assert s2.crews[2].per_subdistrict == 7
    empty = tmp_path / "e.toml"
    empty.write_text("", encoding="utf-8")
    s3 = load_scenario(empty, parse_overrides(["crews.sanitation.per_subdistrict=9"]))
    assert next(c for c in s3.crews if c.name == "sanitation").per_subdistrict == 9
    with pytest.raises(InputError, match=r"no list item 'sanitaton' \(items: a, a_night, b"):
        load_scenario(top, parse_overrides(["crews.sanitaton.shift=day"]))


def test_a_whatif_of_a_base_on_default_crews_merges_into_the_defaults(tmp_path):
    (tmp_path / "base.toml").write_text("[demand]\ncases_per_day = 300\n", encoding="utf-8")
    top = tmp_path / "top.toml"
    top.write_text('extends = "base.toml"\n[[crews]]\nname = "sanitation"\nshift = "day"\n',
                   encoding="utf-8")
    s, default = load_scenario(top), Scenario()
    assert [c.name for c in s.crews] == [c.name for c in default.crews]
    got = next(c for c in s.crews if c.name == "sanitation")
    want = next(c for c in default.crews if c.name == "sanitation")
    assert got == want.model_copy(update={"shift": "day"})


def test_the_sanitation_whatifs_state_only_their_crews_and_resolve_in_order():
    from tests.shared import ROOT

    day = load_scenario(ROOT / "scenarios" / "whatif_sanitation_day_only.toml")
    night = load_scenario(ROOT / "scenarios" / "whatif_sanitation_night_shift.toml")
    base = load_scenario(ROOT / "scenarios" / "jingan_integrated.toml")
    assert [c.name for c in day.crews] == [c.name for c in base.crews]
    names = [c.name for c in night.crews]
    assert names[:2] == ["sanitation", "sanitation_night"] and len(names) == 9
    assert day.crews[0].shift == night.crews[0].shift == "day"
    assert day.crews[0].per_subdistrict == base.crews[0].per_subdistrict == 9


def test_extends_errors_name_the_file_and_the_problem(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n', encoding="utf-8")
    b.write_text('extends = "a.toml"\n', encoding="utf-8")
    with pytest.raises(InputError, match="cycle: a.toml -> b.toml -> a.toml"):
        load_scenario(a)
    a.write_text('extends = "missing.toml"\n', encoding="utf-8")
    with pytest.raises(InputError, match="extends = 'missing.toml': scenario file not found"):
        load_scenario(a)
    a.write_text('extends = 3\n', encoding="utf-8")
    with pytest.raises(InputError, match="give the path of a scenario file"):
        load_scenario(a)
