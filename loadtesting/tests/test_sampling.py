import time

import psycopg
import pytest
from django.db import connection

from devkit.fakes.server import FakeServer, Reply
from loadtesting.sampling import (
    ConnectionSampler,
    cache_stats_delta,
    count_connections,
    own_backend_pids,
    parse_cache_counters,
    scrape_cache_counters,
)

EXPOSITION = """\
# HELP smsgw_cache_hits_total Named cache hits.
# TYPE smsgw_cache_hits_total counter
smsgw_cache_hits_total{cache="phone_lookup"} 990.0
smsgw_cache_hits_total{cache="rate_limit_status"} 5.0
# HELP smsgw_cache_misses_total Named cache misses.
# TYPE smsgw_cache_misses_total counter
smsgw_cache_misses_total{cache="phone_lookup"} 10.0
# HELP smsgw_cache_sets_total Named cache writes.
# TYPE smsgw_cache_sets_total counter
smsgw_cache_sets_total{cache="phone_lookup"} 10.0
"""


def test_cache_counters_are_parsed_per_cache():
    assert parse_cache_counters(EXPOSITION) == {
        "phone_lookup": {"hits": 990.0, "misses": 10.0},
        "rate_limit_status": {"hits": 5.0, "misses": 0.0},
    }


def test_hit_rate_is_the_delta_between_scrapes():
    before = {"phone_lookup": {"hits": 100.0, "misses": 50.0}}
    after = {"phone_lookup": {"hits": 1090.0, "misses": 60.0}, "verification_status": {"hits": 0.0, "misses": 0.0}}
    delta = cache_stats_delta(before, after)
    assert delta == {
        "hits": 990,
        "misses": 10,
        "hit_rate": 99.0,
        "by_cache": {"phone_lookup": {"hits": 990, "misses": 10, "hit_rate": 99.0}},
        "excluded": [],
    }


def test_flag_caches_are_shown_but_left_out_of_the_headline_rate():
    after = {"phone_lookup": {"hits": 99.0, "misses": 1.0}, "rate_limit_status": {"hits": 0.0, "misses": 100.0}}
    delta = cache_stats_delta({}, after) or {}
    assert delta["hit_rate"] == 99.0
    assert delta["by_cache"]["rate_limit_status"]["hit_rate"] == 0.0
    assert delta["excluded"] == ["rate_limit_status"]


def test_no_lookups_or_no_scrape_means_no_hit_rate():
    assert (cache_stats_delta({}, {}) or {})["hit_rate"] is None
    assert cache_stats_delta(None, {}) is None


def test_scrape_reads_the_targets_metrics_endpoint():
    server = FakeServer()
    server.route("GET", "/metrics")(lambda request: Reply(200, EXPOSITION.encode()))
    with server:
        assert (scrape_cache_counters(server.url + "/metrics") or {})["phone_lookup"]["hits"] == 990.0
        assert scrape_cache_counters(server.url + "/nothing") is None


def dsn():
    settings = connection.settings_dict
    return f"host={settings['HOST']} port={settings['PORT']} user={settings['USER']} dbname={settings['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_connection_count_sees_other_clients_and_not_the_excluded_ones():
    own = own_backend_pids()
    baseline = count_connections(own)
    with psycopg.connect(dsn()), psycopg.connect(dsn()):
        assert count_connections(own) == baseline + 2
    # A backend leaves pg_stat_activity a moment after its client hangs up.
    deadline = time.monotonic() + 5
    while count_connections(own) != baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count_connections(own) == baseline


@pytest.mark.django_db(transaction=True)
def test_sampler_keeps_the_peak_while_running():
    own = own_backend_pids()
    sampler = ConnectionSampler(interval=0.02, exclude_pids=own)
    baseline = count_connections(own)
    sampler.start()
    with psycopg.connect(dsn()), psycopg.connect(dsn()), psycopg.connect(dsn()):
        # Samples taken while the three connections are all open (connecting can outlast several).
        seen = sampler.samples
        while sampler.samples < seen + 3:
            time.sleep(0.005)
    peak = sampler.stop()
    assert peak is not None and peak >= baseline + 3
