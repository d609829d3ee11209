"""PostgreSQL figures for the performance pages: connections by state, and for our tables
their size, rows and how often each index is scanned (which indexes the workload uses).

Row counts are PostgreSQL's live-tuple estimates (``n_live_tup``), not ``COUNT(*)``, so the
page stays cheap on big tables. Statistics are cumulative since the last stats reset of the
server.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections


def our_tables() -> list[str]:
    labels = set(settings.PERFORMANCE_DATABASE_APPS)
    return sorted({model._meta.db_table for model in apps.get_models() if model._meta.app_label in labels})


def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        columns = [col[0] for col in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def connections_by_state() -> dict[str, Any]:
    """Server connections to our database, grouped by state, ours (application_name) apart."""
    rows = _rows(
        """
        SELECT coalesce(state, 'unknown') AS state,
               application_name = %s AS is_ours,
               count(*) AS n
        FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend'
        GROUP BY 1, 2
        """,
        [settings.DB_APPLICATION_NAME],
    )
    ours: dict[str, int] = {}
    everyone: dict[str, int] = {}
    for row in rows:
        everyone[row["state"]] = everyone.get(row["state"], 0) + int(row["n"])
        if row["is_ours"]:
            ours[row["state"]] = ours.get(row["state"], 0) + int(row["n"])
    max_connections = _rows("SELECT current_setting('max_connections')::int AS n", [])[0]["n"]
    return {
        "application_name": settings.DB_APPLICATION_NAME,
        "application": dict(sorted(ours.items())),
        "application_total": sum(ours.values()),
        "database": dict(sorted(everyone.items())),
        "database_total": sum(everyone.values()),
        "server_max_connections": int(max_connections),
    }


def table_stats() -> list[dict[str, Any]]:
    tables = our_tables()
    if not tables:
        return []
    table_rows = _rows(
        """
        SELECT relname AS name,
               n_live_tup AS rows,
               pg_total_relation_size(relid) AS total_bytes,
               pg_relation_size(relid) AS table_bytes,
               seq_scan, idx_scan
        FROM pg_stat_user_tables
        WHERE relname = ANY(%s)
        ORDER BY relname
        """,
        [tables],
    )
    index_rows = _rows(
        """
        SELECT relname AS table_name, indexrelname AS name, idx_scan AS scans,
               idx_tup_read AS tuples_read, pg_relation_size(indexrelid) AS bytes
        FROM pg_stat_user_indexes
        WHERE relname = ANY(%s)
        ORDER BY relname, indexrelname
        """,
        [tables],
    )
    indexes: dict[str, list[dict[str, Any]]] = {}
    for row in index_rows:
        name = row.pop("table_name")
        indexes.setdefault(name, []).append({k: int(v) if k != "name" else v for k, v in row.items()})
    return [
        {
            "name": row["name"],
            "rows": int(row["rows"]),
            "total_bytes": int(row["total_bytes"]),
            "table_bytes": int(row["table_bytes"]),
            "seq_scan": int(row["seq_scan"] or 0),
            "idx_scan": int(row["idx_scan"] or 0),
            "indexes": indexes.get(row["name"], []),
        }
        for row in table_rows
    ]


def database_stats() -> dict[str, Any]:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return {"vendor": connection.vendor, "connections": None, "tables": []}
    return {"vendor": connection.vendor, "connections": connections_by_state(), "tables": table_stats()}
