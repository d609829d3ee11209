"""The command end to end against a small signature-checking fake webhook (plumbing only;
the real webhook is exercised by test_live_loadtest.py)."""

import json
import os
import re
import subprocess
import sys

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command

from loadtesting.management.commands.loadtest import ROOT, offered_per_sender, parse_duration, parse_wait
from loadtesting.tests.fake_webhook import FakeWebhook
from tests.live import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhook():
    fake = FakeWebhook(settings.TWILIO_AUTH_TOKEN).start()
    yield fake
    fake.stop()


def run(tmp_path, **options):
    path = tmp_path / "report.json"
    options = {"users": 3, "spawn_rate": 3, "duration": 3, "rate": 4, "senders": 20, "drain": 0, **options}
    code = 0
    try:
        call_command("loadtest", json_path=str(path), stdout=open(tmp_path / "out.txt", "w"), **options)
    except CommandError as exc:
        code = exc.returncode
    return code, json.loads(path.read_text())


def test_clean_run_reports_every_signed_request_and_passes_its_targets(webhook, tmp_path):
    code, report = run(
        tmp_path,
        url=webhook.url,
        media_server=True,
        duplicate_ratio=0.2,
        csv_prefix=str(tmp_path / "stats"),
        html_path=str(tmp_path / "report.html"),
        max_p99_ms=5000,
        min_success_rate=100,
        min_cache_hit_rate=1,
        max_db_connections=50,
    )
    assert code == 0
    assert report["passed"] is True
    assert report["requests"] == webhook.posts > 0  # nothing refused: every signature was valid
    assert report["failures"] == 0 and report["success_rate"] == 100.0
    assert report["outcomes"]["accepted"] == webhook.outcomes["accepted"]
    assert report["outcomes"].get("duplicate", 0) == webhook.outcomes["duplicate"] > 0
    assert set(report["latency_ms"]) == {"avg", "min", "max", "p50", "p95", "p99"}
    assert report["rps"] > 0
    assert report["cache"]["hits"] == webhook.hits and report["cache"]["misses"] == webhook.misses
    assert report["db_connections_peak"] is not None
    # The fake stores nothing, so the end-to-end check finds none of this run's messages.
    assert report["end_to_end"]["accepted"] == 0
    assert set(report["targets"]) == {"p99_ms", "success_rate", "cache_hit_rate", "db_connections_peak", "unprocessed"}
    assert (tmp_path / "stats_stats.csv").exists() and (tmp_path / "report.html").exists()
    assert "result" in (tmp_path / "out.txt").read_text()


def test_rate_limited_replies_are_their_own_outcome_and_fail_the_success_target(tmp_path):
    fake = FakeWebhook(settings.TWILIO_AUTH_TOKEN, rate_limit_every=3).start()
    try:
        code, report = run(tmp_path, url=fake.url, mms_ratio=0, duplicate_ratio=0, min_success_rate=99)
    finally:
        fake.stop()
    assert code == 1
    assert report["outcomes"]["rate_limited"] == report["rate_limited"] == fake.outcomes["rate_limited"] > 0
    assert report["failures_by_reason"] == {"rate_limited": report["rate_limited"]}
    assert report["successes"] == report["requests"] - report["rate_limited"]
    assert report["targets"]["success_rate"]["passed"] is False


def test_signs_the_public_url_when_the_target_sits_behind_a_proxy(tmp_path):
    public = "https://sms.example.com/api/sms/webhook"
    fake = FakeWebhook(settings.TWILIO_AUTH_TOKEN, sign_url=public).start()
    try:
        _, unsigned = run(tmp_path, url=fake.url, duration=2, mms_ratio=0, no_end_to_end=True)
        code, signed = run(tmp_path, url=fake.url, duration=2, public_url=public, no_end_to_end=True)
    finally:
        fake.stop()
    assert unsigned["successes"] == 0 and "HTTP 403" in unsigned["failures_by_reason"]
    assert code == 0 and signed["failures"] == 0 and "end_to_end" not in signed


def test_media_server_serves_real_files_like_twilio(tmp_path):
    from loadtesting.management.commands.loadtest import Command

    port = free_port()
    host, media = Command()._start_media_server(
        {"media_port": port, "account_sid": settings.TWILIO_ACCOUNT_SID, "auth_token": settings.TWILIO_AUTH_TOKEN}
    )
    try:
        assert host.url == f"http://127.0.0.1:{port}"
        audio = next(m for m in media if m["content_type"] == "audio/amr")
        url = f"{host.url}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages/MM{'0' * 32}/Media/{audio['media_sid']}"
        assert requests.get(url, timeout=5).status_code == 401
        first = requests.get(
            url, auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN), allow_redirects=False, timeout=5
        )
        assert first.status_code == 307 and first.headers["Location"].startswith(host.cdn.url)
        body = requests.get(first.headers["Location"], timeout=5)
        assert body.content.startswith(b"#!AMR\n")
    finally:
        host.stop()


@pytest.mark.parametrize(
    "options",
    [
        {"url": "ftp://example.com/hook"},
        {"setup_senders": 30, "senders": 10},
        {"public_url": "sms.example.com/hook"},
        {"spawn_rate": 0},
        {"rate": -1},
        {"media_port": 70000},
    ],
)
def test_invalid_options_are_usage_errors(options):
    with pytest.raises(CommandError) as error:
        call_command("loadtest", **options)
    assert error.value.returncode == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--users", "0"],
        ["--rate", "1", "--wait", "1"],
        ["--mms-ratio", "1.5"],
        ["--duration", "soon"],
        ["--min-success-rate", "120"],
    ],
)
def test_command_line_usage_errors_exit_2(argv):
    env = {"DJANGO_SETTINGS_MODULE": "smsgateway.settings.test", "PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k in {"DATABASE_URL", "REDIS_URL"}})
    proc = subprocess.run(
        [sys.executable, "manage.py", "loadtest", *argv], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr


@pytest.mark.parametrize(("text", "seconds"), [("60", 60), ("60s", 60), ("2m", 120), ("1m30s", 90), ("1h", 3600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_wait_ranges():
    assert parse_wait("0.5-1.5") == (0.5, 1.5)
    assert parse_wait("1") == (1.0, 1.0)


def test_offered_messages_per_sender_for_the_seed_scenario():
    seed = {"users": 100, "rate": None, "wait": None, "duration": 60, "senders": 1000}
    assert offered_per_sender(seed) == pytest.approx(6.0)
    assert offered_per_sender({**seed, "rate": 2, "senders": 100}) == pytest.approx(120.0)


def test_warns_when_senders_are_too_few_for_the_rate_limit(webhook, tmp_path):
    err = tmp_path / "err.txt"
    with open(err, "w") as stream:
        call_command(
            "loadtest",
            url=webhook.url,
            users=2,
            duration=1,
            rate=30,
            senders=2,
            mms_ratio=0,
            no_end_to_end=True,
            stdout=open(tmp_path / "out.txt", "w"),
            stderr=stream,
        )
    assert "exceed the rate limit of 20/hour" in err.read_text()


def test_default_options_without_media_send_text_messages_only_and_say_so(webhook, tmp_path):
    err = tmp_path / "err.txt"
    with open(err, "w") as stream:
        call_command(
            "loadtest", url=webhook.url, users=2, spawn_rate=2, duration=2, rate=4, senders=20, drain=0,
            json_path=str(tmp_path / "r.json"), stdout=open(tmp_path / "out.txt", "w"), stderr=stream,
        )  # fmt: skip
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["requests"] > 0 and "mms" not in report["requests_by_kind"] and webhook.media_urls == []
    assert report["config"]["mms_ratio"] == 0
    assert "sending text messages only" in err.read_text()


def test_mms_without_media_server_or_media_url_is_a_usage_error():
    with pytest.raises(CommandError) as error:
        call_command("loadtest", mms_ratio=0.3)
    assert error.value.returncode == 2 and "--media-server or --media-url" in str(error.value)


def test_media_url_sends_mms_linking_it(webhook, tmp_path):
    media = "https://media.example.com/card.jpg"
    code, report = run(tmp_path, url=webhook.url, media_url=[media], mms_ratio=1, duplicate_ratio=0, keyword_ratio=0)
    assert code == 0 and report["requests_by_kind"].get("mms", 0) > 0
    assert set(webhook.media_urls) == {media}


def test_accepted_messages_that_end_failed_fail_the_run(tmp_path):
    fake = FakeWebhook(settings.TWILIO_AUTH_TOKEN, store_as="failed").start()
    try:
        code, report = run(tmp_path, url=fake.url, duplicate_ratio=0, keyword_ratio=0)
    finally:
        fake.stop()
    assert code == 1
    assert report["end_to_end"]["failed"] == report["end_to_end"]["accepted"] > 0
    assert report["targets"]["unprocessed"]["passed"] is False


def test_allow_unprocessed_relaxes_it(tmp_path):
    fake = FakeWebhook(settings.TWILIO_AUTH_TOKEN, store_as="failed").start()
    try:
        code, report = run(tmp_path, url=fake.url, duplicate_ratio=0, keyword_ratio=0, allow_unprocessed=True)
    finally:
        fake.stop()
    assert code == 0 and report["end_to_end"]["failed"] > 0
    assert "unprocessed" not in report["targets"]


def test_progress_goes_to_stderr_while_it_runs(webhook, tmp_path):
    err = tmp_path / "err.txt"
    with open(err, "w") as stream:
        call_command(
            "loadtest", url=webhook.url, users=2, spawn_rate=2, duration=3, rate=4, senders=20, drain=0,
            progress_interval=1, no_end_to_end=True, stdout=open(tmp_path / "out.txt", "w"), stderr=stream,
        )  # fmt: skip
    lines = [line for line in err.read_text().splitlines() if "req/s" in line]
    assert len(lines) >= 2, err.read_text()
    assert all(re.search(r"requests +\d+ +[\d.]+ req/s  failures +0  p95 ", line) for line in lines), lines
