"""The load-test report: numbers from the locust results, targets, and the stdout table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loadtesting.outcomes import RATE_LIMITED


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile of already sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    values = sorted(latencies_ms)
    if not values:
        return dict.fromkeys(("avg", "min", "max", "p50", "p95", "p99"))
    return {
        "avg": round(sum(values) / len(values), 2),
        "min": round(values[0], 2),
        "max": round(values[-1], 2),
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "p99": _round(percentile(values, 99)),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Target:
    """A pass/fail limit on one report number. ``kind`` is "max" or "min"."""

    name: str
    limit: float
    kind: str
    path: tuple[str, ...]

    def actual(self, report: dict[str, Any]) -> float | None:
        value: Any = report
        for key in self.path:
            if not isinstance(value, dict) or value.get(key) is None:
                return None
            value = value[key]
        return float(value)

    def evaluate(self, report: dict[str, Any]) -> dict[str, Any]:
        actual = self.actual(report)
        # A number that could not be measured cannot prove the target.
        if actual is None:
            passed = False
        elif self.kind == "max":
            passed = actual <= self.limit
        else:
            passed = actual >= self.limit
        return {"limit": self.limit, "actual": actual, "passed": passed}


# option name -> (report key of the target, kind, path into the report)
TARGET_OPTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "max_avg_ms": ("avg_ms", "max", ("latency_ms", "avg")),
    "max_p95_ms": ("p95_ms", "max", ("latency_ms", "p95")),
    "max_p99_ms": ("p99_ms", "max", ("latency_ms", "p99")),
    "min_success_rate": ("success_rate", "min", ("success_rate",)),
    "min_rps": ("rps", "min", ("rps",)),
    "max_rate_limited": ("rate_limited", "max", ("rate_limited",)),
    "min_cache_hit_rate": ("cache_hit_rate", "min", ("cache_hit_rate",)),
    "max_db_connections": ("db_connections_peak", "max", ("db_connections_peak",)),
    "max_unprocessed": ("unprocessed", "max", ("end_to_end", "unprocessed")),
}


def targets_from_options(options: dict[str, Any]) -> list[Target]:
    targets = []
    for option, (name, kind, path) in TARGET_OPTIONS.items():
        if options.get(option) is not None:
            targets.append(Target(name, float(options[option]), kind, path))
    return targets


def build_report(
    results: dict[str, Any],
    *,
    targets: Sequence[Target] = (),
    end_to_end: dict[str, Any] | None = None,
    cache: dict[str, Any] | None = None,
    db_connections_peak: int | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dict (what ``--json`` writes) from the locustfile's results file."""
    requests = int(results.get("requests", 0))
    successes = int(results.get("successes", 0))
    started, stopped = results.get("started_at"), results.get("stopped_at")
    duration = (stopped - started) if started and stopped and stopped > started else None
    outcomes = dict(sorted(results.get("outcomes", {}).items()))
    report: dict[str, Any] = {
        "requests": requests,
        "successes": successes,
        "failures": requests - successes,
        "success_rate": round(100.0 * successes / requests, 3) if requests else None,
        "rps": round(requests / duration, 2) if duration else None,
        "duration_s": round(duration, 2) if duration else None,
        "latency_ms": latency_summary(results.get("latencies_ms", [])),
        "outcomes": outcomes,
        "rate_limited": int(outcomes.get(RATE_LIMITED, 0)),
        "failures_by_reason": dict(sorted(results.get("failures_by_reason", {}).items(), key=lambda kv: -kv[1])),
        "requests_by_kind": dict(sorted(results.get("kinds", {}).items())),
        "cache_hit_rate": None if cache is None else cache.get("hit_rate"),
        "cache": cache,
        "db_connections_peak": db_connections_peak,
    }
    if end_to_end is not None:
        report["end_to_end"] = end_to_end
    if config is not None:
        report["config"] = config
    report["targets"] = {target.name: target.evaluate(report) for target in targets}
    report["passed"] = all(t["passed"] for t in report["targets"].values())
    return report


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}{suffix}"
    return f"{value}{suffix}"


def format_progress(snapshot: dict[str, Any], *, duration_s: float) -> str:
    """One live line: time, requests and failures so far, req/s and p95 over the last interval."""
    return (
        f"[{snapshot['elapsed_s']:>6.1f}s/{duration_s:.0f}s] requests {snapshot['requests']:>7}  "
        f"{snapshot['rps']:>8.1f} req/s  failures {snapshot['failures']:>5}  p95 {_fmt(snapshot['p95_ms'], ' ms')}"
    )


def format_table(report: dict[str, Any]) -> str:
    """The human-readable report printed at the end of a run."""
    lat = report["latency_ms"]
    rows: list[tuple[str, str]] = [
        ("requests", _fmt(report["requests"])),
        ("successes", _fmt(report["successes"])),
        ("failures", _fmt(report["failures"])),
        ("success rate", _fmt(report["success_rate"], " %")),
        ("throughput", _fmt(report["rps"], " req/s")),
        ("duration", _fmt(report["duration_s"], " s")),
        (
            "latency ms",
            " ".join(f"{k}={_fmt(lat[k])}" for k in ("avg", "min", "p50", "p95", "p99", "max")),
        ),
        ("rate limited", _fmt(report["rate_limited"])),
        ("cache hit rate", _fmt(report["cache_hit_rate"], " %")),
        ("db connections peak", _fmt(report["db_connections_peak"])),
    ]
    for outcome, count in report["outcomes"].items():
        rows.append((f"outcome {outcome}", _fmt(count)))
    for reason, count in report["failures_by_reason"].items():
        rows.append((f"failure {reason}", _fmt(count)))
    e2e = report.get("end_to_end")
    if e2e is not None:
        rows.append(
            (
                "end to end",
                f"accepted={e2e['accepted']} processed={e2e['processed']} failed={e2e['failed']} "
                f"pending={e2e['pending']} p50={_fmt(e2e['p50_ms'], ' ms')} p95={_fmt(e2e['p95_ms'], ' ms')}"
                f" drained={'yes' if e2e.get('drained') else 'no'} in {_fmt(e2e.get('waited_s'), ' s')}",
            )
        )
        if e2e.get("unrelayed"):
            rows.append(
                (
                    "not handed over",
                    f"{e2e['unrelayed']} stored messages never reached the broker: is `manage.py sms_relay` running?",
                )
            )
    for name, target in report["targets"].items():
        verdict = "PASS" if target["passed"] else "FAIL"
        rows.append((f"target {name}", f"{verdict}  actual {_fmt(target['actual'])}  limit {_fmt(target['limit'])}"))
    rows.append(("result", "PASSED" if report["passed"] else "FAILED"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
