"""Webhook intake benchmark: one server, interleaved rounds of four paths, then a fixed-rate run.

Starts gunicorn (gunicorn.conf.py, its default workers unless --workers/--threads) with
production settings (bench/settings.py adds a bare TwiML view behind the same middleware) on
PostgreSQL + Redis on 127.0.0.1, creates verified senders, warms their phone_lookup cache
entries, then drives the server with wrk (-t2 -c64 by default), --rounds times in turn:

  (a) POST /bench/twiml          the bare TwiML view on the same server (ceiling)
  (b) POST /api/sms/webhook      accepted: rotating verified senders, unique MessageSids
  (u) POST /api/sms/webhook      unknown sender: a flood from 1000 numbers nobody linked
  (c) POST /api/sms/webhook      duplicate: one already-stored MessageSid, over and over

and finally (d) ~100 msg/s offered for --fixed-seconds from 100 concurrent senders (one
thread each, 1 msg/s, latency measured from each message's scheduled send time so a slow
server cannot hide queueing). The production rate limit (20/h) stays on: with --senders
10000 no sender comes near it. Ratios are the median over the rounds of (path / bare) in the
same round, so a noisy moment hits both sides.

usage:
  .venv/bin/python bench/webhook.py --database-url postgres://postgres@127.0.0.1:5432/smsgw_bench \\
      --redis-url redis://127.0.0.1:6379/3 [--rounds 3] [--seconds 10] [--connections 64]

The database is created if missing and migrated; bench rows are deleted at the start. In
Redis only the bench's own keys are removed (rate-limit windows, caches, the Celery queue),
never the whole DB. Results: a table on stdout and JSON in var/bench/webhook-<time>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devkit.payloads import inbound_payload, twilio_signature  # noqa: E402

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
TO = "+15005550006"
PUBLIC_URL = "https://bench.example.com/api/sms/webhook"


def sender_number(i: int) -> str:
    return f"+1555{i:07d}"


def payload(sender: str, body: str) -> dict[str, str]:
    """An inbound SMS exactly as sms_simulate (and Twilio) builds it (devkit.payloads)."""
    return inbound_payload(account_sid=ACCOUNT_SID, from_number=sender, to_number=TO, body=body)


def signed_line(params: dict[str, str]) -> tuple[str, str]:
    return twilio_signature(PUBLIC_URL, params, AUTH_TOKEN), urlencode(params)


def django_env(args: argparse.Namespace) -> dict[str, str]:
    """What every benchmark runs Django with: the bench settings on ``--database-url`` and
    ``--redis-url``, and the bench's Twilio account."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "METRICS_ALLOWED_IPS": "127.0.0.1",
    }


def server_env(args: argparse.Namespace, port: int, metrics_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "SMS_", "GUNICORN_"))}
    env.update(
        django_env(args),
        TWILIO_PHONE_NUMBER=TO,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_LOGLEVEL="warning",
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
    )
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Migrate, collect static files, reset bench data and keys, create verified senders and warm their cache entries."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    # As in production: gunicorn refuses to serve without the static files manifest.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    script = f"""
import django
django.setup()
from django.contrib.auth.models import User
from django.utils import timezone
from django_redis import get_redis_connection
from sms.models import InboundMessage, OptOut, PhoneNumber
from sms.senders import sender_get

redis = get_redis_connection("default")
for pattern in ("smsgw:*", "*nc:*", "_kombu*", "sms", "unacked*"):
    keys = list(redis.scan_iter(match=pattern, count=1000))
    for i in range(0, len(keys), 1000):
        redis.delete(*keys[i:i + 1000])
InboundMessage.objects.all().delete()
OptOut.objects.all().delete()
PhoneNumber.objects.filter(number__startswith="+1555").delete()
User.objects.filter(username__startswith="bench-").delete()
n = {args.senders}
users = User.objects.bulk_create([User(username=f"bench-{{i}}", password="!") for i in range(n)], batch_size=2000)
now = timezone.now()
PhoneNumber.objects.bulk_create(
    [PhoneNumber(user=u, number=f"+1555{{i:07d}}", is_verified=True, verified_at=now) for i, u in enumerate(users)],
    batch_size=2000,
)
for i in range(n):
    sender_get(number=f"+1555{{i:07d}}")
print("prepared", n, "verified senders")
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def cleanup_redis(env: dict[str, str]) -> None:
    script = """
import django
django.setup()
from django_redis import get_redis_connection
redis = get_redis_connection("default")
for pattern in ("sms", "_kombu*", "unacked*"):
    keys = list(redis.scan_iter(match=pattern, count=1000))
    if keys:
        redis.delete(*keys)
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "smsgateway.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", "/bench/twiml", body="")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def post_once(port: int, path: str, line: tuple[str, str]) -> tuple[int, bytes]:
    signature, body = line
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def run_wrk(url: str, lines_file: Path, args: argparse.Namespace, skip: int = 0) -> dict[str, Any]:
    cmd = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "wrk_requests.lua"),
        url,
        "--",
        str(lines_file),
        str(args.wrk_threads),
        str(skip),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if not match:
        raise SystemExit(f"no BENCH line in wrk output:\n{out}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    return {
        "requests": data["requests"],
        "rps": data["requests"] / seconds,
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
        "errors": data["non2xx"] + data["connect"] + data["read"] + data["write"] + data["timeout"],
        "command": " ".join(cmd),
    }


def fixed_rate(port: int, senders: int, seconds: int, pool: int) -> dict[str, Any]:
    """100 senders, 1 msg/s each, staggered: ~100 msg/s offered, whatever the server does."""
    n = senders
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    prepared = [
        # Thread i is a different sender at each tick (k * n + i), so with a large pool no
        # number comes near the 20/h limit and every message is a real accepted message.
        [signed_line(payload(sender_number((k * n + i) % pool), f"fixed-rate note {k}")) for k in range(seconds)]
        for i in range(n)
    ]

    start = time.monotonic() + 1.0  # after signing, so the schedule starts when the senders do

    def sender(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for k in range(seconds):
            scheduled = start + k + i / n
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            signature, body = prepared[i][k]
            try:
                conn.request(
                    "POST",
                    "/api/sms/webhook",
                    body=body,
                    headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
                )
                response = conn.getresponse()
                response.read()
                outcome = f"{response.status}:{response.getheader('X-SMS-Outcome')}"
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError as exc:
                outcome = f"error:{type(exc).__name__}"
                conn.close()
            elapsed = time.monotonic() - scheduled
            with lock:
                latencies.append(elapsed)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.monotonic() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rps": len(latencies) / total,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "outcomes": outcomes,
    }


def count_messages(env: dict[str, str]) -> int:
    script = (
        "import django; django.setup(); from sms.models import InboundMessage; print(InboundMessage.objects.count())"
    )
    return int(
        subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsgw_bench")
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL"), required=False
    )
    parser.add_argument("--workers", type=int, default=0, help="default: gunicorn.conf.py's (2 per core)")
    parser.add_argument("--threads", type=int, default=0, help=">1: gthread workers (I/O waits overlap)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--senders", type=int, default=10000)
    parser.add_argument("--fixed-seconds", type=int, default=30)
    parser.add_argument("--fixed-senders", type=int, default=100)
    args = parser.parse_args()
    if not args.redis_url:
        parser.error("--redis-url (or REDIS_URL) is required: the bench's Redis DB index")
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")

    ensure_database(args.database_url)
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="smsgw-bench-metrics-")
    env = server_env(args, port, metrics_dir)
    prepare(args, env)

    work = Path(tempfile.mkdtemp(prefix="smsgw-bench-"))
    # Enough unique messages that no line repeats within the run even at 5000 req/s.
    unique = args.seconds * 5000 * args.rounds
    rotating = work / "accepted.txt"
    with rotating.open("w") as f:
        for k in range(unique):
            signature, body = signed_line(payload(sender_number(k % args.senders), f"Had lunch with Sarah #{k}"))
            f.write(f"{signature}\t{body}\n")
    strangers = work / "unknown.txt"
    with strangers.open("w") as f:
        for k in range(args.seconds * 5000 * args.rounds):
            signature, body = signed_line(payload(f"+1666{k % 1000:07d}", f"who is this? #{k}"))
            f.write(f"{signature}\t{body}\n")
    duplicate_params = payload(sender_number(0), "a note Twilio keeps retrying")
    duplicate = work / "duplicate.txt"
    duplicate.write_text("{}\t{}\n".format(*signed_line(duplicate_params)))

    server = start_server(env, port, work / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        # Warm every worker's connections (DB, Redis, broker) and store the duplicate once.
        subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                "-d2s",
                "-s",
                str(ROOT / "bench" / "wrk_requests.lua"),
                base + "/api/sms/webhook",
                "--",
                str(duplicate),
                "1",
            ],
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["wrk", "-t1", f"-c{args.connections}", "-d2s", base + "/bench/twiml"], capture_output=True, check=True
        )
        # wrk counts only 4xx/5xx as errors: make sure each path really answers 200 with TwiML
        # (a redirect would be measured as the "bare" ceiling).
        for path in ("/bench/twiml", "/api/sms/webhook"):
            status, answer = post_once(port, path, signed_line(duplicate_params))
            if status != 200 or b"<Response" not in answer:
                raise SystemExit(f"{path} answered {status}, not 200 TwiML: {answer[:200]!r}")
        before = count_messages(env)
        rounds: list[dict[str, Any]] = []
        for n in range(args.rounds):
            # Each wrk run reads its file from the start: skip what earlier rounds sent.
            rounds.append(
                {
                    "a_bare_twiml": run_wrk(base + "/bench/twiml", rotating, args),
                    "b_accepted": run_wrk(base + "/api/sms/webhook", rotating, args, skip=n * args.seconds * 5000),
                    "u_unknown_sender": run_wrk(base + "/api/sms/webhook", strangers, args),
                    "c_duplicate": run_wrk(base + "/api/sms/webhook", duplicate, args),
                }
            )
            r = rounds[-1]
            print(
                f"round {n + 1}: bare {r['a_bare_twiml']['rps']:.0f}/s, accepted {r['b_accepted']['rps']:.0f}/s, "
                f"unknown {r['u_unknown_sender']['rps']:.0f}/s, duplicate {r['c_duplicate']['rps']:.0f}/s",
                flush=True,
            )
        stored = count_messages(env) - before
        results: dict[str, Any] = {
            name: min(
                (r[name] for r in rounds),
                key=lambda x: abs(x["rps"] - statistics.median(y[name]["rps"] for y in rounds)),
            )
            for name in rounds[0]
        }
        results["d_fixed_100_per_s"] = fixed_rate(port, args.fixed_senders, args.fixed_seconds, args.senders)
    finally:
        server.terminate()
        server.wait(timeout=30)
        cleanup_redis(env)
    results["b_accepted"]["stored_rows"] = stored
    ratio = statistics.median(r["b_accepted"]["rps"] / r["a_bare_twiml"]["rps"] for r in rounds)
    unknown_ratio = statistics.median(r["u_unknown_sender"]["rps"] / r["a_bare_twiml"]["rps"] for r in rounds)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {k: v for k, v in vars(args).items() if k not in {"database_url", "redis_url"}},
        "cpus": os.cpu_count(),
        "loadavg_before_fixed_run": os.getloadavg(),
        "rounds": rounds,
        "results": results,
        "b_over_a": ratio,
        "u_over_a": unknown_ratio,
    }
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"webhook-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"{'path':<22}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        errors = r.get("errors", sum(v for k, v in r.get("outcomes", {}).items() if not k.startswith("200:")))
        print(
            f"{name:<22}{r['requests']:>10}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{errors:>8}"
        )
    accepted_requests = sum(r["b_accepted"]["requests"] for r in rounds)
    print("(median round of each path)")
    print(f"accepted/bare = {ratio:.0%}   unknown/bare = {unknown_ratio:.0%}   (medians over {args.rounds} rounds)")
    print(f"rows stored during the rounds: {stored} of {accepted_requests} accepted requests")
    print(f"(d) outcomes: {results['d_fixed_100_per_s']['outcomes']}")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
