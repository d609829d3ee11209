"""``manage.py loadtest``: signed SMS/MMS load on the webhook, end-to-end results, pass/fail targets.

Locust runs headless in a subprocess (importing locust monkey-patches the process with gevent)
with loadtesting/locustfile.py; this process sets up senders and the media host, samples the
database and the target's /metrics while it runs, waits for processing to drain, and reports.
While locust runs, a progress line goes to stderr every ``--progress-interval`` seconds. Without
``--media-server`` or ``--media-url`` only text messages are sent. Accepted messages that end
failed or unprocessed fail the run unless ``--allow-unprocessed``.
Exit code: 0 when every target holds, 1 otherwise, 2 on usage errors. See docs/LOAD_TESTING.md.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from loadtesting import endtoend, report, sampling
from loadtesting.traffic import MediaSource, new_run_id

ROOT = Path(__file__).resolve().parents[3]
LOCUSTFILE = ROOT / "loadtesting" / "locustfile.py"
DEFAULT_URL = "http://127.0.0.1:8000/api/sms/webhook"
USAGE_ERROR = 2

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s?)?$")


def parse_duration(value: str) -> int:
    """Seconds in ``value``: "60", "60s", "2m", "1h", "1m30s"."""
    match = _DURATION.match(value.strip().lower())
    if not value.strip() or not match:
        raise ArgumentTypeError(f"invalid duration {value!r} (use e.g. 60s, 2m, 1m30s)")
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if seconds <= 0:
        raise ArgumentTypeError("duration must be positive")
    return seconds


def parse_wait(value: str) -> tuple[float, float]:
    """Think time: "1" or "0.5-1.5" seconds between one user's messages."""
    try:
        parts = [float(p) for p in value.split("-", 1)]
    except ValueError:
        raise ArgumentTypeError(f"invalid wait {value!r} (use e.g. 1 or 0.5-1.5)")
    low, high = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if low < 0 or high < low:
        raise ArgumentTypeError(f"invalid wait {value!r}: need 0 <= min <= max")
    return low, high


def ratio(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ArgumentTypeError(f"{value} is not a ratio between 0 and 1")
    return number


def percent(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ArgumentTypeError(f"{value} is not a percentage between 0 and 100")
    return number


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError(f"{value} must be at least 1")
    return number


def non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ArgumentTypeError(f"{value} must not be negative")
    return number


class Command(BaseCommand):
    help = "Run a locust load test of signed Twilio SMS/MMS webhooks and report end-to-end results."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = "Exit code: 0 every target held, 1 a target failed, 2 usage error. Guide: docs/LOAD_TESTING.md"
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        target = parser.add_argument_group("target")
        target.add_argument("--url", default=DEFAULT_URL, help="webhook URL to post to [%(default)s]")
        target.add_argument(
            "--public-url", help="URL Twilio would sign (the public URL when the target sits behind a proxy)"
        )
        target.add_argument("--auth-token", help="Twilio auth token to sign with [TWILIO_AUTH_TOKEN]")
        target.add_argument("--account-sid", help="AccountSid to send [TWILIO_ACCOUNT_SID]")
        target.add_argument("--to", dest="to_number", help="the Twilio number texted [TWILIO_PHONE_NUMBER]")
        target.add_argument("--metrics-url", help="target's Prometheus endpoint [<url host>/metrics]")

        load = parser.add_argument_group("load")
        load.add_argument("--users", type=positive_int, default=100, help="concurrent users [%(default)s]")
        load.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second [%(default)s]")
        load.add_argument("--duration", type=parse_duration, default=60, help="run time, e.g. 60s, 2m [60s]")
        pace = load.add_mutually_exclusive_group()
        pace.add_argument("--rate", type=float, help="messages per second per user (constant throughput)")
        pace.add_argument("--wait", type=parse_wait, help="think time between messages, e.g. 0.5-1.5 [0.5-1.5]")

        traffic = parser.add_argument_group("traffic")
        traffic.add_argument(
            "--mms-ratio",
            type=ratio,
            help="share of MMS [0.3 with --media-server or --media-url, else 0: text messages only]",
        )
        traffic.add_argument(
            "--duplicate-ratio", type=ratio, default=0.02, help="share redelivered like a Twilio retry [%(default)s]"
        )
        traffic.add_argument(
            "--keyword-ratio", type=ratio, default=0.005, help="share of STOP+START / HELP [%(default)s]"
        )
        traffic.add_argument("--senders", type=positive_int, default=1000, help="distinct sender numbers [%(default)s]")
        traffic.add_argument(
            "--setup-senders",
            type=int,
            default=0,
            metavar="N",
            help="create and verify the first N senders in this project's database (must be the target's)",
        )
        traffic.add_argument(
            "--media-server",
            action="store_true",
            help="host real audio/image/vCard media locally like Twilio (Basic auth, 307 to a CDN)",
        )
        traffic.add_argument(
            "--media-url",
            action="append",
            default=[],
            metavar="URL",
            help="a media file the target can download, linked by MMS (repeatable; type from the extension)",
        )
        traffic.add_argument(
            "--media-port",
            type=int,
            default=0,
            help="port of the media server, so the target's TWILIO_API_BASE_URL can name it [any free port]",
        )

        results = parser.add_argument_group("results")
        results.add_argument("--json", dest="json_path", metavar="PATH", help="write the report as JSON")
        results.add_argument("--csv", dest="csv_prefix", metavar="PREFIX", help="locust's CSV stats files")
        results.add_argument("--html", dest="html_path", metavar="PATH", help="locust's HTML report")
        results.add_argument(
            "--drain", type=non_negative, default=60.0, help="seconds to wait for processing to finish [%(default)s]"
        )
        results.add_argument("--no-end-to-end", action="store_true", help="skip the database end-to-end check")
        results.add_argument(
            "--allow-unprocessed",
            action="store_true",
            help="do not fail the run when accepted messages end failed or unprocessed",
        )
        results.add_argument(
            "--progress-interval",
            type=non_negative,
            default=5.0,
            help="seconds between progress lines on stderr (0: none) [%(default)s]",
        )

        targets = parser.add_argument_group("targets (exit 1 when one fails)")
        targets.add_argument("--max-avg-ms", type=non_negative)
        targets.add_argument("--max-p95-ms", type=non_negative)
        targets.add_argument("--max-p99-ms", type=non_negative)
        targets.add_argument("--min-success-rate", type=percent, help="percent, e.g. 99.5")
        targets.add_argument("--min-rps", type=non_negative)
        targets.add_argument("--max-rate-limited", type=non_negative, help="rate-limited replies allowed")
        targets.add_argument("--min-cache-hit-rate", type=percent, help="percent of named-cache lookups")
        targets.add_argument("--max-db-connections", type=non_negative, help="peak connections to the database")
        targets.add_argument("--max-unprocessed", type=non_negative, help="accepted messages left unprocessed")

    def handle(self, *args: Any, **options: Any) -> None:
        self._validate(options)
        run_id = new_run_id()
        workdir = Path(tempfile.mkdtemp(prefix=f"loadtest-{run_id}-"))
        media_host = None
        sampler: sampling.ConnectionSampler | None = None
        try:
            media: list[dict[str, str]] = [media_url_source(url) for url in options["media_url"]]
            if options["media_server"]:
                media_host, served = self._start_media_server(options)
                media += served
            db_ok = not options["no_end_to_end"] and endtoend.database_reachable()
            if options["setup_senders"]:
                if not endtoend.database_reachable():
                    raise CommandError("--setup-senders needs this project's database, which is not reachable")
                from loadtesting.senders import senders_setup

                setup = senders_setup(count=options["setup_senders"])
                self.stderr.write(f"senders: {setup['senders']} verified ({setup['created']} created)")
            metrics_url = options["metrics_url"] or _origin(options["url"]) + "/metrics"
            cache_before = sampling.scrape_cache_counters(metrics_url)
            if db_ok and connection.vendor == "postgresql":
                sampler = sampling.ConnectionSampler(exclude_pids=sampling.own_backend_pids())
                sampler.start()
            config = self._locust_config(options, run_id, workdir, media)
            self._run_locust(options, config, workdir)
            cache_after = sampling.scrape_cache_counters(metrics_url)
            e2e = endtoend.end_to_end_drain(run_id, timeout=options["drain"]) if db_ok else None
            peak = sampler.stop() if sampler else None
            sampler = None
            results = json.loads(Path(config["results_path"]).read_text())
            public_config = {k: v for k, v in config.items() if k not in {"auth_token", "results_path", "media"}}
            public_config["media_server"] = bool(media)
            targets = dict(options)
            if e2e is not None and not options["allow_unprocessed"] and options["max_unprocessed"] is None:
                # Accepted means it must become items: failed or left unprocessed fails the run.
                targets["max_unprocessed"] = 0
            built = report.build_report(
                results,
                targets=report.targets_from_options(targets),
                end_to_end=e2e,
                cache=sampling.cache_stats_delta(cache_before, cache_after),
                db_connections_peak=peak,
                config=public_config,
            )
        finally:
            if sampler is not None:
                sampler.stop()
            if media_host is not None:
                media_host.stop()
        self.stdout.write(report.format_table(built))
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(built, indent=2) + "\n")
        if not built["passed"]:
            failed = ", ".join(name for name, t in built["targets"].items() if not t["passed"])
            e2e = built.get("end_to_end") or {}
            if "unprocessed" in failed and e2e.get("unprocessed"):
                failed += (
                    f" ({e2e['unprocessed']} of {e2e['accepted']} accepted messages ended failed or unprocessed;"
                    " --allow-unprocessed accepts that)"
                )
            raise CommandError(f"targets not met: {failed}", returncode=1)

    def _validate(self, options: dict[str, Any]) -> None:
        url = urlsplit(options["url"])
        if url.scheme not in {"http", "https"} or not url.netloc:
            raise CommandError(f"--url must be an http(s) URL, got {options['url']!r}", returncode=USAGE_ERROR)
        if options["public_url"] and urlsplit(options["public_url"]).scheme not in {"http", "https"}:
            raise CommandError("--public-url must be an http(s) URL", returncode=USAGE_ERROR)
        if not 0 <= options["setup_senders"] <= options["senders"]:
            raise CommandError("--setup-senders must be between 0 and --senders", returncode=USAGE_ERROR)
        if not 0 <= options["media_port"] <= 65535:
            raise CommandError("--media-port must be a TCP port", returncode=USAGE_ERROR)
        if options["spawn_rate"] <= 0:
            raise CommandError("--spawn-rate must be positive", returncode=USAGE_ERROR)
        if options["rate"] is not None and options["rate"] <= 0:
            raise CommandError("--rate must be positive", returncode=USAGE_ERROR)
        per_sender = offered_per_sender(options)
        if per_sender > settings.SMS_RATE_LIMIT_PER_HOUR:
            self.stderr.write(
                f"note: about {per_sender:.0f} messages per sender exceed the rate limit of "
                f"{settings.SMS_RATE_LIMIT_PER_HOUR}/hour (if the target uses this setting): expect "
                f"rate_limited replies, or raise --senders to at least "
                f"{int(per_sender * options['senders'] / settings.SMS_RATE_LIMIT_PER_HOUR) + 1}."
            )
        for url in options["media_url"]:
            try:
                media_url_source(url)
            except ValueError as exc:
                raise CommandError(f"--media-url {url!r}: {exc}", returncode=USAGE_ERROR)
        has_media = bool(options["media_server"] or options["media_url"])
        if options["mms_ratio"] is None:
            options["mms_ratio"] = 0.3 if has_media else 0.0
            if not has_media:
                self.stderr.write(
                    "note: sending text messages only: MMS needs media the target can download "
                    "(--media-server, or --media-url URL)."
                )
        elif options["mms_ratio"] > 0 and not has_media:
            raise CommandError(
                "--mms-ratio above 0 needs --media-server or --media-url: the target could not download "
                "media at made-up Twilio URLs, and every MMS would end failed",
                returncode=USAGE_ERROR,
            )

    def _start_media_server(self, options: dict[str, Any]) -> tuple[Any, list[dict[str, str]]]:
        from devkit.fakes.server import FakeServer
        from devkit.fakes.twilio import FakeTwilio
        from devkit.media_files import media_samples

        try:
            server = FakeServer(port=options["media_port"])
        except OSError as exc:
            raise CommandError(f"--media-port {options['media_port']}: {exc}", returncode=USAGE_ERROR)
        host = FakeTwilio(
            account_sid=options["account_sid"] or settings.TWILIO_ACCOUNT_SID,
            auth_token=options["auth_token"] or settings.TWILIO_AUTH_TOKEN,
            server=server,
        ).start()
        media = []
        for sample in media_samples():
            url = host.add_media(sample.content, sample.content_type)
            media.append(
                {"base_url": host.url, "media_sid": url.rsplit("/", 1)[1], "content_type": sample.content_type}
            )
        MediaSource(**media[0])  # the locustfile builds these; fail here, not in the subprocess
        self.stderr.write(
            f"media server: {host.url} (CDN {host.cdn.url}); start the target with "
            f"TWILIO_API_BASE_URL={host.url} SMS_MEDIA_ALLOWED_HOSTS=127.0.0.1,localhost "
            "SMS_MEDIA_ALLOW_PRIVATE_IPS=true"
        )
        return host, media

    def _locust_config(
        self, options: dict[str, Any], run_id: str, workdir: Path, media: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "url": options["url"],
            "sign_url": options["public_url"] or options["url"],
            "auth_token": options["auth_token"] or settings.TWILIO_AUTH_TOKEN,
            "account_sid": options["account_sid"] or settings.TWILIO_ACCOUNT_SID,
            "to_number": options["to_number"] or settings.TWILIO_PHONE_NUMBER,
            "users": options["users"],
            "spawn_rate": options["spawn_rate"],
            "duration_s": options["duration"],
            "rate": options["rate"],
            "wait": list(options["wait"]) if options["wait"] else None if options["rate"] else [0.5, 1.5],
            "senders": options["senders"],
            "setup_senders": options["setup_senders"],
            "mms_ratio": options["mms_ratio"],
            "duplicate_ratio": options["duplicate_ratio"],
            "keyword_ratio": options["keyword_ratio"],
            "media": media,
            "results_path": str(workdir / "results.json"),
            "progress_path": str(workdir / "progress.json") if options["progress_interval"] else "",
            "progress_interval": options["progress_interval"],
        }

    def _run_locust(self, options: dict[str, Any], config: dict[str, Any], workdir: Path) -> None:
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config))
        argv = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(options["users"]),
            "--spawn-rate",
            str(options["spawn_rate"]),
            "--run-time",
            f"{options['duration']}s",
            "--stop-timeout",
            "10",
            "--only-summary",
            "--exit-code-on-error",
            "0",
            "--loglevel",
            "WARNING",
        ]
        if options["csv_prefix"]:
            argv += ["--csv", options["csv_prefix"]]
        if options["html_path"]:
            argv += ["--html", options["html_path"]]
        env = {
            **os.environ,
            "LOADTEST_CONFIG": str(config_path),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        log_path = workdir / "locust.log"
        self.stderr.write(
            f"loadtest {config['run_id']}: {options['users']} users for {options['duration']}s -> {options['url']}"
        )
        deadline = time.monotonic() + options["duration"] + 120
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                self._follow(proc, config, deadline)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        if proc.returncode != 0 or not Path(config["results_path"]).exists():
            tail = log_path.read_text(errors="replace")[-4000:]
            raise CommandError(f"locust failed (exit {proc.returncode}):\n{tail}", returncode=1)

    def _follow(self, proc: subprocess.Popen[bytes], config: dict[str, Any], deadline: float) -> None:
        """Wait for locust, writing each new progress snapshot to stderr as it comes."""
        progress = Path(config["progress_path"]) if config["progress_path"] else None
        shown = None
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise CommandError("locust did not finish in time", returncode=1)
            if progress is not None:
                try:
                    snapshot = json.loads(progress.read_text())
                except (OSError, ValueError):
                    snapshot = None
                if snapshot and snapshot != shown:
                    self.stderr.write(report.format_progress(snapshot, duration_s=config["duration_s"]))
                    shown = snapshot
            time.sleep(0.2)


# What Twilio reports for the voice-note and contact-card files mimetypes does not know.
_MEDIA_TYPES = {".amr": "audio/amr", ".vcf": "text/vcard"}


def media_url_source(url: str) -> dict[str, str]:
    """The locust config entry of ``--media-url``: the URL, its content type from the extension."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("not an http(s) URL")
    content_type = _MEDIA_TYPES.get(Path(parts.path).suffix.lower()) or mimetypes.guess_type(parts.path)[0]
    if content_type is None:
        raise ValueError("no content type known for its extension (e.g. .jpg, .amr, .vcf)")
    return {
        "base_url": f"{parts.scheme}://{parts.netloc}",
        "media_sid": "",
        "content_type": content_type,
        "fixed_url": url,
    }


def offered_per_sender(options: dict[str, Any]) -> float:
    """Messages each sender will send in the run, on average (before duplicates)."""
    if options["rate"]:
        per_user = float(options["rate"])
    else:
        low, high = options["wait"] or (0.5, 1.5)
        per_user = 1 / max((low + high) / 2, 0.001)
    return options["users"] * per_user * options["duration"] / options["senders"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
