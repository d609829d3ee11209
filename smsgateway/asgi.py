import os

from django.core.asgi import get_asgi_application

# Servers fail closed: production settings (which refuse to boot without their secrets)
# unless told otherwise. manage.py keeps the local default for development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings.production")

application = get_asgi_application()

# Refuse to boot rather than answer 500 (a missing static manifest): smsgateway/checks.py.
from smsgateway.checks import serving_checks_run  # noqa: E402

serving_checks_run()
