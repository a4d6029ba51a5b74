"""The README's performance table, rendered from a run of the suite (``results.json``).

``python -m benchmarks.table`` rewrites the table in ``README.md`` between the marker
comments :data:`START` and :data:`END` from ``benchmarks/results.json``; ``--check``
changes nothing and exits 1 when the README's table is not what the results give (a test
runs the same comparison on the committed files). ``make bench`` runs it after the full
suite, so the README never holds a figure by hand.

Each row of the table is a function of the measurements by name (:func:`rows`); a row
whose measurements the run lacks (a quick or partial run) is left out. Targets are the
project's own; whether a run meets one is computed, not written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["END", "START", "check_readme", "render_table", "replace_table", "rows",
           "update_readme"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
README = HERE.parent / "README.md"
START = "<!-- perf-table:start -->"
END = "<!-- perf-table:end -->"

#: A row: measurements by name -> (what, measured, reference in the same run, target), or
#: None when the run lacks a measurement the row needs.
Row = Callable[[dict[str, dict]], tuple[str, str, str, str] | None]


# ----------------------------------------------------------------------------- formats
def _t(seconds: float) -> str:
    """A time with three significant digits in µs, ms or s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{_sig(seconds * 1e3)} ms"
    return f"{_sig(seconds)} s"


def _sig(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def _ms(ms: float) -> str:
    return _t(ms / 1e3)


def _mb(mb: float) -> str:
    return f"{mb / 1000:.2f} GB" if mb >= 1000 else f"{mb:.0f} MB"


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def _need(m: dict[str, dict], *names: str) -> list[dict] | None:
    got = [m.get(n) for n in names]
    return None if any(g is None for g in got) else got


# ----------------------------------------------------------------------------- rows
def _district(name: str, label: str) -> Row:
    def row(m):
        if (got := _need(m, name)) is None:
            return None
        d = got[0]
        n = d["extra"]["cells"]
        return (f"{label} travel-time matrix ({n:,}²)",
                f"{_t(d['seconds'])}, process peak {d['extra']['peak_mb']:.0f} MB", "–", "–")
    return row


def _district_synthetic(m):
    if (got := _need(m, "district_synthetic_10x_rows")) is None:
        return None
    d = got[0]
    x = d["extra"]
    return (f"synthetic district 10× Jing'an ({x['cells']:,} cells), {x['origins']} rows "
            "on demand", f"{_t(d['seconds'])}, process peak {x['peak_mb']:.0f} MB", "–", "–")


def _scoring(m):
    if (got := _need(m, "scoring_8000x600_numba_vs_floor",
                      "scoring_8000x600_numba_vs_numpy")) is None:
        return None
    floor, numpy = got
    speedup = numpy["reference_seconds"] / numpy["seconds"]
    return ("scoring 8,000 × 600 (Numba)", _t(floor["seconds"]),
            f"NumPy {_t(numpy['reference_seconds'])} ({speedup:.0f}×); "
            f"{floor['reference']} {_t(floor['reference_seconds'])} ({floor['ratio']:.1f}×)",
            f"≥ 20× NumPy: {_met(speedup >= 20)}; ≤ 2× write floor: "
            f"{_met(floor['ratio'] <= 2)}")


def _assign(m):
    if (got := _need(m, "assign_200x300")) is None:
        return None
    a = got[0]
    proven = ", proven optimal" if a["extra"].get("all_proven_optimal") else ""
    return ("assignment 200 × 300, capacities 1–3", f"{_t(a['seconds'])}{proven}",
            f"{a['reference']} {_t(a['reference_seconds'])}",
            f"≤ 2 ms: {_met(a['seconds'] <= 2e-3)}")


def _solve(batches: int) -> Row:
    def row(m):
        if (got := _need(m, "solve_500x600_p99")) is None:
            return None
        s = got[0]
        return (f"solve 500 × 600 incl. scoring, p99 over {batches} batches",
                f"{_t(s['seconds'])} (p50 {_ms(s['extra']['p50_ms'])})", "–",
                f"≤ 25 ms: {_met(s['seconds'] <= 25e-3)}")
    return row


def _day(m):
    if (got := _need(m, "assign_day_8000x600_all_on_shift",
                      "assign_day_8000x600_tenth_off_shift")) is None:
        return None
    on, off = got
    gap = max(abs(on["extra"]["rel_gap"]), abs(off["extra"]["rel_gap"]))
    ok = max(on["seconds"], off["seconds"]) <= 0.5 and gap <= 1e-3
    return ("full day 8,000 × 600, capacities 10–20",
            f"{_t(on['seconds'])} all teams on shift, {_t(off['seconds'])} a tenth off "
            f"shift; gap ≤ {gap:.1e}",
            f"{on['reference']} {_t(on['reference_seconds'])} / "
            f"{_t(off['reference_seconds'])} ({1 / on['ratio']:.1f}× / "
            f"{1 / off['ratio']:.1f}×)",
            f"≤ 0.5 s, gap ≤ 0.1 %: {_met(ok)}")


def _ticks(m):
    names = [n for n in ("nearest", "legacy", "greedy", "mcf")
             if f"policy_tick_50x400_{n}" in m]
    if not names:
        return None
    return ("policy call, 50 tasks × 400 teams",
            ", ".join(f"{n} {_t(m[f'policy_tick_50x400_{n}']['seconds'])}" for n in names),
            "–", "–")


def _year(m):
    if (got := _need(m, "simulate_365d_mcf_fresh_process")) is None:
        return None
    y = got[0]
    x = y["extra"]
    runs, floors = x["runs_s"], x["floors_s"]
    others = [f"{r:g} s" for r in sorted(runs)[1:]]
    other_floors = [f"{f:g} s" for f in sorted(floors)[1:]]
    ok = y["seconds"] <= 60 and y["ratio"] <= 1.5
    return (f"**simulated year of Jing'an with `mcf`** ({x['cases']:,} cases, "
            f"{x['events'] / 1e6:.1f} M events), fresh process, fastest of {len(runs)}",
            f"**{_t(y['seconds'])}**" + (f" ({', '.join(others)})" if others else "")
            + f"; compiled loop {x['core_s']:g} s (life cycle and "
            f"{x['compiled_rounds']:,} of {x['rounds']:,} rounds), {x['policy_calls']:,} "
            f"rounds through Python {x['policy_s']:g} s",
            f"bare SimPy, same events, fastest of {len(floors)}: "
            f"{_t(y['reference_seconds'])}"
            + (f" ({', '.join(other_floors)})" if other_floors else "")
            + f" (**{y['ratio']:.2f}×**)",
            f"≤ 60 s, ≤ 1.5×: {_met(ok)}")


def _year_memory(m):
    if (got := _need(m, "simulate_365d_mcf_fresh_process")) is None:
        return None
    peak = got[0]["extra"]["peak_mb"]
    return ("peak memory of that year (process maximum RSS)", f"**{_mb(peak)}**", "–",
            f"≤ 2 GB: {_met(peak <= 2000)}")


def _whole_year(m):
    if (got := _need(m, "simulate_cli_365d_mcf")) is None:
        return None
    y = got[0]
    x = y["extra"]
    ok = y["ratio"] <= 1.5 and x["peak_mb"] <= 2000
    return ("`urbangrid simulate` of that year with every output (events and cases "
            f"Parquet, kpis.json, report; {x['outputs_mb']:,.0f} MB), fresh process",
            f"**{_t(y['seconds'])}**, peak {_mb(x['peak_mb'])}",
            f"the engine's year above: **{y['ratio']:.2f}×**",
            f"≤ 1.5×, ≤ 2 GB: {_met(ok)}")


def _days(days: int, label: str, target: Callable[[float], str] | None) -> Row:
    def row(m):
        if (got := _need(m, f"simulate_{days}d_nearest", f"simulate_{days}d_mcf")) is None:
            return None
        nearest, mcf = got
        return (f"{label} ({nearest['extra']['cases']:,} cases), nearest / mcf",
                f"{_t(nearest['seconds'])} / {_t(mcf['seconds'])}",
                f"{nearest['ratio']:.2f}× / {mcf['ratio']:.2f}× bare SimPy, same events",
                target(max(nearest["seconds"], mcf["seconds"])) if target else "–")
    return row


def _service(kind: str, label: str, commit_note: bool, db: str = "") -> Row:
    """The row of one service endpoint: its p50 / p99 for one client, the throughput and
    p99 of several, and the interleaved GET /services.json it is timed against (``db``:
    the name suffix of another database's measurements, ``"_postgresql"``)."""
    def row(m):
        if (got := _need(m, f"service_{kind}_p50{db}", f"service_{kind}_p99{db}",
                          f"service_{kind}_throughput{db}")) is None:
            return None
        p50, p99, load = got
        ref = (f"GET /services.json interleaved {_ms(p50['extra']['get_p50_ms'])}: "
               f"{p50['ratio']:.1f}×")
        if commit_note:
            ref += f" net of the {_ms(p50['extra']['disk_commit_p50_ms'])} disk commit"
        x = load["extra"]
        return (label, f"one client p50 {_t(p50['seconds'])}, p99 {_t(p99['seconds'])}; "
                f"{x['clients']} clients {x['calls_per_s']:.0f} calls/s, p99 "
                f"{_ms(x['p99_ms_under_load'])}", ref, "–")
    return row


def _hall_week(m):
    if (got := _need(m, "hall_week")) is None:
        return None
    week = got[0]
    return (f"services hall: a simulated week ({week['extra']['requests']:,} requests, "
            f"{week['extra']['visits']:,} counter visits)", _t(week["seconds"]), "–",
            f"seconds: {_met(week['seconds'] <= 10.0)}")


def rows(quick: bool = False) -> tuple[Row, ...]:
    """The table's rows, in order (the quick suite solves 20 batches of 500 × 600, the
    full one 100: ``benchmarks/measure_optimizer.py``)."""
    return (
        _district("district_jingan_res10_build", "Jing'an res 10"),
        _district("district_jingan_res9_build", "Jing'an res 9"),
        _district_synthetic,
        _scoring,
        _assign,
        _solve(20 if quick else 100),
        _day,
        _ticks,
        _year,
        _year_memory,
        _whole_year,
        _days(30, "simulated 30 days", None),
        _days(1, "simulated day of Jing'an", lambda s: f"≤ 0.5 s: {_met(s <= 0.5)}"),
        _hall_week,
        _service("requests", "service POST /requests.json (Open311 intake, SQLite commit "
                 "per request)", commit_note=True),
        _service("dispatch", "service POST /dispatch, 100 tasks × 20 teams (mcf)",
                 commit_note=False),
        _service("requests", "the same intake on PostgreSQL (local server)", commit_note=True,
                 db="_postgresql"),
        _service("dispatch", "the same dispatch on PostgreSQL", commit_note=False,
                 db="_postgresql"),
    )


# ----------------------------------------------------------------------------- table
def render_table(results: dict) -> str:
    """The README's table and its caption (Markdown, no markers) from a ``results.json``
    document."""
    m = {x["name"]: x for x in results["measurements"]}
    quick = results.get("quick", False)
    lines = ["| what | measured | reference in the same run | target |",
             "| --- | --- | --- | --- |"]
    for row in rows(quick):
        if (got := row(m)) is not None:
            lines.append("| " + " | ".join(got) + " |")
    info = results["machine"]
    suite = "quick suite (`make bench-quick`)" if quick else "full suite (`make bench`)"
    caption = (
        f"Figures of the {suite} as committed in `benchmarks/results.json` (every figure: "
        f"`benchmarks/RESULTS.md`), measured on {info['cpu']} ({info['cores']} cores), "
        f"Python {info['python']}. Times on a shared machine vary by ±30 % or more between "
        "runs; the regression checks use the ratios to references timed in the same run. "
        "The table is generated (`python -m benchmarks.table`)."
    )
    return caption + "\n\n" + "\n".join(lines)


def replace_table(text: str, table: str) -> str:
    """``text`` with everything between :data:`START` and :data:`END` replaced by
    ``table``.

    Raises
    ------
    ValueError
        When the markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} line followed by one {END} line")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}\n{END}{tail}"


def check_readme(readme: Path = README, results: Path = RESULTS) -> bool:
    """Whether ``readme`` holds the table ``results`` renders."""
    text = readme.read_text(encoding="utf-8")
    table = render_table(json.loads(results.read_text(encoding="utf-8")))
    return replace_table(text, table) == text


def update_readme(readme: Path = README, results: Path = RESULTS) -> bool:
    """Rewrite the table in ``readme`` from ``results``; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    new = replace_table(text, render_table(json.loads(results.read_text(encoding="utf-8"))))
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when the README's table is stale")
    args = parser.parse_args(argv)
    if args.check:
        if check_readme(args.readme, args.results):
            return 0
        print(f"{args.readme}: the performance table differs from {args.results} "
              "(python -m benchmarks.table rewrites it)", file=sys.stderr)
        return 1
    changed = update_readme(args.readme, args.results)
    print(f"{args.readme}: table {'rewritten' if changed else 'already current'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
