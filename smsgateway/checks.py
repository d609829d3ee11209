"""System checks of the project that gate serving, not migrating.

``static_manifest_check``: with a manifest static storage (production's WhiteNoise storage), no
``staticfiles.json`` means every admin page fails with a 500 ("Missing staticfiles manifest
entry"). Registered as a deploy check (``manage.py check --deploy``), so ``migrate`` still runs
before ``collectstatic``, and run again when a server loads the WSGI/ASGI application
(``serving_checks_run``), so gunicorn or runserver refuse to boot instead of answering 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages


@checks.register(checks.Tags.staticfiles, deploy=True)
def static_manifest_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    name = storage.manifest_name
    if storage.manifest_storage.exists(name):
        return []
    return [
        checks.Error(
            f"The static files manifest {storage.manifest_storage.path(name)} is missing: with "
            f"{type(storage).__name__} every admin page would answer 500.",
            hint="Run `python manage.py collectstatic --noinput` (after migrate, before starting the server).",
            id="smsgateway.E001",
        )
    ]


def serving_checks_run() -> None:
    """Raise ImproperlyConfigured naming what stops this process from serving."""
    errors = [str(e) for e in static_manifest_check() if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("\n".join(errors))
