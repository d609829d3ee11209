"""Where the webhook's time goes: each step of the accepted path timed on its own, in-process,
against the same PostgreSQL + Redis and production settings as bench/webhook.py (run that
first: it creates the database and the verified senders).

usage: .venv/bin/python bench/webhook_parts.py --database-url ... --redis-url ... [-n 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    samples = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[n // 2] * 1000, samples[int(n * 0.95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/smsgw_bench")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()

    from bench.webhook import django_env, payload, sender_number, signed_line

    os.environ.update(django_env(args), PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="smsgw-parts-"))
    import django

    django.setup()
    from django.http import QueryDict
    from django.test import Client
    from django_redis import get_redis_connection

    from sms.ratelimit import rate_limit_hit
    from sms.senders import sender_state_get
    from sms.services import intake
    from sms.tasks import inbound_message_process_task
    from sms.webhook.payload import inbound_sms_parse

    n = args.n
    client = Client(HTTP_HOST="127.0.0.1")
    lines = [signed_line(payload(sender_number(9000 + k % 1000), f"parts note {k}")) for k in range(3 * n + 50)]

    def post(path: str, line: tuple[str, str]) -> None:
        signature, body = line
        response = client.post(
            path, data=body, content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
        )
        assert response.status_code == 200, response.content

    for line in lines[-50:]:
        post("/api/sms/webhook", line)  # warm connections, script, caches
    parsed = [inbound_sms_parse(QueryDict(lines[n + i][1])) for i in range(n)]
    redis = get_redis_connection("default")
    rows = {
        "bare TwiML view (Django test client)": lambda i: post("/bench/twiml", lines[i]),
        "accepted webhook (Django test client)": lambda i: post("/api/sms/webhook", lines[2 * n + i]),
        "duplicate webhook (Django test client)": lambda i: post("/api/sms/webhook", lines[2 * n]),
        "parse + QueryDict": lambda i: inbound_sms_parse(QueryDict(lines[i][1])),
        "Redis PING (one round trip)": lambda i: redis.ping(),
        "sender + over-limit state (MGET)": lambda i: sender_state_get(number=sender_number(9000 + i % 1000)),
        "rate limit script (EVALSHA)": lambda i: rate_limit_hit(number="+19990000000", member=f"p{i}", limit=10**9),
        "INSERT in autocommit (commit = WAL flush)": lambda i: intake.inbound_message_store(
            sms=parsed[i], user_id=None
        ),
        "Celery publish (relay's cost, not the request's)": lambda i: inbound_message_process_task.delay(0),
    }
    print(f"{'step':<45}{'p50 ms':>9}{'p95 ms':>9}")
    for name, fn in rows.items():
        p50, p95 = timed(fn, n)
        print(f"{name:<45}{p50:>9.2f}{p95:>9.2f}")
    redis.delete("sms")


if __name__ == "__main__":
    main()
