from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from performance.dashboard import dashboard_urls
from performance.exporter import metrics_export
from sms.api.linking import PhoneNumberApi, PhoneNumberVerifyApi
from sms.api.review import EnrichmentItemDetailApi, EnrichmentItemListApi
from sms.api.status import sms_status_callback
from sms.api.webhook import sms_webhook
from smsgateway.auth_api import AuthTokenCreateApi

urlpatterns = [
    # Before "admin/" so the admin's catch-all does not swallow it.
    path("admin/performance/", include(dashboard_urls())),
    path("admin/", admin.site.urls),
    path("api/sms/performance/", include("performance.api.urls")),
    path("metrics", metrics_export, name="prometheus-django-metrics"),
    # --- Phone linking, enrichment review, auth, schema ---
    path("api/auth/token", AuthTokenCreateApi.as_view(), name="api-auth-token"),
    path("api/user/phone-number", PhoneNumberApi.as_view(), name="phone-number"),
    path("api/user/phone-number/verify", PhoneNumberVerifyApi.as_view(), name="phone-number-verify"),
    path("api/enrichment-items", EnrichmentItemListApi.as_view(), name="enrichment-items"),
    path("api/enrichment-items/<int:item_id>", EnrichmentItemDetailApi.as_view(), name="enrichment-item"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Login/logout for the browsable API.
    path("api/auth/", include("rest_framework.urls")),
    # --- SMS webhook intake ---
    path("api/sms/webhook", sms_webhook, name="sms-webhook"),
    path("api/sms/status", sms_status_callback, name="sms-status-callback"),
]
