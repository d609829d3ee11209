"""Settings: the embedded default and production's refusal to boot without secrets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.live import run_python

REQUIRED_ENV = ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")

FULL_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/smsgateway",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "METRICS_BEARER_TOKEN": "scrape-token",
}


def _settings_probe(settings_module: str, env: dict[str, str], expr: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in FULL_ENV and not k.startswith(("DJANGO_", "CELERY_"))}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = settings_module
    code = f"import django; django.setup(); from django.conf import settings; print(repr(({expr},)))"
    return run_python("-c", code, env=clean)


@pytest.mark.parametrize("missing", REQUIRED_ENV)
def test_production_refuses_to_boot_without_each_secret(missing: str) -> None:
    env = {k: v for k, v in FULL_ENV.items() if k != missing}
    result = _settings_probe("smsgateway.settings.production", env, "settings.DEBUG")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_refuses_an_open_metrics_endpoint() -> None:
    env = {k: v for k, v in FULL_ENV.items() if k != "METRICS_BEARER_TOKEN"}
    result = _settings_probe("smsgateway.settings.production", env, "settings.DEBUG")
    assert result.returncode != 0 and "METRICS_BEARER_TOKEN or METRICS_ALLOWED_IPS" in result.stderr
    allowlisted = _settings_probe("smsgateway.settings.production", {**env, "METRICS_ALLOWED_IPS": "10.0.0.0/8"}, "1")
    assert allowlisted.returncode == 0, allowlisted.stderr


@pytest.mark.parametrize(
    "placeholder", [{"TWILIO_AUTH_TOKEN": "dev-auth-token"}, {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}]
)
def test_production_refuses_the_placeholder_twilio_credentials(placeholder: dict[str, str]) -> None:
    result = _settings_probe("smsgateway.settings.production", {**FULL_ENV, **placeholder}, "settings.DEBUG")
    assert result.returncode != 0 and "placeholder" in result.stderr


def test_deploy_check_is_clean_with_the_documented_production_environment(tmp_path: Path) -> None:
    env = {
        **FULL_ENV,
        "DJANGO_SECRET_KEY": "k3y-" + "Zq9" * 20,
        "DJANGO_ALLOWED_HOSTS": "sms.example.com",
        "DJANGO_STATIC_ROOT": str(tmp_path),
    }
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED_ENV and not k.startswith("DJANGO_")}
    # As the README's steps do before serving: the deploy check wants the static manifest.
    production = {**clean, **env, "DJANGO_SETTINGS_MODULE": "smsgateway.settings.production"}
    collected = run_python("manage.py", "collectstatic", "--noinput", env=production, timeout=240)
    assert collected.returncode == 0, collected.stderr
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("entry", ["import smsgateway.wsgi", "import smsgateway.asgi", "import smsgateway.celery"])
def test_servers_default_to_production_settings_and_refuse_to_boot_without_secrets(entry: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED_ENV and not k.startswith("DJANGO_")}
    result = run_python("-c", f"{entry}; from django.conf import settings; settings.DEBUG", env=clean)
    assert result.returncode != 0
    assert "Production settings need these environment variables" in result.stderr


def test_production_boots_with_all_secrets() -> None:
    result = _settings_probe("smsgateway.settings.production", FULL_ENV, "settings.DATABASES['default']['ENGINE']")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('django.db.backends.postgresql',)"


def test_embedded_default_without_database_and_redis_urls() -> None:
    expr = (
        "settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'], "
        "settings.CELERY_TASK_ALWAYS_EAGER"
    )
    result = _settings_probe("smsgateway.settings.local", {}, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "('django.db.backends.sqlite3', 'django.core.cache.backends.locmem.LocMemCache', True)"
    )


def test_redis_url_configures_cache_and_broker() -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:6379/3"}
    expr = "settings.CACHES['default']['BACKEND'], settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER"
    result = _settings_probe("smsgateway.settings.local", env, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('django_redis.cache.RedisCache', 'redis://127.0.0.1:6379/3', False)"


def test_database_pool_setting_switches_to_djangos_pool() -> None:
    env = {"DATABASE_URL": FULL_ENV["DATABASE_URL"], "DB_POOL": "true"}
    expr = "settings.DATABASES['default']['OPTIONS']['pool']['max_size'], settings.DATABASES['default']['CONN_MAX_AGE']"
    result = _settings_probe("smsgateway.settings.local", env, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(4, 0)"


def test_postgres_uses_server_side_binding_and_prepared_statements_by_default() -> None:
    env = {"DATABASE_URL": FULL_ENV["DATABASE_URL"]}
    expr = (
        "settings.DATABASES['default']['OPTIONS'].get('server_side_binding'), "
        "settings.DATABASES['default']['OPTIONS'].get('prepare_threshold')"
    )
    result = _settings_probe("smsgateway.settings.local", env, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(True, 2)"


def test_prepared_statements_can_be_turned_off_for_pgbouncer() -> None:
    env = {"DATABASE_URL": FULL_ENV["DATABASE_URL"], "DB_SERVER_SIDE_BINDING": "false", "DB_PREPARE_THRESHOLD": "0"}
    expr = "sorted(settings.DATABASES['default']['OPTIONS'])"
    result = _settings_probe("smsgateway.settings.local", env, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(['application_name', 'connect_timeout'],)"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "sms.extraction.DefaultExtractor"),
        ({"GEMINI_API_KEY": "key"}, "sms.extraction.gemini.GeminiExtractor"),
        (
            {"GEMINI_API_KEY": "key", "SMS_EXTRACTOR_CLASS": "sms.extraction.DefaultExtractor"},
            "sms.extraction.DefaultExtractor",
        ),
    ],
)
def test_extractor_is_gemini_when_a_key_is_set_unless_named(env: dict[str, str], expected: str) -> None:
    result = _settings_probe(
        "smsgateway.settings.local",
        {"GEMINI_API_KEY": "", "SMS_EXTRACTOR_CLASS": "", **env},
        "settings.SMS_EXTRACTOR_CLASS",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"({expected!r},)"


def test_production_refuses_the_gemini_tier_without_a_key() -> None:
    env = {**FULL_ENV, "SMS_EXTRACTOR_CLASS": "sms.extraction.gemini.GeminiExtractor", "GEMINI_API_KEY": ""}
    result = _settings_probe("smsgateway.settings.production", env, "settings.DEBUG")
    assert result.returncode != 0 and "GEMINI_API_KEY" in result.stderr
