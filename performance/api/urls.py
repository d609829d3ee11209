"""Each endpoint answers with and without the trailing slash, directly: the paths of the system we
replace had none, and CommonMiddleware's APPEND_SLASH redirect would drop a POST's body. The
schema lists the slash forms only (``performance.api.schema``)."""

from django.urls import URLPattern, path

from performance.api import views

app_name = "performance-api"

_ENDPOINTS = [
    ("stats", views.PerformanceStatsDetailApi),
    ("cache", views.PerformanceCacheListApi),
    ("database", views.PerformanceDatabaseDetailApi),
    ("connections", views.PerformanceConnectionsDetailApi),
    ("health", views.PerformanceHealthCheckApi),
    ("reset", views.PerformanceResetApi),
]


def _both_forms() -> list[URLPattern]:
    patterns = []
    for name, view in _ENDPOINTS:
        callback = view.as_view()
        patterns.append(path(f"{name}/", callback, name=name))
        patterns.append(path(name, callback, name=f"{name}-no-slash"))
    return patterns


urlpatterns = _both_forms()
