from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from performance.admin_page import dashboard_urls
from performance.exporter import metrics_export
from smsgateway.auth_api import AuthTokenCreateApi

urlpatterns = [
    # Before "admin/" so the admin's catch-all does not swallow it.
    path("admin/performance/", include(dashboard_urls())),
    path("admin/", admin.site.urls),
    path("api/sms/performance/", include("performance.api.urls")),
    path("metrics", metrics_export, name="prometheus-django-metrics"),
    # --- Auth, schema ---
    path("api/auth/token", AuthTokenCreateApi.as_view(), name="api-auth-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Login/logout for the browsable API.
    path("api/auth/", include("rest_framework.urls")),
    # --- SMS: webhook, status callback, phone linking, enrichment review (sms/api/urls.py) ---
    path("", include("sms.api.urls")),
]
