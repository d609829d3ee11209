from django.contrib import admin
from django.urls import include, path

from sms.api.webhook import sms_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    # --- SMS webhook intake ---
    path("api/sms/webhook", sms_webhook, name="sms-webhook"),
    path("", include("django_prometheus.urls")),
]
