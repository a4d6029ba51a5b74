"""Bounded load on loopback: zero errors, latency recorded (the full 2,000-request run is
``python -m benchmarks.service_load``, the benchmarks' measurement)."""

from __future__ import annotations

import json

import httpx

from benchmarks.service_load import measure_load, run_load


def test_bounded_load_has_no_errors(record_property):
    out = measure_load(n=300, concurrency=20)
    record_property("load", json.dumps(out))
    print("load", json.dumps(out))
    assert out["errors"] == 0, out["first_error"]
    assert out["ok"] == 300
    assert 0 < out["p50_ms"] <= out["p99_ms"] <= out["max_ms"]


def test_load_ids_are_distinct_and_readable(live):
    out = run_load(live.url, live.keys["intake"], n=60, concurrency=6, seed=11)
    assert out["errors"] == 0 and len(set(out["ids"])) == 60
    got = httpx.get(live.url + "/requests.json",
                    params={"service_request_id": ",".join(out["ids"])}).json()
    assert sorted(g["service_request_id"] for g in got) == sorted(out["ids"])
