"""Percentiles from buckets, since-reset deltas across restarts."""

from __future__ import annotations

import math

import pytest

from performance.metric_totals import Baseline, histogram_quantiles, since

NAME = "smsgw_x_seconds"


def _hist(counts: dict[float, float], **labels: str) -> dict:
    """Cumulative bucket samples like prometheus_client exposes them."""
    lbl = tuple(sorted(labels.items()))
    return {(NAME + "_bucket", tuple(sorted((*lbl, ("le", str(le)))))): v for le, v in counts.items()}


def test_quantile_interpolates_inside_the_bucket() -> None:
    # 100 observations, all in (0.1, 0.2]: the median sits halfway through the bucket.
    totals = _hist({0.1: 0, 0.2: 100, math.inf: 100})
    q = histogram_quantiles(totals, NAME, (0.5, 0.95))
    assert q["p50"] == pytest.approx(0.15)
    assert q["p95"] == pytest.approx(0.195)


def test_quantile_in_inf_bucket_reports_largest_finite_bound() -> None:
    totals = _hist({0.1: 1, 0.2: 1, math.inf: 10})
    assert histogram_quantiles(totals, NAME, (0.99,))["p99"] == 0.2


def test_quantile_none_without_observations() -> None:
    assert histogram_quantiles({}, NAME, (0.5,)) == {"p50": None}


def test_quantiles_sum_buckets_over_label_values_and_filter_by_label() -> None:
    totals = _hist({0.1: 10, 1.0: 10, math.inf: 10}, kind="sms") | _hist({0.1: 0, 1.0: 10, math.inf: 10}, kind="audio")
    assert histogram_quantiles(totals, NAME, (0.5,), kind="sms")["p50"] == pytest.approx(0.05)
    audio_p50 = histogram_quantiles(totals, NAME, (0.5,), kind="audio")["p50"]
    assert audio_p50 is not None and 0.1 < audio_p50 <= 1.0
    assert histogram_quantiles(totals, NAME, (0.5,))["p50"] == pytest.approx(0.1)


def test_since_subtracts_baseline_and_treats_a_drop_as_restart() -> None:
    key = ("smsgw_webhook_outcomes_total", (("outcome", "accepted"),))
    other = ("smsgw_webhook_outcomes_total", (("outcome", "duplicate"),))
    baseline = Baseline(reset_at=1.0, totals={key: 10.0, other: 5.0})
    delta = since({key: 14.0, other: 2.0}, baseline)
    assert delta[key] == 4.0
    # Lower than at the reset: the processes restarted and the 2 are all new.
    assert delta[other] == 2.0
