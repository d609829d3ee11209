from django.urls import path

from performance.api import views

app_name = "performance-api"

urlpatterns = [
    path("stats/", views.PerformanceStatsApi.as_view(), name="stats"),
    path("cache/", views.PerformanceCacheApi.as_view(), name="cache"),
    path("database/", views.PerformanceDatabaseApi.as_view(), name="database"),
    path("connections/", views.PerformanceConnectionsApi.as_view(), name="connections"),
    path("health/", views.PerformanceHealthApi.as_view(), name="health"),
    path("reset/", views.PerformanceResetApi.as_view(), name="reset"),
]
