import os

from django.core.asgi import get_asgi_application

# Servers fail closed: production settings (which refuse to boot without their secrets)
# unless told otherwise. manage.py keeps the local default for development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings.production")

application = get_asgi_application()
