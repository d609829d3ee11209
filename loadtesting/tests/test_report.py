import pytest

from loadtesting.outcomes import classify
from loadtesting.report import Target, build_report, format_table, percentile, targets_from_options


def results(**overrides):
    data = {
        "started_at": 1000.0,
        "stopped_at": 1010.0,
        "requests": 100,
        "successes": 96,
        "latencies_ms": [float(i) for i in range(1, 101)],
        "outcomes": {"accepted": 94, "duplicate": 2, "rate_limited": 3, "none": 1},
        "failures_by_reason": {"rate_limited": 3, "HTTP 500": 1},
        "kinds": {"sms": 70, "mms": 28, "duplicate": 2},
    }
    data.update(overrides)
    return data


def test_percentile_interpolates():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 100) == 100
    assert percentile([], 95) is None
    assert percentile([7.0], 99) == 7.0


def test_report_has_the_documented_keys_and_numbers():
    report = build_report(results(), end_to_end={"accepted": 94, "processed": 94}, db_connections_peak=7)
    assert report["requests"] == 100
    assert report["successes"] == 96
    assert report["failures"] == 4
    assert report["success_rate"] == 96.0
    assert report["rps"] == 10.0
    assert report["latency_ms"] == {"avg": 50.5, "min": 1.0, "max": 100.0, "p50": 50.5, "p95": 95.05, "p99": 99.01}
    assert report["outcomes"]["rate_limited"] == 3
    assert report["rate_limited"] == 3
    assert report["failures_by_reason"] == {"rate_limited": 3, "HTTP 500": 1}
    assert report["end_to_end"] == {"accepted": 94, "processed": 94}
    assert report["db_connections_peak"] == 7
    assert report["cache_hit_rate"] is None
    assert report["targets"] == {} and report["passed"] is True


def test_empty_run_reports_no_rates():
    report = build_report(results(requests=0, successes=0, latencies_ms=[], outcomes={}, failures_by_reason={}))
    assert report["success_rate"] is None
    assert report["latency_ms"]["p95"] is None


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (200, "accepted", None),
        (200, "duplicate", None),
        (200, "unknown_sender", None),
        (200, "help", None),
        (200, "rate_limited", "rate_limited"),
        (200, None, "no X-SMS-Outcome header"),
        (200, "bogus", "unexpected outcome bogus"),
        (403, "accepted", "HTTP 403"),
        (0, None, "connection error"),
    ],
)
def test_a_reply_counts_as_success_only_when_200_with_an_expected_outcome(status, outcome, reason):
    assert classify(status, outcome) == reason


def test_targets_pass_and_fail_on_their_limits():
    options = {"max_p95_ms": 100, "max_p99_ms": 50, "min_success_rate": 95, "min_rps": 20, "max_rate_limited": 3}
    report = build_report(results(), targets=targets_from_options(options))
    targets = report["targets"]
    assert targets["p95_ms"] == {"limit": 100.0, "actual": 95.05, "passed": True}
    assert targets["p99_ms"]["passed"] is False
    assert targets["success_rate"]["passed"] is True
    assert targets["rps"] == {"limit": 20.0, "actual": 10.0, "passed": False}
    assert targets["rate_limited"]["passed"] is True
    assert report["passed"] is False


def test_target_on_an_unmeasured_number_fails():
    report = build_report(results(), targets=[Target("cache_hit_rate", 99, "min", ("cache_hit_rate",))])
    assert report["targets"]["cache_hit_rate"] == {"limit": 99, "actual": None, "passed": False}
    assert report["passed"] is False


def test_end_to_end_target_reads_the_nested_number():
    targets = targets_from_options({"max_unprocessed": 0})
    ok = build_report(results(), targets=targets, end_to_end={"unprocessed": 0})
    assert ok["passed"] is True
    assert build_report(results(), targets=targets, end_to_end={"unprocessed": 2})["passed"] is False


def test_table_shows_outcomes_failures_targets_and_verdict():
    report = build_report(
        results(),
        targets=targets_from_options({"max_p95_ms": 10}),
        end_to_end={"accepted": 94, "processed": 90, "failed": 1, "pending": 3, "p50_ms": 120.0, "p95_ms": 900.0},
    )
    table = format_table(report)
    lines = {line.split("  ", 1)[0]: line.rsplit(" ", 1)[-1] for line in table.splitlines()}
    assert lines["outcome rate_limited"] == "3"
    assert "failure HTTP 500" in table
    assert "FAIL  actual 95.05  limit 10.00" in table
    assert "accepted=94 processed=90 failed=1 pending=3" in table
    assert table.splitlines()[-1].endswith("FAILED")
