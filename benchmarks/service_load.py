"""Bounded load on a real server process, and the server process helper the tests share.

:func:`start_server` runs ``python -m urbangrid.service serve`` on a free loopback port
and waits until it answers. :func:`run_load` sends ``n`` Open311 ``POST /requests.json``
(form-encoded, each with its own idempotency key) from ``concurrency`` client threads and
returns the latency percentiles; it stops by itself after ``n`` requests.
:func:`measure_load` does both on a fresh SQLite database (the benchmarks' entry point)::

    python -m benchmarks.service_load --n 2000 --concurrency 20
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ServerProcess", "free_port", "measure_load", "run_load", "start_server"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A running ``serve`` process (its log file holds stdout and stderr)."""

    proc: subprocess.Popen
    url: str
    db: str
    log_path: Path
    args: list[str] = field(default_factory=list)

    def kill(self) -> None:
        """``kill -9``: no shutdown handlers, no flush, nothing graceful."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _spawn(db: str, log_path: Path, port: int, extra: list[str]) -> ServerProcess:
    args = [sys.executable, "-m", "urbangrid.service", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--db", db, *extra]
    fh = log_path.open("ab")
    proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    fh.close()
    return ServerProcess(proc, f"http://127.0.0.1:{port}", db, log_path, args)


def start_server(db: str, log_path: str | Path, *, port: int | None = None,
                 extra: list[str] | None = None, timeout: float = 90.0) -> ServerProcess:
    """Start a server process and wait until ``GET /health`` answers."""
    import httpx

    log_path = Path(log_path)
    server = _spawn(db, log_path, port or free_port(), list(extra or []))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server did not answer within {timeout} s:\n{server.log()}")


def district_points(n: int, seed: int = 0) -> np.ndarray:
    """``n`` (lat, lon) cell centroids of Jing'an drawn with ``seed``."""
    from urbangrid.grid import District

    cells = District.jingan().cells
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(cells), n)
    return np.column_stack([cells["lat"].to_numpy()[k], cells["lon"].to_numpy()[k]])


def run_load(url: str, api_key: str, *, n: int = 2000, concurrency: int = 20,
             seed: int = 0, service_code: str = "exposed_garbage",
             timeout: float = 30.0) -> dict:
    """Send ``n`` create-request calls from ``concurrency`` threads; latency figures.

    Returns
    -------
    dict
        ``n``, ``concurrency``, ``ok`` (2xx), ``errors`` (anything else, including
        transport errors), ``p50_ms``, ``p99_ms``, ``max_ms``, ``seconds`` (wall) and
        ``rps``; ``ids`` holds the returned request ids.
    """
    import httpx

    pts = district_points(n, seed)
    local = threading.local()
    lat_ms = np.full(n, np.nan)
    ids: list[str | None] = [None] * n
    err: list[str] = []

    def one(i: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, timeout=timeout)
        data = {"api_key": api_key, "service_code": service_code, "lat": f"{pts[i, 0]:.6f}",
                "long": f"{pts[i, 1]:.6f}", "description": f"load test {seed}-{i}"}
        t0 = time.perf_counter()
        try:
            r = client.post("/requests.json", data=data,
                            headers={"Idempotency-Key": f"load-{seed}-{i}"})
            lat_ms[i] = (time.perf_counter() - t0) * 1e3
            if r.status_code in (200, 201):
                ids[i] = r.json()[0]["service_request_id"]
            else:
                err.append(f"{r.status_code}: {r.text[:200]}")
        except httpx.HTTPError as exc:
            err.append(repr(exc))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    ok = lat_ms[~np.isnan(lat_ms)]
    return {
        "n": n, "concurrency": concurrency, "ok": sum(i is not None for i in ids),
        "errors": len(err), "first_error": err[0] if err else None,
        "p50_ms": float(np.percentile(ok, 50)) if ok.size else float("nan"),
        "p99_ms": float(np.percentile(ok, 99)) if ok.size else float("nan"),
        "max_ms": float(ok.max()) if ok.size else float("nan"),
        "seconds": wall, "rps": n / wall, "ids": ids,
    }


@contextlib.contextmanager
def _fresh_server(db: str | None, workdir: Path, extra: list[str]) -> Iterator[tuple]:
    from urbangrid.service.auth import create_key
    from urbangrid.service.db import Store

    db = db or f"sqlite:///{workdir / 'load.db'}"
    store = Store(db)
    store.migrate()
    key = create_key(store, "intake", "load test")
    store.dispose()
    server = start_server(db, workdir / "server.log", extra=extra)
    try:
        yield server, key
    finally:
        server.stop()


def measure_load(n: int = 2000, concurrency: int = 20, db: str | None = None,
                 seed: int = 0) -> dict:
    """Start a server on a fresh database, run :func:`run_load`, stop it; the figures."""
    with tempfile.TemporaryDirectory() as tmp, \
            _fresh_server(db, Path(tmp), ["--dispatch-interval", "0"]) as (server, key):
        out = run_load(server.url, key, n=n, concurrency=concurrency, seed=seed)
    out.pop("ids")
    out["db"] = "postgresql" if db and db.startswith("postgres") else "sqlite"
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m benchmarks.service_load",
                                description="bounded load on a local server process")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(json.dumps(measure_load(a.n, a.concurrency, a.db, a.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
