"""The README's performance table is generated: it equals what ``benchmarks.table``
renders from the committed ``benchmarks/results.json``."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks import table
from tests.shared import ROOT


def test_readme_table_is_what_the_committed_results_render():
    assert table.check_readme(ROOT / "README.md", ROOT / "benchmarks" / "results.json"), (
        "README.md's performance table differs from benchmarks/results.json: "
        "run `python -m benchmarks.table`")


def test_readme_table_states_no_run_clock():
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    rendered = table.render_table(results)
    assert results["machine"]["date"][:10] not in rendered
    assert not re.search(r"\b\d\d:\d\d\b", rendered)


def test_replace_table_keeps_the_text_around_the_markers():
    text = f"intro\n{table.START}\nold\nrows\n{table.END}\nafter\n"
    assert table.replace_table(text, "new") == f"intro\n{table.START}\nnew\n{table.END}\nafter\n"


@pytest.mark.parametrize("text", [
    "no markers at all",
    f"{table.END}\n{table.START}\n",
    f"{table.START}\n{table.START}\n{table.END}\n",
], ids=["missing", "reversed", "repeated"])
def test_replace_table_needs_one_pair_of_markers_in_order(text):
    with pytest.raises(ValueError, match="perf-table"):
        table.replace_table(text, "new")


def test_rows_of_measurements_a_run_lacks_are_left_out():
    full = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    quick = {**full, "quick": True,
             "measurements": [m for m in full["measurements"]
                              if m["name"].startswith(("simulate_1d", "solve_"))]}
    rows = [line for line in table.render_table(quick).splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 2  # header, rule, the solve row and the simulated-day row
    assert "quick suite" in table.render_table(quick)
    assert "p99 over 20 batches" in rows[2] and "simulated day" in rows[3]


def test_update_readme_writes_the_rendered_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{table.START}\nstale\n{table.END}\n", encoding="utf-8")
    results = ROOT / "benchmarks" / "results.json"
    assert table.update_readme(readme, results) is True
    assert table.check_readme(readme, results)
    assert table.update_readme(readme, results) is False
