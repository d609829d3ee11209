"""Persistent connections vs Django's psycopg pool (and prepared statements), under gunicorn.

Starts gunicorn (production settings) on PostgreSQL + Redis for each configuration, drives
GET /bench/db (one indexed read + one write transaction, the webhook's DB work) with wrk
from 127.0.0.1, samples pg_stat_activity for the connections the server holds, and prints
a table. Configurations are run in interleaved rounds so machine noise hits each alike.

    .venv/bin/python bench/db_connections.py [--rounds 3] [--duration 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "smsgw_bench_dbconn"
PG = "postgres://postgres@127.0.0.1:5432"

CONFIGS = {
    "sync4/persistent": {"GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "1", "DB_POOL": "false"},
    "sync4/pool": {"GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "1", "DB_POOL": "true", "DB_POOL_MAX_SIZE": "2"},
    "sync4/no-reuse": {"GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "1", "DB_POOL": "false", "DB_CONN_MAX_AGE": "0"},
    "gthread2x8/persistent": {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8", "DB_POOL": "false"},
    "gthread2x8/pool4": {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8", "DB_POOL": "true", "DB_POOL_MAX_SIZE": "4"},
    "sync4/persistent+prepared": {
        "GUNICORN_WORKERS": "4",
        "GUNICORN_THREADS": "1",
        "DB_POOL": "false",
        "DB_SERVER_SIDE_BINDING": "true",
        "DB_PREPARE_THRESHOLD": "2",
    },
}


def ensure_db() -> None:
    with psycopg.connect(PG + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = base_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # As in production: gunicorn refuses to serve without the static files manifest.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_SECRET_KEY": "bench-" + "x" * 40,
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "REDIS_URL": "redis://127.0.0.1:6379/12",
            "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
            "TWILIO_AUTH_TOKEN": "bench-token",
            "METRICS_ALLOWED_IPS": "127.0.0.1",
            "DB_APPLICATION_NAME": "smsgw-bench",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "GUNICORN_LOGLEVEL": "warning",
        }
    )
    return env


def peak_connections(stop: threading.Event, result: list[int]) -> None:
    with psycopg.connect(PG + "/postgres", autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'smsgw-bench'"
            ).fetchone()
            result.append(int(row[0]) if row else 0)
            time.sleep(0.2)


def parse_wrk(out: str) -> dict[str, float]:
    def ms(value: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", value)
        assert m, value
        n = float(m.group(1))
        return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1)) for p in ("50", "90", "99")}  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": lat["50"],
        "p90": lat["90"],
        "p99": lat["99"],
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def run_one(name: str, extra: dict[str, str], duration: int, connections: int) -> dict[str, float]:
    port = 18700 + (abs(hash(name)) % 200)
    env = base_env()
    env.update(extra)
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "smsgateway.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/bench/db"
    try:
        for _ in range(200):
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        # warm every worker's connection
        subprocess.run(["wrk", "-t1", f"-c{connections}", "-d2s", url], capture_output=True, check=True)
        stop = threading.Event()
        samples: list[int] = []
        sampler = threading.Thread(target=peak_connections, args=(stop, samples))
        sampler.start()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        stop.set()
        sampler.join()
        result = parse_wrk(out)
        result["peak_conns"] = float(max(samples) if samples else 0)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    ensure_db()
    names = [n for n in CONFIGS if not args.only or n in args.only]
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            res = run_one(name, CONFIGS[name], args.duration, args.connections)
            results[name].append(res)
            print(
                f"round {r + 1} {name:28s} {res['rps']:8.1f} req/s  p50 {res['p50']:6.2f} ms  p99 {res['p99']:7.2f} ms  "
                f"peak conns {res['peak_conns']:.0f}  non2xx {res['non2xx']:.0f}",
                flush=True,
            )
    print()
    print(f"| configuration | req/s (median of {args.rounds}) | p50 ms | p99 ms | peak DB connections | errors |")
    print("|---|---|---|---|---|---|")
    for name in names:
        rs = results[name]
        med = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
        errors = sum(x["non2xx"] for x in rs)
        print(
            f"| {name} | {med['rps']:.0f} | {med['p50']:.2f} | {med['p99']:.2f} | {max(x['peak_conns'] for x in rs):.0f} | {errors:.0f} |"
        )


if __name__ == "__main__":
    main()
