"""Database and cache: PostgreSQL (or SQLite), Redis (or the in-process cache), named caches, cachalot."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from smsgateway.settings.env import BASE_DIR, env_bool, env_float, env_int, env_str

# =============================================================================
# Database
# =============================================================================
DATABASE_URL = env_str("DATABASE_URL")
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600)
DB_POOL = env_bool("DB_POOL", False)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 4)
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 5.0)
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)
DB_APPLICATION_NAME = env_str("DB_APPLICATION_NAME", "smsgateway")
# psycopg 3 server-side binding + prepared statements after N executions (docs/PERFORMANCE.md):
# measured faster (docs/PERFORMANCE.md), so on by default. Behind PgBouncer in transaction
# mode set DB_SERVER_SIDE_BINDING=false and DB_PREPARE_THRESHOLD=0.
DB_SERVER_SIDE_BINDING = env_bool("DB_SERVER_SIDE_BINDING", True)
DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 2)


def database_config(url: str) -> dict[str, object]:
    """Build the default DATABASES entry from a URL (PostgreSQL) or the SQLite default."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("DJANGO_SQLITE_PATH") or BASE_DIR / "var" / "db.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    config: dict[str, object] = dict(dj_database_url.parse(url))
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config
    options: dict[str, object] = {
        "connect_timeout": DB_CONNECT_TIMEOUT,
        "application_name": DB_APPLICATION_NAME,
    }
    if DB_SERVER_SIDE_BINDING:
        options["server_side_binding"] = True
    if DB_PREPARE_THRESHOLD > 0:
        options["prepare_threshold"] = DB_PREPARE_THRESHOLD
    if DB_POOL:
        # Django's own psycopg_pool integration: one pool per process; connections are
        # returned to it at the end of each request. CONN_MAX_AGE must be 0 with a pool.
        options["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
        }
        config["CONN_MAX_AGE"] = 0
    else:
        config["CONN_MAX_AGE"] = DB_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = True
    config["OPTIONS"] = options
    return config


DATABASES = {"default": database_config(DATABASE_URL)}

# =============================================================================
# Cache (Redis through django-redis, or the in-process default)
# =============================================================================
REDIS_URL = env_str("REDIS_URL")
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 50)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.5)
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.5)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smsgw",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # hiredis is picked up by redis-py automatically when installed.
                "CONNECTION_POOL_KWARGS": {"max_connections": REDIS_MAX_CONNECTIONS},
                "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "smsgateway-default",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Named caches (performance.caches.named_cache): TTLs in seconds.
CACHE_PHONE_LOOKUP_TTL = env_int("CACHE_PHONE_LOOKUP_TTL", 900)
CACHE_VERIFICATION_TTL = env_int("CACHE_VERIFICATION_TTL", 300)
CACHE_RATE_LIMIT_TTL = env_int("CACHE_RATE_LIMIT_TTL", 60)
# The near cache (performance/nearcache.py): each process keeps the named-cache entries it read,
# and Redis tells it (CLIENT TRACKING, Redis >= 6) of every change. Bounded per process.
CACHE_NEAR = env_bool("CACHE_NEAR", True)
CACHE_NEAR_MAX_ENTRIES = env_int("CACHE_NEAR_MAX_ENTRIES", 10_000)
CACHE_NEAR_MAX_AGE = env_float("CACHE_NEAR_MAX_AGE", 60.0)

# django-cachalot: ORM read caching for read-mostly tables only. Messages, media and
# enrichment items are written on every request and must never be cached here; phone
# numbers have their own explicitly invalidated named cache.
CACHALOT_ENABLED = env_bool("CACHALOT_ENABLED", True)
CACHALOT_TIMEOUT = env_int("CACHALOT_TIMEOUT", 3600)
CACHALOT_ONLY_CACHABLE_TABLES = frozenset(
    {
        "auth_user",
        "auth_group",
        "auth_permission",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "knox_authtoken",
        "django_content_type",
    }
)
CACHALOT_UNCACHABLE_APPS = frozenset({"sms", "performance", "sessions", "admin"})
# Our raw SQL (the webhook's INSERT, the processing claim) writes only uncachable tables, so
# cachalot need not parse it: that parse (every Django table name searched in the SQL) cost
# about 0.2 ms of each webhook request (docs/PERFORMANCE.md). Raw SQL must never write a
# cachable table above.
CACHALOT_INVALIDATE_RAW = False
