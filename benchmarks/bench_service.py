"""Service benchmarks: latency and throughput of the HTTP service on loopback.

One real server process (``urbangrid serve``, started by
:func:`benchmarks.service_load.start_server`) on a throwaway SQLite database with fresh intake
and dispatcher keys; the dispatch loop is off (``--dispatch-interval 0``) so that no round
competes with the calls timed. Clients are threads of this process. Two endpoints:

* ``POST /requests.json``, Open311 intake: form parsing, key check, cell lookup, one
  committed SQLite transaction (WAL, ``synchronous=FULL``: an fsync per request), and in
  the full suite again on a local PostgreSQL server (names ending ``_postgresql``);
* ``POST /dispatch``, stateless: a 100 task × 20 team batch as JSON rows, checked, solved
  with ``mcf`` and answered as rows.

For each, three figures (a larger ratio is always worse):

``service_<endpoint>_p50`` / ``_p99``
    Latency with one client, the endpoint's calls interleaved one for one with
    ``GET /services.json`` on the same connection (for intake, each GET followed by the
    disk-commit floor: a 4 KB append + ``fdatasync`` beside the database). Ratio:
    dispatch p50 (p99) / GET p50 (p99); intake (p50 − floor p50) / GET p50, and p99 /
    (GET + floor) p99.
``service_<endpoint>_throughput``
    Seconds per call (wall / calls) with ``CONCURRENCY`` client threads (for intake,
    :func:`benchmarks.service_load.run_load`, the load test's own measurement); ratio = that /
    the same endpoint's one-client p50, i.e. 1 / the speed-up concurrency buys. The
    latencies under load (p50, p99) and calls per second are in the notes.

plus ``service_get_services_p50`` (the reference itself) against the harness's
calibration workload, so that a slowdown of the whole HTTP stack, which the ratios above
divide out, is still seen.

Why these references. ``GET /services.json`` is the cheapest call the service answers (the
catalogue from memory: no key, no database), yet it pays everything the measured
endpoints pay for being HTTP calls: the client's work, loopback, uvicorn's parser and
event loop, routing, FastAPI and JSON. Interleaved call for call with the endpoint, both
see the same machine at the same moment, so the ratio cancels the clock speed and the
load other processes put on the shared cores (a GET timed in blocks before and after
instead moves with how other processes are scheduled). Under concurrency a p50 is a
queueing figure (≈ threads / throughput), so latency is taken with one client and
throughput is compared with the same endpoint with one client: that catches what makes
concurrent calls serialise (a lock, blocking work on the event loop) without depending
on the machine's speed.

The disk is the one thing the GET does not pay and the CPU does not explain: a shared
machine's ``fdatasync`` time moves by an order of magnitude from one second to the next.
The intake p50 ratio therefore subtracts the floor measured in the same iterations; a
change that adds a commit per request still shows, as one more floor. p99 over a few
dozen calls is the slowest call or two, dominated by whatever else the machine did then:
its tolerance comes out wide and it only catches gross tail regressions. The
measurements behind these choices are in ``benchmarks/HISTORY.md``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .harness import Measurement, calibration_seconds

__all__ = ["dispatch_body", "measure", "run", "unavailable"]

CONCURRENCY = 8
#: calls per phase: one-client interleaved latency, then concurrent throughput
SIZES = {
    "quick": {"requests_seq": 150, "requests_conc": 200, "dispatch_seq": 40,
              "dispatch_conc": 24},
    "full": {"requests_seq": 1000, "requests_conc": 2000, "dispatch_seq": 150,
             "dispatch_conc": 200},
}
DISPATCH_TASKS, DISPATCH_TEAMS = 100, 20
SKILLS = ("roads", "greenery", "sanitation")
SERVICE_CODE = "exposed_garbage"

Call = Callable[[object, int], object]  # (httpx.Client, i) -> httpx.Response


def unavailable() -> str | None:
    """Why this suite cannot run here (the service extra is missing), else ``None``."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "httpx", "sqlalchemy")
               if importlib.util.find_spec(m) is None]
    return (f"the service extra is not installed (missing {', '.join(missing)}; "
            "pip install 'urbangrid[service]')") if missing else None


def _ok(r) -> None:
    # a fast error is not a fast service: any failed call fails the benchmark
    if not 200 <= r.status_code < 300:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: "
                           f"{r.status_code} {r.text[:300]}")


def _percentiles(lat_s: list[float]) -> dict:
    ms = np.asarray(lat_s) * 1e3
    return {"n": int(ms.size), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99))}


def _interleaved(url: str, n: int, call: Call,
                 floor: Callable[[], None] | None = None) -> dict[str, dict]:
    """One client: ``GET /services.json``, then ``floor()``, then ``call``; ``n`` times.

    Returns the percentiles of ``call`` (``"call"``), of the GET (``"get"``), of the floor
    (``"floor"``, if given) and of the reference, the GET plus the floor of the same
    iteration (``"ref"``).
    """
    import httpx

    lat: dict[str, list[float]] = {"call": [], "get": [], "floor": []}
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(n):
            t0 = time.perf_counter()
            r = client.get("/services.json")
            t1 = time.perf_counter()
            _ok(r)
            if floor is not None:
                floor()
            t2 = time.perf_counter()
            r = call(client, i)
            t3 = time.perf_counter()
            _ok(r)
            lat["get"].append(t1 - t0)
            lat["floor"].append(t2 - t1)
            lat["call"].append(t3 - t2)
    out = {k: _percentiles(v) for k, v in lat.items()}
    out["ref"] = _percentiles(np.add(lat["get"], lat["floor"]))
    if floor is None:
        del out["floor"]
    return out


def _concurrent(url: str, n: int, concurrency: int, call: Call) -> dict:
    """``n`` calls from ``concurrency`` threads (one client each); latency and throughput."""
    import httpx

    local = threading.local()
    lat = [0.0] * n
    clients = []

    def one(i: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, timeout=120)
            clients.append(client)
        t0 = time.perf_counter()
        r = call(client, i)
        lat[i] = time.perf_counter() - t0
        _ok(r)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    for c in clients:
        c.close()
    return {**_percentiles(lat), "concurrency": concurrency, "seconds": wall, "rps": n / wall}


def _intake_call(key: str, seed: int) -> Call:
    """Open311 create-request calls, form-encoded, one idempotency key each."""
    from .service_load import district_points

    pts = district_points(10_000, seed)

    def call(client, i):
        lat, lon = pts[i % len(pts)]
        return client.post("/requests.json", data={
            "api_key": key, "service_code": SERVICE_CODE, "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}", "description": f"bench {seed}-{i}"},
            headers={"Idempotency-Key": f"bench-{seed}-{i}"})
    return call


class _DiskCommitFloor:
    """Append one 4 KB page to a file and ``fdatasync`` it: a SQLite WAL commit's disk
    work with ``synchronous=FULL``, on the file system that holds the database."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder / "floor.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self._page = b"\0" * 4096

    def __call__(self) -> None:
        os.write(self._fd, self._page)
        os.fdatasync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def dispatch_body(seed: int = 0) -> dict:
    """A 100 × 20 ``POST /dispatch`` body on Jing'an cells (the tables of the command)."""
    from urbangrid.grid import District

    cells = District.jingan().cells
    lat, lon = cells["lat"].to_numpy(), cells["lon"].to_numpy()
    rng = np.random.default_rng(seed)
    ti = rng.integers(0, len(cells), DISPATCH_TASKS)
    mi = rng.integers(0, len(cells), DISPATCH_TEAMS)
    start = np.datetime64("2026-03-02T08:00")
    deadlines = start + rng.integers(120, 3000, DISPATCH_TASKS).astype("timedelta64[m]")
    tasks = [{"id": i + 1, "lat": float(lat[t]), "lon": float(lon[t]),
              "skill": str(rng.choice(SKILLS)), "priority": int(rng.integers(1, 4)),
              "deadline": str(deadlines[i]), "work_minutes": int(rng.integers(10, 60))}
             for i, t in enumerate(ti)]
    teams = [{"id": 101 + j, "lat": float(lat[m]), "lon": float(lon[m]),
              "skills": ";".join(rng.choice(SKILLS, size=2, replace=False)),
              "capacity": int(rng.integers(3, 7)),
              "shift_start": "2026-03-02T08:00:00", "shift_end": "2026-03-02T17:00:00"}
             for j, m in enumerate(mi)]
    return {"tasks": tasks, "teams": teams, "method": "mcf", "now": "2026-03-02T08:00:00"}


def _dispatch_call(key: str, body: dict) -> Call:
    def call(client, i):
        r = client.post("/dispatch", params={"api_key": key}, json=body)
        if r.status_code == 200 and r.json()["summary"]["assigned"] <= 0:
            raise RuntimeError(f"POST /dispatch assigned nothing: {r.text[:300]}")
        return r
    return call


def measure(requests_seq: int, requests_conc: int, dispatch_seq: int, dispatch_conc: int,
            concurrency: int = CONCURRENCY, seed: int = 0, db: str | None = None) -> dict:
    """Start a server on a fresh database (SQLite, or ``db``: an empty PostgreSQL
    database), time both endpoints, stop it.

    Returns
    -------
    dict
        ``requests_seq`` and ``dispatch_seq``: one client, as :func:`_interleaved` returns
        (``call``, ``get``, ``ref`` and for intake ``floor``, each ``n``, ``p50_ms``,
        ``p99_ms``); ``requests_conc`` and ``dispatch_conc``: ``concurrency`` threads
        (``n``, ``p50_ms``, ``p99_ms``, ``concurrency``, ``seconds``, ``rps``).

    Raises
    ------
    RuntimeError
        If the server does not start or any call fails (the server log is attached).
    """
    from urbangrid.service import Store, create_key

    from .service_load import run_load, start_server

    body = dispatch_body(seed)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(db)
        store.migrate()
        intake = create_key(store, "intake", "benchmark")
        dispatcher = create_key(store, "dispatcher", "benchmark")
        store.dispose()
        server = start_server(db, Path(tmp) / "server.log",
                              extra=["--dispatch-interval", "0"])
        try:
            url = server.url
            post_request = _intake_call(intake, seed)
            post_dispatch = _dispatch_call(dispatcher, body)
            # warm-up outside timing: first-call imports, JIT, caches, SQLite file growth
            # (the first rounds of a fresh server ran up to 2× slower)
            _concurrent(url, 50, concurrency, post_request)
            _concurrent(url, 6, 2, post_dispatch)

            floor = _DiskCommitFloor(Path(tmp))
            try:
                out["requests_seq"] = _interleaved(
                    url, requests_seq, lambda c, i: post_request(c, 1_000_000 + i), floor)
            finally:
                floor.close()
            load = run_load(url, intake, n=requests_conc, concurrency=concurrency,
                            seed=seed + 1, service_code=SERVICE_CODE)
            if load["errors"]:
                raise RuntimeError(f"{load['errors']} of {requests_conc} intake calls "
                                   f"failed; first: {load['first_error']}")
            out["requests_conc"] = {k: load[k] for k in (
                "n", "p50_ms", "p99_ms", "concurrency", "seconds", "rps")}
            out["dispatch_seq"] = _interleaved(url, dispatch_seq, post_dispatch)
            out["dispatch_conc"] = _concurrent(url, dispatch_conc, concurrency, post_dispatch)
        except BaseException as exc:
            server.stop()
            raise RuntimeError(f"service benchmark failed: {exc}\nserver log (tail):\n"
                               f"{server.log()[-2000:]}") from exc
        server.stop()
    return out


def _measurements(r: dict, what: str, suffix: str = "") -> list[Measurement]:
    out = _named_measurements(r, what)
    for m in out:
        m.name += suffix
    return out


def _named_measurements(r: dict, what: str) -> list[Measurement]:
    seq, conc = r[f"{what}_seq"], r[f"{what}_conc"]
    call, get, floor = seq["call"], seq["get"], seq.get("floor")
    notes = {"calls": call["n"], "clients": 1, "get_p50_ms": round(get["p50_ms"], 3)}
    if floor is None:
        p50 = Measurement(f"service_{what}_p50", call["p50_ms"] / 1e3,
                          "GET /services.json p50, interleaved", get["p50_ms"] / 1e3,
                          extra=notes)
        p99 = Measurement(f"service_{what}_p99", call["p99_ms"] / 1e3,
                          "GET /services.json p99, interleaved", get["p99_ms"] / 1e3,
                          extra={"calls": call["n"], "clients": 1})
    else:
        notes["disk_commit_p50_ms"] = round(floor["p50_ms"], 3)
        p50 = Measurement(
            f"service_{what}_p50", call["p50_ms"] / 1e3,
            "GET /services.json p50, interleaved (ratio: time − disk commit, over it)",
            get["p50_ms"] / 1e3,
            ratio=(call["p50_ms"] - floor["p50_ms"]) / get["p50_ms"],
            ratio_kind="(p50 − disk-commit floor p50) / GET p50 (lower is better)",
            extra=notes)
        p99 = Measurement(f"service_{what}_p99", call["p99_ms"] / 1e3,
                          "GET /services.json + disk-commit floor p99, interleaved",
                          seq["ref"]["p99_ms"] / 1e3, extra={"calls": call["n"], "clients": 1})
    return [p50, p99, Measurement(
        f"service_{what}_throughput", conc["seconds"] / conc["n"],
        "same endpoint, one client, p50", call["p50_ms"] / 1e3,
        extra={"calls": conc["n"], "clients": conc["concurrency"],
               "calls_per_s": round(conc["rps"], 1),
               "p50_ms_under_load": round(conc["p50_ms"], 2),
               "p99_ms_under_load": round(conc["p99_ms"], 2)})]


#: An admin URL of a PostgreSQL server for the PostgreSQL rows; without it the full suite
#: starts a throwaway server with ``tests/service/start_postgres.sh`` (as ``.ci/run``).
PG_ENV = "URBANGRID_BENCH_POSTGRES_URL"
_START_PG = Path(__file__).resolve().parents[1] / "tests" / "service" / "start_postgres.sh"


@contextlib.contextmanager
def _postgres():
    """An empty PostgreSQL database on a server (:data:`PG_ENV`, else a throwaway one
    started here and stopped after), or ``None`` with the reason logged."""
    import subprocess
    import uuid

    admin, folder = os.environ.get(PG_ENV), None
    if not admin:
        folder = tempfile.mkdtemp(prefix="urbangrid-bench-pg.")
        proc = subprocess.run(["bash", str(_START_PG), folder], capture_output=True,
                              text=True, check=False, timeout=300)
        last = proc.stdout.strip().splitlines()[-1:] or [""]
        if proc.returncode != 0 or not last[0].startswith("postgresql://"):
            print(f"  (no PostgreSQL server for the service rows: {proc.stderr[-300:]})")
            yield None
            return
        admin = last[0]
    name = f"urbangrid_bench_{uuid.uuid4().hex[:8]}"
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = admin.rpartition("/")
        yield f"{base}/{name}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if folder is not None:
            pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
            who = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
            subprocess.run([*who, str(pg_ctl), "-D", f"{folder}/data", "-m", "fast", "stop"],
                           capture_output=True, check=False)


def run(quick: bool, sizes: dict | None = None) -> list[Measurement]:
    """The suite's entry point; ``sizes`` overrides :data:`SIZES` (same keys). The full
    suite measures both endpoints again on PostgreSQL (names ending ``_postgresql``)."""
    # the calibration workload before and after the server's run: the faster one, as
    # another process's burst would otherwise land in the ratio as a speed-up
    size = sizes or SIZES["quick" if quick else "full"]
    cal = calibration_seconds()
    r = measure(**size)
    cal = min(cal, calibration_seconds())
    get = r["requests_seq"]["get"]
    out = [
        *_measurements(r, "requests"),
        *_measurements(r, "dispatch"),
        Measurement("service_get_services_p50", get["p50_ms"] / 1e3, "calibration workload",
                    cal, extra={"calls": get["n"], "clients": 1,
                                "p99_ms": round(get["p99_ms"], 3)}),
    ]
    if not quick:
        with _postgres() as pg:
            if pg is not None:
                r = measure(**size, db=pg)
                out += [*_measurements(r, "requests", "_postgresql"),
                        *_measurements(r, "dispatch", "_postgresql")]
    return out
