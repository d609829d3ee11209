"""The README's Production steps, run literally in order on a fresh PostgreSQL database with the
production settings, serve the admin; without ``collectstatic`` the server refuses to boot (and
``check --deploy`` fails) instead of answering 500 on every admin page."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from tests.live import free_port, run_python

pytestmark = [pytest.mark.live]

ROOT = Path(__file__).resolve().parent.parent.parent
SECRETS = {
    "DJANGO_SECRET_KEY": "k3y-" + "Zq9" * 20,
    "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
    "TWILIO_AUTH_TOKEN": "prod-steps-token",
    "METRICS_BEARER_TOKEN": "scrape-token",
}


def readme_production_steps() -> tuple[set[str], list[str]]:
    """The variables the Production block exports, and its commands in order (comments dropped)."""
    readme = ROOT.joinpath("README.md").read_text()
    block = re.search(r"^## Production\n.*?```sh\n(.*?)```", readme, re.S | re.M)
    assert block, "README has a Production code block"
    text = block.group(1).replace("\\\n", " ")
    exported: set[str] = set()
    commands: list[str] = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "export":
            exported |= {w.split("=", 1)[0] for w in words[1:]}
        else:
            commands.append(" ".join(words))
    return exported, commands


def _base_env(static_root: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SMS_", "TWILIO_", "CELERY_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "METRICS_ALLOWED_IPS"):
        env.pop(name, None)
    env.update(SECRETS)
    env["DATABASE_URL"] = database_url
    env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    env["DJANGO_STATIC_ROOT"] = static_root
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def fresh_database(django_db_setup: None) -> Iterator[str]:
    db = connection.settings_dict
    name = f"smsgw_prod_steps_{uuid.uuid4().hex[:8]}"
    server = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _gunicorn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            shlex.split(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_readme_production_steps_in_order_serve_the_admin(fresh_database: str, tmp_path: Path) -> None:
    exported, commands = readme_production_steps()
    assert exported == {"DJANGO_SETTINGS_MODULE", *SECRETS, "DATABASE_URL", "REDIS_URL"}
    server_at = next(i for i, c in enumerate(commands) if c.startswith("gunicorn "))
    assert [c.split()[:3] for c in commands[:server_at]] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "collectstatic"],
    ]
    port = free_port()
    env = {
        **_base_env(str(tmp_path / "static"), fresh_database),
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings.production",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="smsgw-prod-steps-"),
        # As behind the TLS proxy production expects: it says the request came over https.
        "DJANGO_TRUST_PROXY_HEADERS": "true",
    }
    for command in commands[:server_at]:
        done = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    log = tmp_path / "gunicorn.log"
    proc = _gunicorn(commands[server_at], env, log)
    try:
        url = f"http://127.0.0.1:{port}"
        https = {"X-Forwarded-Proto": "https"}
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                page = requests.get(url + "/admin/login/", headers=https, timeout=5, allow_redirects=False)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert page.status_code == 200, page.text[:2000]
        stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
        assert stylesheet, "the admin links its hashed stylesheet"
        assert requests.get(url + stylesheet.group(1), headers=https, timeout=5).status_code == 200
    finally:
        _stop(proc)


def test_gunicorn_refuses_to_boot_without_the_static_manifest(tmp_path: Path) -> None:
    env = {
        **_base_env(str(tmp_path / "static"), "postgres://postgres@127.0.0.1:9/none"),
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings.production",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    _, commands = readme_production_steps()
    server = next(c for c in commands if c.startswith("gunicorn "))
    done = subprocess.run(shlex.split(server), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0  # the master exits when its worker cannot boot
    assert "staticfiles.json is missing" in done.stderr
    assert "collectstatic --noinput" in done.stderr


def test_deploy_check_fails_without_the_static_manifest(tmp_path: Path) -> None:
    env = {
        **_base_env(str(tmp_path / "static"), "postgres://postgres@127.0.0.1:9/none"),
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings.production",
        "DJANGO_ALLOWED_HOSTS": "sms.example.com",
    }
    done = run_python("manage.py", "check", "--deploy", env=env)
    assert done.returncode != 0
    assert "smsgateway.E001" in done.stderr
