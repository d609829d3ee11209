"""The locustfile ``manage.py loadtest`` runs (headless, in a subprocess).

Configuration comes from the JSON file named by ``LOADTEST_CONFIG`` (written by the
command); results — every latency, outcome and failure reason — go to ``results_path`` when
the test stops, for the command's report. Importing locust monkey-patches the process with
gevent, which is why this never runs inside the Django process.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import FastHttpUser, between, constant_throughput, events, task

from loadtesting.outcomes import OUTCOME_HEADER, classify
from loadtesting.traffic import SignedRequest, TrafficGenerator, generator_from_config

CONFIG: dict[str, Any] = json.loads(Path(os.environ["LOADTEST_CONFIG"]).read_text())
TARGET = urlsplit(CONFIG["url"])
PATH = TARGET.path + (f"?{TARGET.query}" if TARGET.query else "")


class Results:
    """Everything the report needs, in memory (a few floats per request)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies_ms: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.successes = 0
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.written = False

    def record(self, *, kind: str, latency_ms: float, outcome: str | None, failure: str | None) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.kinds[kind] += 1
            self.outcomes[outcome or "none"] += 1
            if failure is None:
                self.successes += 1
            else:
                self.failures[failure] += 1

    def progress(self, since: int) -> tuple[int, int, list[float]]:
        """Requests and failures so far, and the latencies recorded from index ``since`` on."""
        with self.lock:
            return len(self.latencies_ms), sum(self.failures.values()), self.latencies_ms[since:]

    def write(self, path: str) -> None:
        with self.lock:
            if self.written:
                return
            self.written = True
            data = {
                "started_at": self.started_at,
                "stopped_at": self.stopped_at or time.time(),
                "requests": len(self.latencies_ms),
                "successes": self.successes,
                "latencies_ms": self.latencies_ms,
                "outcomes": dict(self.outcomes),
                "failures_by_reason": dict(self.failures),
                "kinds": dict(self.kinds),
            }
        Path(path).write_text(json.dumps(data))


RESULTS = Results()


def _progress_loop(path: str, interval: float) -> None:
    """Every ``interval`` seconds, the figures so far for the command's live progress line."""
    seen = 0
    last = time.monotonic()
    while RESULTS.stopped_at is None:
        time.sleep(interval)
        now = time.monotonic()
        requests, failures, recent = RESULTS.progress(seen)
        recent.sort()
        snapshot = {
            "elapsed_s": round(time.time() - (RESULTS.started_at or time.time()), 1),
            "requests": requests,
            "failures": failures,
            "rps": round(len(recent) / max(now - last, 1e-6), 1),
            "p95_ms": round(recent[min(len(recent) - 1, int(len(recent) * 0.95))], 1) if recent else None,
        }
        seen, last = requests, now
        Path(path + ".tmp").write_text(json.dumps(snapshot))
        os.replace(path + ".tmp", path)


@events.test_start.add_listener
def _on_start(**_: Any) -> None:
    RESULTS.started_at = time.time()
    if CONFIG.get("progress_path"):
        interval = float(CONFIG.get("progress_interval") or 5)
        threading.Thread(target=_progress_loop, args=(CONFIG["progress_path"], interval), daemon=True).start()


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    RESULTS.stopped_at = time.time()
    RESULTS.write(CONFIG["results_path"])


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    RESULTS.write(CONFIG["results_path"])


def _wait_time() -> Any:
    if CONFIG.get("rate"):
        return constant_throughput(float(CONFIG["rate"]))
    low, high = CONFIG.get("wait") or (0.5, 1.5)
    return between(float(low), float(high))


class TwilioWebhookUser(FastHttpUser):
    """One simulated phone (population): texts notes, sends MMS, sometimes STOP/START/HELP."""

    host = f"{TARGET.scheme}://{TARGET.netloc}"
    wait_time = _wait_time()
    # Twilio waits up to 15 s for a webhook; a slower reply is a failure anyway.
    network_timeout = 15.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.traffic: TrafficGenerator = generator_from_config(CONFIG)

    def post(self, request: SignedRequest) -> None:
        started = time.perf_counter()
        with self.client.post(
            PATH, data=request.params, headers=request.headers, name=request.kind, catch_response=True
        ) as response:
            outcome = response.headers.get(OUTCOME_HEADER) if response.headers else None
            failure = classify(response.status_code or 0, outcome)
            if failure is None:
                response.success()
            else:
                response.failure(failure)
        RESULTS.record(
            kind=request.kind,
            latency_ms=(time.perf_counter() - started) * 1000,
            outcome=outcome,
            failure=failure,
        )

    @task
    def send(self) -> None:
        rng = self.traffic.rng
        if rng.random() < float(CONFIG.get("keyword_ratio", 0.005)):
            sender = self.traffic.sender()
            if rng.random() < 0.5:
                self.post(self.traffic.sign("help", self.traffic.keyword("HELP", sender)))
            else:
                # Opt out and straight back in, so the sender keeps counting for the rest of the run.
                self.post(self.traffic.sign("stop", self.traffic.keyword("STOP", sender)))
                self.post(self.traffic.sign("start", self.traffic.keyword("START", sender)))
            return
        kind, params = self.traffic.message()
        request = self.traffic.sign(kind, params)
        self.post(request)
        if rng.random() < float(CONFIG.get("duplicate_ratio", 0.0)):
            self.post(self.traffic.retry_of(request))
