"""PostgreSQL and Redis pool stats in the shape every pool reports."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django_redis import get_redis_connection
from psycopg_pool import ConnectionPool

from performance.pools import pool_stats
from performance.process_pools import postgresql_pool_stats, psycopg_pool_stats, redis_pool_stats

pytestmark = pytest.mark.django_db(transaction=True)


def test_both_standard_pools_are_registered() -> None:
    stats = pool_stats()
    assert set(stats["postgresql"]) == {"size", "in_use", "idle", "waiting", "max"}
    assert set(stats["redis"]) == {"size", "in_use", "idle", "waiting", "max"}


def test_persistent_connections_of_every_thread_are_counted() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    before = postgresql_pool_stats()

    def other_thread() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        seen.append(postgresql_pool_stats())
        connections["default"].close()

    seen: list = []
    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0]["size"] == before["size"] + 1
    assert postgresql_pool_stats()["size"] == before["size"]


def test_psycopg_pool_stats_when_pooling_is_on() -> None:
    db = connections["default"].settings_dict
    conninfo = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"
    pool = ConnectionPool(conninfo, min_size=1, max_size=3, open=True)
    try:
        pool.wait(timeout=10)
        with pool.connection() as conn:
            conn.execute("SELECT 1")
            busy = psycopg_pool_stats(pool)
        idle = psycopg_pool_stats(pool)
    finally:
        pool.close()
    assert busy["max"] == 3
    assert busy["in_use"] == 1
    assert idle["in_use"] == 0
    assert idle["idle"] == idle["size"] >= 1


def test_redis_pool_counts_connections_in_use() -> None:
    client = get_redis_connection("default")
    client.ping()
    stats = redis_pool_stats()
    assert stats["max"] == client.connection_pool.max_connections
    assert stats["in_use"] == 0 and stats["idle"] >= 1
    conn = client.connection_pool.get_connection()
    try:
        assert redis_pool_stats()["in_use"] == 1
    finally:
        client.connection_pool.release(conn)
