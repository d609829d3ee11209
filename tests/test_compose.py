"""docker-compose.yml: every service is checked for health, starts in the right order, runs
what the Procfile names from the one image, and keeps its metrics to itself; ``docker compose
config`` accepts the file where a compose is installed."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_IMAGE = "smsgateway:latest"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _procfile() -> dict[str, list[str]]:
    roles = {}
    for line in ROOT.joinpath("Procfile").read_text().splitlines():
        if line.strip():
            role, _, command = line.partition(":")
            roles[role.strip()] = shlex.split(command)
    return roles


def _app_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services().items() if s.get("image") == APP_IMAGE}


def _is_job(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "")) == "no"


def test_the_stack_has_every_process_and_its_dependencies() -> None:
    assert set(_services()) == {"web", "relay", "worker", "beat", "migrate", "postgres", "redis", "nginx"}


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in _services().items():
        check = service.get("healthcheck", {})
        if _is_job(service):
            assert check == {"disable": True}, f"{name} is a job: its check is switched off, not inherited"
            continue
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_the_app_services_run_the_procfile_commands_from_the_one_image() -> None:
    services = _services()
    for role, command in _procfile().items():
        assert services[role]["image"] == APP_IMAGE
        assert services[role]["command"] == command, role


def test_the_web_healthcheck_is_the_image_liveness_check() -> None:
    dockerfile = ROOT.joinpath("Dockerfile").read_text()
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])\s*$", dockerfile, re.M | re.S)
    assert match, "the Dockerfile has no exec-form HEALTHCHECK"
    image_check = json.loads(match.group(1))
    assert image_check[-1] == "/healthz"
    assert _services()["web"]["healthcheck"]["test"] == ["CMD", *image_check]


def test_nginx_starts_once_web_is_healthy_and_mounts_the_tested_config() -> None:
    nginx = _services()["nginx"]
    assert nginx["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    # Only nginx is published: the sync workers are never reached directly.
    published = [name for name, s in _services().items() if s.get("ports")]
    assert published == ["nginx"]


def test_the_app_waits_for_healthy_databases_and_the_migrations() -> None:
    for name, service in _app_services().items():
        depends = service["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        if name != "migrate":
            assert depends["migrate"] == {"condition": "service_completed_successfully"}, name


def test_each_app_container_has_its_own_metrics_directory() -> None:
    dirs = {}
    for name, service in _app_services().items():
        if _is_job(service):
            continue
        path = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        dirs[name] = path
        # In the container's own file system, never a volume another container mounts.
        mounted = [str(v).split(":")[1] for v in service.get("volumes", []) if ":" in str(v)]
        assert not any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounted), name
    assert set(dirs) == {"web", "relay", "worker", "beat"}
    assert len(set(dirs.values())) == len(dirs)


def test_the_app_trusts_the_proxy_headers_only_behind_nginx() -> None:
    for name, service in _app_services().items():
        assert service["environment"]["DJANGO_TRUST_PROXY_HEADERS"] == "true", name
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "smsgateway.settings.production", name


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose_config(tmp_path: Path, dotenv: str, **run: Any) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` on a copy of the file with ``dotenv`` as its .env (skipped when
    compose is not installed)."""
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(dotenv)
    return subprocess.run(
        [*command, "--project-directory", str(tmp_path), "-f", str(tmp_path / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        **run,
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, "POSTGRES_PASSWORD=compose-test\nDJANGO_ALLOWED_HOSTS=sms.example.com\n")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert set(resolved) == set(_services())
    assert resolved["web"]["environment"]["DATABASE_URL"] == (
        "postgres://smsgateway:compose-test@postgres:5432/smsgateway"
    )


def test_docker_compose_config_refuses_a_missing_postgres_password(tmp_path: Path) -> None:
    result = _compose_config(
        tmp_path, "DJANGO_ALLOWED_HOSTS=sms.example.com\n", env={"PATH": "/usr/local/bin:/usr/bin:/bin"}
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
