"""docs/grafana-dashboard.json charts series that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from performance import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def _exported_names() -> set[str]:
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names |= {value._name + suffix for suffix in ("_bucket", "_sum", "_count")}
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def test_every_smsgw_series_in_the_dashboard_is_defined() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"smsgw_\w+", expr)}
    assert used, "the dashboard charts no smsgw series"
    assert used <= _exported_names(), used - _exported_names()
    # The key series are all charted.
    for key in ("smsgw_webhook_latency_seconds_bucket", "smsgw_celery_queue_depth", "smsgw_cache_hits_total"):
        assert key in used
