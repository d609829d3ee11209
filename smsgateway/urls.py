from django.contrib import admin
from django.urls import include, path

from performance.dashboard import dashboard_urls
from performance.exporter import metrics_export

urlpatterns = [
    # Before "admin/" so the admin's catch-all does not swallow it.
    path("admin/performance/", include(dashboard_urls())),
    path("admin/", admin.site.urls),
    path("api/sms/performance/", include("performance.api.urls")),
    path("metrics", metrics_export, name="prometheus-django-metrics"),
]
