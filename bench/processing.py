"""Processing benchmark: the relay (``manage.py sms_relay``) and real Celery worker(s), real
Redis broker, real PostgreSQL, local fakes. Messages are stored as the webhook stores them; the
relay hands them to the worker (LISTEN/NOTIFY), so the latency includes the hand-over.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsgw_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python -m bench.processing --concurrency 4

Phases (received_at -> processed_at, as stored on each message):
  text        text-only messages stored at a steady --rate (default 50 msg/s) for --seconds
  voice       20-second AMR voice notes, Speech fake answering in 200 ms, at --voice-rate
  saturation  --burst text messages stored at once: processed messages per second
The database named in DATABASE_URL is created and migrated if needed; the Redis DB is flushed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings.test")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--voice", type=int, default=30)
    parser.add_argument("--voice-rate", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--phases", default="text,voice,saturation")
    args = parser.parse_args()

    import django
    import psycopg

    # Read here, not from settings.base: importing it before django.setup() would freeze its env.
    database_url = os.environ["DATABASE_URL"]

    dbname = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(f'CREATE DATABASE "{dbname}"')
    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django_redis import get_redis_connection

    from devkit.fakes.speech import FakeSpeech
    from devkit.fakes.twilio import FakeTwilio
    from devkit.media_files import audio_bytes
    from sms.models import InboundMessage, MediaAttachment, PhoneNumber
    from sms.tests.factories import phone_number_create, user_create
    from tests.worker import CeleryWorker, RelayProcess

    call_command("migrate", verbosity=0)
    get_redis_connection("default").flushdb()
    InboundMessage.objects.all().delete()
    PhoneNumber.objects.all().delete()
    get_user_model().objects.filter(username="bench").delete()
    phone = phone_number_create(user=user_create(username="bench"), number="+14155550777")

    twilio = FakeTwilio(account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN).start()
    speech = FakeSpeech(latency=0.2).start()
    temp_dir = Path("/tmp") / f"smsgw-bench-{os.getpid()}"
    temp_dir.mkdir(exist_ok=True)
    env = {
        "TWILIO_API_BASE_URL": twilio.url,
        "SPEECH_API_ENDPOINT": speech.url,
        "SMS_MEDIA_ALLOWED_HOSTS": "127.0.0.1",
        "SMS_MEDIA_ALLOW_PRIVATE_IPS": "true",
        "SMS_MEDIA_TEMP_DIR": str(temp_dir),
        "SPEECH_POOL_SIZE": str(max(4, args.concurrency)),
        "SMS_DELETE_TWILIO_MEDIA": "true",
        "LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "info").upper(),
    }
    voice_note = audio_bytes("amr", 20.0)
    seq = iter(range(10**9))

    def receive(body: str, media: bytes | None = None) -> int:
        sid = f"{'MM' if media else 'SM'}{os.getpid():08x}{next(seq):024x}"
        with transaction.atomic():
            message = InboundMessage.objects.create(
                message_sid=sid,
                user=phone.user,
                from_number=phone.number,
                to_number="+15005550006",
                body=body,
                num_media=1 if media else 0,
            )
            if media:
                url = twilio.add_media(media, "audio/amr", message_sid=sid)
                MediaAttachment.objects.create(message=message, index=0, url=url, declared_content_type="audio/amr")
        return message.pk

    def paced(count: int, rate: float, make: Callable[[], int]) -> list[int]:
        ids = []
        start = time.monotonic()
        for n in range(count):
            target = start + n / rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ids.append(make())
        achieved = count / (time.monotonic() - start)
        print(f"  stored {count} at {achieved:.1f} msg/s (target {rate})")
        return ids

    def wait(ids: list[int], timeout: float = 600) -> list[InboundMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = InboundMessage.objects.filter(pk__in=ids, status__in=["processed", "failed"]).count()
            if done == len(ids):
                break
            time.sleep(0.2)
        rows = list(InboundMessage.objects.filter(pk__in=ids))
        failed = [m for m in rows if m.status != "processed"]
        if failed:
            print(f"  !! {len(failed)} not processed: {sorted({(m.status, m.error_code) for m in failed})}")
        return [m for m in rows if m.status == "processed"]

    def report(name: str, rows: list[InboundMessage]) -> None:
        latencies = [(m.processed_at - m.received_at).total_seconds() * 1000 for m in rows if m.processed_at]
        print(
            f"  {name}: n={len(latencies)} p50={statistics.median(latencies):.0f} ms "
            f"p95={_percentile(latencies, 95):.0f} ms p99={_percentile(latencies, 99):.0f} ms "
            f"max={max(latencies):.0f} ms"
        )

    print(f"worker: -P {args.pool} -c {args.concurrency}; cores: {os.cpu_count()}")
    loglevel = os.environ.get("BENCH_WORKER_LOG_LEVEL", "info")
    worker = CeleryWorker(concurrency=args.concurrency, pool=args.pool, env=env, loglevel=loglevel).start()
    relay = RelayProcess(env=env).start()
    try:
        # Warm-up: every pool process imports PyAV/Speech and opens its connections.
        warm = [receive("warm up #bench") for _ in range(args.concurrency * 4)]
        warm += [receive("", voice_note) for _ in range(args.concurrency)]
        wait(warm)
        phases = args.phases.split(",")
        if "text" in phases:
            print(f"text at {args.rate} msg/s for {args.seconds} s")
            ids = paced(int(args.rate * args.seconds), args.rate, lambda: receive("Lunch with Sarah #friends #run"))
            report("text", wait(ids))
        if "voice" in phases:
            print(f"voice: {args.voice} x 20 s AMR ({len(voice_note)} bytes), Speech fake 200 ms, {args.voice_rate}/s")
            ids = paced(args.voice, args.voice_rate, lambda: receive("", voice_note))
            report("voice", wait(ids))
        if "saturation" in phases:
            print(f"saturation: {args.burst} text messages at once")
            with transaction.atomic():
                ids = [receive(f"burst {n} #load") for n in range(args.burst)]
            rows = wait(ids)
            first = min(m.processing_started_at for m in rows if m.processing_started_at)
            last = max(m.processed_at for m in rows if m.processed_at)
            span = (last - first).total_seconds()
            print(f"  saturation: {len(rows)} processed in {span:.2f} s = {len(rows) / span:.0f} msg/s")
            report("burst (queueing included)", rows)
    finally:
        relay.stop()
        worker.stop()
        problems = [line for line in worker.output().splitlines() if "WARNING sms." in line or "ERROR" in line]
        if problems:
            print("worker log (sms lines):\n" + "\n".join(problems[-20:]))
        twilio.stop()
        speech.stop()
    leftovers = list(temp_dir.iterdir())
    print(f"temp files left: {len(leftovers)}; confirmations sent: {len(twilio.sent)}")


if __name__ == "__main__":
    main()
