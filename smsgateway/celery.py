"""The Celery app. Configuration comes from Django settings in the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings.local")

app = Celery("smsgateway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
