"""What django-prometheus' database instrumentation (``django_db_*``) would cost the webhook.

Runs the accepted webhook in-process (Django test client, bench settings = production settings,
PostgreSQL + Redis, Prometheus multiprocess mode) with the stock engine and with
``django_prometheus.db.backends.postgresql``, in alternating child processes, and prints the
p50/p95 of each round.

usage: .venv/bin/python bench/db_metrics_cost.py --database-url postgres://postgres@127.0.0.1:5432/smsgw_bench \\
           --redis-url redis://127.0.0.1:6379/3 [-n 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(n: int, offset: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from bench.webhook import payload, sender_number, signed_line

    client = Client(HTTP_HOST="127.0.0.1")
    lines = [signed_line(payload(sender_number((offset + k) % 1000), f"cost note {offset} {k}")) for k in range(n + 50)]
    samples = []
    for k, (signature, body) in enumerate(lines):
        started = time.perf_counter()
        response = client.post(
            "/api/sms/webhook",
            data=body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response["X-SMS-Outcome"] == "accepted", response.content
        if k >= 50:  # the first ones warm connections, scripts and caches
            samples.append(elapsed * 1000)
    samples.sort()
    print(f"{connection.settings_dict['ENGINE']:<45}{samples[n // 2]:>9.3f}{samples[int(n * 0.95)]:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/smsgw_bench")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("-n", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child >= 0:
        child(args.n, args.child)
        return

    from bench.webhook import django_env, ensure_database, prepare

    env = {
        **os.environ,
        **django_env(args),
        "SMS_RATE_LIMIT_PER_HOUR": "1000000",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsgw-dbcost-"),
    }
    ensure_database(args.database_url)
    prepare(argparse.Namespace(senders=1000), env)
    print(f"{'engine':<45}{'p50 ms':>9}{'p95 ms':>9}")
    for round_ in range(args.rounds):
        for instrumented in ("0", "1"):
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--redis-url",
                    args.redis_url,
                    "-n",
                    str(args.n),
                    "--child",
                    str(round_ * 7),
                ],
                cwd=ROOT,
                env={**env, "BENCH_DB_METRICS": instrumented},
                check=True,
            )


if __name__ == "__main__":
    main()
